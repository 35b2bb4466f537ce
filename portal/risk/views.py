"""The admins' risk pages: the review queue, a case, and frozen wallets with maker-checker unfreezing."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.authz import Role, role_required
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm
from portal.identity import mask_name, mask_phone
from portal.risk import review
from portal.risk.findings import findings
from portal.risk.forms import CloseForm, NoteForm, UnfreezeForm
from portal.risk.labels import OPERATION_LABELS, STATUS_LABELS, label_of
from portal.wallet.factory import wallet_service

bp = Blueprint("risk", __name__, url_prefix="/admin/risk")


@bp.context_processor
def _helpers() -> dict:
    """Residents are shown masked; codes and the rules' findings are shown as words in the reader's
    language."""
    return {
        "mask_name": mask_name,
        "mask_phone": mask_phone,
        "operation_label": lambda kind: label_of(OPERATION_LABELS, kind),
        "status_label": lambda status: label_of(STATUS_LABELS, status),
        "flag_findings": findings,
        "account_number": review.account_number,
    }


@bp.get("/")
@role_required(Role.ADMIN)
def queue():
    session = get_session()
    closed = bool(request.args.get("closed"))
    return render_template(
        "risk/queue.html",
        flags=review.queue(session, closed=closed),
        closed=closed,
        frozen=review.frozen_wallets(session),
        unfreeze_form=UnfreezeForm(),
        confirm_form=ConfirmForm(),
    )


@bp.get("/<int:flag_id>")
@role_required(Role.ADMIN)
def case(flag_id: int):
    found = _flag_or_404(flag_id)
    moves = review.case_moves(get_session(), found)
    forms = {"note": NoteForm(), "close": CloseForm(), "confirm": ConfirmForm()}
    return render_template("risk/case.html", flag=found, moves=moves, **forms)


@bp.post("/<int:flag_id>/assign")
@role_required(Role.ADMIN)
def assign(flag_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _act(flag_id, lambda session: review.assign(session, current_user, flag_id), _("Assigned to you."))


@bp.post("/<int:flag_id>/notes")
@role_required(Role.ADMIN)
def note(flag_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write the note."), "error")
        return redirect(url_for("risk.case", flag_id=flag_id))
    return _act(
        flag_id,
        lambda session: review.add_note(session, current_user, flag_id, form.text.data),
        _("Note added."),
    )


@bp.post("/<int:flag_id>/close")
@role_required(Role.ADMIN)
def close(flag_id: int):
    form = CloseForm()
    if not form.validate_on_submit():
        flash(_("Choose an outcome."), "error")
        return redirect(url_for("risk.case", flag_id=flag_id))
    escalate = form.outcome.data == "escalated"

    def work(session):
        wallet = wallet_service(session, client="risk")
        return review.close(session, wallet, current_user, flag_id, escalate, form.freeze.data)

    frozen = escalate and form.freeze.data
    return _act(
        flag_id,
        work,
        _("The flag is closed and the wallet is frozen.") if frozen else _("The flag is closed."),
    )


@bp.get("/<int:flag_id>/report.csv")
@role_required(Role.ADMIN)
def report(flag_id: int):
    found = _flag_or_404(flag_id)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(review.suspicious_activity_report(get_session(), found))
    review.record_report(get_session(), current_user, found)
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="suspicious-activity-{found.id}.csv"'
    return response


@bp.post("/unfreeze")
@role_required(Role.ADMIN)
def request_unfreeze():
    form = UnfreezeForm()
    user_id = form.user_id.data or ""
    if not form.validate_on_submit() or not (user_id.isdigit() and len(user_id) <= 18):
        flash(_("Say why the wallet should be unfrozen."), "error")
        return redirect(url_for("risk.queue"))
    try:
        review.request_unfreeze(get_session(), current_user, int(user_id), form.reason.data)
    except PortalError as error:
        flash(error.message, "error")
    else:
        flash(_("Asked. A second admin must approve before the wallet is unfrozen."), "success")
    return redirect(url_for("risk.queue"))


@bp.post("/unfreeze/<int:request_id>/approve")
@role_required(Role.ADMIN)
def approve_unfreeze(request_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = get_session()
    try:
        review.approve_unfreeze(session, wallet_service(session, client="risk"), current_user, request_id)
    except PortalError as error:
        flash(error.message, "error")
    else:
        flash(_("The wallet is unfrozen."), "success")
    return redirect(url_for("risk.queue"))


def _flag_or_404(flag_id: int):
    try:
        return review.flag(get_session(), flag_id)
    except NotFound:
        abort(404)


def _act(flag_id: int, work, done: str):
    _flag_or_404(flag_id)
    try:
        work(get_session())
    except PortalError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("risk.case", flag_id=flag_id))
