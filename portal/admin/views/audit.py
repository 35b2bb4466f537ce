"""The admin's audit log viewer: filters, pages, a check of the chain and a CSV export (itself audited)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from portal.accounts.services import find_by_identifier
from portal.admin.audit_export import AUDIT_COLUMNS, export_query
from portal.admin.audit_forms import AuditFilterForm
from portal.admin.audit_labels import actors_of, detail_items, subject_label
from portal.audit.labels import MACHINE_ACTORS, action_label
from portal.audit.services import AuditFilter, chain_problems, record, search
from portal.authz import Role, role_required
from portal.db import get_database, get_session
from portal.reports.exports import csv_chunks

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
SHOWN_PROBLEMS = 20


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        audit_action_label=action_label, audit_detail_items=detail_items, audit_subject_label=subject_label
    )


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return _invalid(form)
    session = get_session()
    events, page, pages = search(session, _filter(form), request.args.get("page", 1, type=int) or 1)
    problems = None
    if request.args.get("verify"):
        problems = [
            problem for _, problem in zip(range(SHOWN_PROBLEMS), chain_problems(session), strict=False)
        ]
    query = {name: value for name, value in request.args.items() if name not in ("page", "verify")}
    return render_template(
        "audit/index.html",
        form=form,
        events=events,
        page=page,
        pages=pages,
        problems=problems,
        query=query,
        actors=actors_of(session, [code for event in events for code in (event.actor, event.subject)]),
    )


@bp.get("/export.csv")
@role_required(Role.ADMIN)
def export():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return _invalid(form)
    audit_filter = _filter(form)
    record(get_session(), f"user:{current_user.id}", "audit.export", "audit", filter=audit_filter.describe())
    headers = [str(column.label) for column in AUDIT_COLUMNS]
    chunks = csv_chunks(get_database(), export_query(audit_filter), AUDIT_COLUMNS, headers)
    response = Response(chunks, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def _filter(form: AuditFilterForm) -> AuditFilter:
    return AuditFilter(
        actor=_actor_code((form.actor.data or "").strip()),
        action=(form.action.data or "").strip(),
        subject=(form.subject.data or "").strip(),
        start=form.date_from.data,
        end=form.date_to.data,
    )


def _actor_code(typed: str) -> str:
    """Admins may type what the log shows (a staff e-mail, a resident's mobile number) or the code."""
    if typed and not typed.startswith("user:") and typed not in MACHINE_ACTORS:
        user = find_by_identifier(get_session(), typed)
        if user is not None:
            return f"user:{user.id}"
    return typed


def _invalid(form: AuditFilterForm):
    page = render_template(
        "audit/index.html", form=form, events=[], page=1, pages=1, problems=None, query={}, actors={}
    )
    return page, 400
