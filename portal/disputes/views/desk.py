"""The staff's dispute desk: finance sends disputes to agencies and resolves them, an agency's clerks
answer theirs, admins keep the working calendar. Overdue disputes stand out on the queue."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, role_required
from portal.clock import business_day
from portal.db import get_session, utcnow
from portal.disputes import calendar, services
from portal.disputes.forms import AnswerForm, CalendarDayForm, ResolveForm, SendForm
from portal.disputes.models import DisputeOutcome, DisputeState
from portal.disputes.views.residents import attachment_response
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm, attach_error
from portal.money import plain_yuan
from portal.wallet.factory import wallet_service
from portal.web import not_found

bp = Blueprint("dispute_desk", __name__, url_prefix="/staff/disputes")
DESK = (Role.CLERK, Role.FINANCE, Role.ADMIN)
FINANCE_STAFF = (Role.FINANCE, Role.ADMIN)


@bp.get("/")
@role_required(*DESK)
def queue():
    show_all = request.args.get("show") == "all"
    states = tuple(DisputeState) if show_all else services.STILL_OPEN
    disputes = services.queue_for(get_session(), current_user, states)
    return render_template("disputes/queue.html", disputes=disputes, show_all=show_all)


@bp.get("/<reference>")
@role_required(*DESK)
def case(reference: str):
    return _case_page(_seen(reference))


@bp.post("/<reference>/send")
@role_required(*FINANCE_STAFF)
def send(reference: str):
    form = SendForm()
    return _act(
        reference,
        form,
        lambda db: services.send_to_agency(db, current_user, reference, form.note.data),
        _("Sent to the agency."),
        send_form=form,
    )


@bp.post("/<reference>/answer")
@role_required(Role.CLERK)
def answer(reference: str):
    form = AnswerForm()
    return _act(
        reference,
        form,
        lambda db: services.answer(db, current_user, reference, form.text.data),
        _("Your answer was sent."),
        answer_form=form,
    )


@bp.post("/<reference>/resolve")
@role_required(*FINANCE_STAFF)
def resolve(reference: str):
    form = ResolveForm()

    def decide(db):
        outcome = DisputeOutcome(form.outcome.data)
        return services.resolve(
            db, wallet_service(db), current_user, reference, outcome, form.reason.data or "", form.amount.fen
        )

    return _act(reference, form, decide, _("The dispute is resolved."), resolve_form=form)


@bp.get("/<reference>/attachment")
@role_required(*DESK)
def attachment(reference: str):
    return attachment_response(_seen(reference))


@bp.route("/calendar", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def working_calendar():
    db = get_session()
    form = CalendarDayForm()
    if form.validate_on_submit():
        calendar.set_day(db, current_user.id, form.day.data, form.working.data, form.name.data)
        flash(_("The calendar is saved."), "success")
        return redirect(url_for("dispute_desk.working_calendar"))
    days = calendar.calendar_days(db, business_day(utcnow()).replace(month=1, day=1))
    status = 400 if form.errors else 200
    return render_template("disputes/calendar.html", form=form, days=days, remove_form=ConfirmForm()), status


@bp.post("/calendar/<day>/remove")
@role_required(Role.ADMIN)
def remove_day(day: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        found = date.fromisoformat(day)
    except ValueError:
        abort(404)
    calendar.remove_day(get_session(), current_user.id, found)
    flash(_("The day was removed from the calendar."), "success")
    return redirect(url_for("dispute_desk.working_calendar"))


def _act(reference: str, form, work, done: str, **forms):
    dispute = _seen(reference)
    if form.validate_on_submit():
        try:
            work(get_session())
        except PortalError as error:
            attach_error(form, error)
            forms["problem"] = error.message if error.field is None else None
        else:
            flash(done, "success")
            return redirect(url_for("dispute_desk.case", reference=reference))
    return _case_page(dispute, status=400, **forms)


def _case_page(dispute, status: int = 200, **forms):
    item = services.disputed_bill(get_session(), dispute)
    resolve_form = forms.get("resolve_form") or ResolveForm(
        formdata=None, amount=plain_yuan(item.refundable_fen)
    )
    page = render_template(
        "disputes/case.html",
        dispute=dispute,
        item=item,
        actions=services.actions_for(current_user, dispute),
        send_form=forms.get("send_form") or SendForm(formdata=None),
        answer_form=forms.get("answer_form") or AnswerForm(formdata=None),
        resolve_form=resolve_form,
        overdue=services.overdue(dispute),
        problem=forms.get("problem"),
    )
    return page, status


def _seen(reference: str):
    try:
        return services.dispute_for_staff(get_session(), current_user, reference)
    except NotFound:
        not_found("dispute", reference)
