"""The resident's disputes: raise one on a bill of a payment or of a saved account, follow it, reopen or
accept it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, per_user_key, role_required
from portal.db import get_session
from portal.disputes import attachments, labels, opening, services
from portal.disputes.forms import BillDisputeForm, DisputeForm, ReopenForm
from portal.disputes.models import DisputeKind
from portal.errors import NotFound, PortalError
from portal.extensions import configured_limit, limiter
from portal.forms import ConfirmForm, attach_error
from portal.i18n import current_locale
from portal.identity import mask_name
from portal.payments.services import payment_of
from portal.web import not_found

bp = Blueprint("disputes", __name__, url_prefix="/disputes")


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        dispute_kind_label=lambda value: str(labels.KIND_LABELS[value]),
        dispute_state_label=lambda value: str(labels.STATE_LABELS[value]),
        dispute_state_help=lambda value: str(labels.STATE_HELP[value]),
        dispute_outcome_label=lambda value: str(labels.OUTCOME_LABELS[value]),
        dispute_overdue=services.overdue,
        dispute_due_day=services.due_day,
    )


@bp.get("/")
@role_required(Role.RESIDENT)
def index():
    return render_template("disputes/index.html", disputes=services.disputes_of(get_session(), current_user))


@bp.route("/new/<reference>", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_PAYMENT"), key_func=per_user_key, methods=["POST"])
def new(reference: str):
    db = get_session()
    try:
        payment = payment_of(db, current_user, reference)
    except NotFound:
        not_found("payment", reference)
    form = DisputeForm()
    locale = current_locale()
    form.bill.choices = [(i.id, f"{i.bill_id} · {i.agency.name_for(locale)}") for i in payment.items]
    if form.validate_on_submit():
        try:
            upload = form.attachment.data
            checked = (
                attachments.check(upload.filename, upload.read()) if upload and upload.filename else None
            )
            dispute = opening.open_dispute(
                db,
                current_user,
                payment.reference,
                form.bill.data,
                DisputeKind(form.kind.data),
                form.description.data,
                checked,
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(
                _(
                    "Dispute %(reference)s is open. We will tell you of every step.",
                    reference=dispute.reference,
                ),
                "success",
            )
            return redirect(url_for("disputes.detail", reference=dispute.reference))
    status = 400 if form.errors else 200
    return render_template("disputes/new.html", form=form, payment=payment), status


@bp.post("/bill")
@role_required(Role.RESIDENT)
@limiter.limit(configured_limit("RATELIMIT_PAYMENT"), key_func=per_user_key)
def new_for_bill():
    """From the saved accounts page's button (the bill only), or the filled-in form: a dispute on a
    bill not paid here."""
    filled = "description" in request.form  # the button sends the bill only
    if not filled and not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_session()
    form = BillDisputeForm() if filled else BillDisputeForm(formdata=None, bill=request.form.get("bill"))
    try:
        line = opening.bill_of_saved_account(db, current_user, form.bill.data or "", current_locale())
    except NotFound:
        not_found("saved bill", "?")
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("bills.mine"))
    if filled and form.validate_on_submit():
        try:
            upload = form.attachment.data
            checked = (
                attachments.check(upload.filename, upload.read()) if upload and upload.filename else None
            )
            dispute = opening.open_bill_dispute(
                db,
                current_user,
                form.bill.data,
                DisputeKind(form.kind.data),
                form.description.data,
                checked,
                current_locale(),
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(
                _(
                    "Dispute %(reference)s is open. We will tell you of every step.",
                    reference=dispute.reference,
                ),
                "success",
            )
            return redirect(url_for("disputes.detail", reference=dispute.reference))
    status = 400 if form.errors else 200
    return render_template("disputes/new_for_bill.html", form=form, line=line, mask_name=mask_name), status


@bp.get("/<reference>")
@role_required(Role.RESIDENT)
def detail(reference: str):
    dispute = _own(reference)
    return render_template(
        "disputes/detail.html",
        dispute=dispute,
        actions=services.actions_for(current_user, dispute),
        reopen_form=ReopenForm(),
        confirm_form=ConfirmForm(),
    )


@bp.post("/<reference>/reopen")
@role_required(Role.RESIDENT)
def reopen(reference: str):
    dispute = _own(reference)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            services.reopen(get_session(), current_user, reference, form.why.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("The dispute is open again."), "success")
            return redirect(url_for("disputes.detail", reference=reference))
    page = render_template(
        "disputes/detail.html",
        dispute=dispute,
        actions=services.actions_for(current_user, dispute),
        reopen_form=form,
        confirm_form=ConfirmForm(),
    )
    return page, 400


@bp.post("/<reference>/close")
@role_required(Role.RESIDENT)
def close(reference: str):
    _own(reference)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.close(get_session(), current_user, reference)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("disputes.detail", reference=reference))
    flash(_("The dispute is closed. Thank you."), "success")
    return redirect(url_for("disputes.detail", reference=reference))


@bp.get("/<reference>/attachment")
@role_required(Role.RESIDENT)
def attachment(reference: str):
    return attachment_response(_own(reference))


def attachment_response(dispute) -> Response:
    """The file as stored, never shown inline: the browser saves it (and no script in it runs here)."""
    found = dispute.attachment
    if found is None:
        abort(404)
    response = Response(found.content, mimetype=found.content_type)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=dispute-{dispute.reference}{_suffix(found)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _suffix(found) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}[found.content_type]


def _own(reference: str):
    try:
        return services.dispute_for_resident(get_session(), current_user, reference)
    except NotFound:
        not_found("dispute", reference)
