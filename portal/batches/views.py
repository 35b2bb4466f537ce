"""Clerk pages: upload a bill file, check the preview, commit or withdraw; the batch history."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.models import User
from portal.agencies.scope import agency_in_scope
from portal.authz import Role, role_required
from portal.batches import services, templates
from portal.batches.checked import SHOWN_ERRORS
from portal.batches.forms import UploadForm
from portal.batches.models import STATUS_LABELS, BatchStatus
from portal.batches.rows import COLUMNS
from portal.db import get_session
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm, attach_error
from portal.sql import safe_text
from portal.web import not_found

bp = Blueprint("batches", __name__, url_prefix="/agencies/<code>/batches")


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals["batch_status_label"] = lambda value: str(STATUS_LABELS[value])
    state.app.jinja_env.globals["encoding_label"] = lambda name: ENCODING_LABELS.get(name, name)


STAFF = (Role.CLERK, Role.FINANCE, Role.ADMIN)
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "gb18030": "GBK / GB18030",
    "utf-16": "UTF-16",
    "xlsx": "Excel",
}


@bp.get("/")
@role_required(*STAFF)
def index(code: str):
    agency = agency_in_scope(get_session(), current_user, code)
    return _index_page(agency, UploadForm())


def _index_page(agency, form, status: int = 200):
    batches = services.history(get_session(), agency)
    page = render_template("batches/index.html", agency=agency, form=form, batches=batches, columns=COLUMNS)
    return page, status


@bp.post("/")
@role_required(Role.CLERK)
def upload(code: str):
    session = get_session()
    agency = agency_in_scope(session, current_user, code)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            batch = services.upload(
                session, current_user, agency, form.file.data.filename, form.file.data.read()
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            return redirect(url_for("batches.preview", code=code, upload_id=batch.upload_id))
    return _index_page(agency, form, status=422)


@bp.get("/<upload_id>")
@role_required(*STAFF)
def preview(code: str, upload_id: str):
    session = get_session()
    agency = agency_in_scope(session, current_user, code)
    batch = _batch(agency, upload_id)
    return render_template(
        "batches/preview.html",
        agency=agency,
        batch=batch,
        errors=services.row_errors(batch, limit=SHOWN_ERRORS),
        changes=services.bill_changes(batch)[:50],
        samples=services.first_new_bills(batch),
        earlier=services.earlier_commit(session, batch),
        names=_names(session, batch, services.earlier_commit(session, batch)),
        form=ConfirmForm(),
    )


def _names(session, *batches) -> dict[int, str]:
    ids = {i for b in batches if b for i in (b.uploaded_by, b.committed_by, b.withdrawn_by) if i}
    users = session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user.display_name or user.login_name for user in users}


@bp.post("/<upload_id>/commit")
@role_required(Role.CLERK)
def commit(code: str, upload_id: str):
    def run(session, agency):
        batch = services.commit(session, current_user, agency, upload_id)
        if batch.status is BatchStatus.LOADING:
            flash(_("The bills are being loaded. You can leave this page; loading goes on."), "info")
        else:
            flash(_("The bills are loaded."), "success")

    return _act(code, upload_id, run, None)


@bp.post("/<upload_id>/withdraw")
@role_required(Role.CLERK)
def withdraw(code: str, upload_id: str):
    def run(session, agency):
        cancelled, kept = services.withdraw(session, current_user, agency, upload_id)
        flash(
            _(
                "%(cancelled)d unpaid bills were cancelled; %(kept)d paid bills stay.",
                cancelled=cancelled,
                kept=kept,
            ),
            "success",
        )

    return _act(code, upload_id, run, None)


def _act(code: str, upload_id: str, action, done: str | None):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = get_session()
    agency = agency_in_scope(session, current_user, code)
    try:
        action(session, agency)
    except NotFound:
        abort(404)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("batches.preview", code=code, upload_id=upload_id)), 409
    if done:
        flash(done, "success")
    return redirect(url_for("batches.preview", code=code, upload_id=upload_id))


@bp.get("/<upload_id>/status.json")
@role_required(*STAFF)
def status(code: str, upload_id: str):
    """What the batch page polls while the worker checks or loads a large file."""
    agency = agency_in_scope(get_session(), current_user, code)
    batch = _batch(agency, upload_id)
    return {
        "status": batch.status.value,
        "label": str(STATUS_LABELS[batch.status]),
        "progress_rows": batch.progress_rows,
        "rows_estimate": batch.rows_estimate,
        "running": batch.status in (BatchStatus.CHECKING, BatchStatus.LOADING),
    }


@bp.get("/<upload_id>/errors.csv")
@role_required(*STAFF)
def error_report(code: str, upload_id: str):
    agency = agency_in_scope(get_session(), current_user, code)
    batch = _batch(agency, upload_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Line"), _("Column"), _("Problem")])
    for error in services.row_errors(batch):
        writer.writerow([error["line"], safe_text(error["column"]), safe_text(error["message"])])
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="errors-{batch.upload_id}.csv"'
    return response


@bp.get("/template.<kind>")
@role_required(*STAFF)
def template(code: str, kind: str):
    agency = agency_in_scope(get_session(), current_user, code)
    if kind not in ("csv", "xlsx"):
        abort(404)
    body, mimetype = templates.build(kind)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="bills-{agency.code}.{kind}"'
    return response


def _batch(agency, upload_id: str):
    try:
        return services.batch_of(get_session(), agency, upload_id)
    except NotFound:
        not_found("batch", upload_id)
