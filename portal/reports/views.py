"""Finance report pages. Finance and admin staff see every agency; a clerk sees the collections of
their own agency only; residents see none of it. Every export is written to the audit log."""

from __future__ import annotations

import csv
import io
import os
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.agencies.models import AgencyCategory
from portal.agencies.services import all_agencies
from portal.audit.services import record
from portal.authz import Role, role_required
from portal.clock import business_day
from portal.db import get_database, get_session, utcnow
from portal.errors import NotFound, PortalError
from portal.i18n import current_locale
from portal.payments.models import PaymentChannel, PaymentState
from portal.promotions import campaigns
from portal.reports import documents, exports, settlement
from portal.reports.campaigns import campaign_report, report_rows
from portal.reports.channels import by_channel, cash_differences, counter_refunds_due
from portal.reports.chart import collections_chart
from portal.reports.collections import LINE_COLUMNS, line_query, summarise
from portal.reports.dashboard import dashboard
from portal.reports.disputes import dispute_rows
from portal.reports.filters import CollectionFilter
from portal.reports.forms import CollectionsForm, DateRangeForm, SettleForm, SettlementDayForm
from portal.reports.reconciliation import reconcile
from portal.wallet.factory import wallet_service
from portal.wallet.models import Transfer
from portal.web import not_found

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.record_once
def _template_helpers(state) -> None:
    """The campaign page (promotions) shows the campaign's report, which sums payments: asked by name."""
    state.app.jinja_env.globals["campaign_report"] = lambda found: campaign_report(
        get_session(), found, current_locale()
    )


FINANCE_STAFF = (Role.FINANCE, Role.ADMIN)
REPORT_READERS = (Role.FINANCE, Role.ADMIN, Role.CLERK)


@bp.get("/")
@role_required(*REPORT_READERS)
def index():
    if current_user.role is Role.CLERK:
        return redirect(url_for("reports.collections"))
    figures = dashboard(get_session())
    chart = collections_chart(figures.month, current_locale())
    return render_template("reports/dashboard.html", figures=figures, chart=chart)


@bp.get("/collections")
@role_required(*REPORT_READERS)
def collections():
    form, report = _collection_filter()
    if report is None:
        return render_template("reports/collections.html", form=form, summary=None), 400
    summary = summarise(get_session(), report)
    chart = collections_chart(summary, current_locale())
    return render_template("reports/collections.html", form=form, summary=summary, chart=chart, report=report)


@bp.get("/collections.<any(csv, xlsx, pdf):kind>")
@role_required(*REPORT_READERS)
def export_collections(kind: str):
    form, report = _collection_filter()
    if report is None:
        return render_template("reports/collections.html", form=form, summary=None), 400
    try:
        exports.record_export(get_session(), current_user, report, kind)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("reports.collections", **request.args))
    return _export(kind, report)


def _export(kind: str, report: CollectionFilter) -> Response:
    locale = current_locale()
    name = report.file_name("collections", kind)
    headers = [str(column.label) for column in LINE_COLUMNS]
    if kind == "pdf":
        pdf = documents.collections_pdf(report, summarise(get_session(), report), locale)
        return _attachment(Response(pdf, mimetype="application/pdf"), name)
    query = line_query(report, locale)
    if kind == "csv":
        chunks = exports.csv_chunks(get_database(), query, LINE_COLUMNS, headers)
        return _attachment(Response(chunks, mimetype="text/csv"), name)
    path = exports.write_xlsx(get_database(), query, LINE_COLUMNS, headers, _("Collections"))
    response = send_file(path, mimetype=exports.XLSX_MIME, as_attachment=True, download_name=name)
    response.call_on_close(lambda: os.unlink(path))
    return response


def _query_or(defaults: dict[str, date]) -> MultiDict:
    """The query string, or the page's default days when it has none."""
    return request.args or MultiDict({name: day.isoformat() for name, day in defaults.items()})


def _attachment(response: Response, name: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _collection_filter() -> tuple[CollectionsForm, CollectionFilter | None]:
    """The form from the query string (this month when empty) and the filter it asks for; a clerk's
    filter is always their own agency, whatever the query string says."""
    session = get_session()
    today = business_day(utcnow())
    form = CollectionsForm(_query_or({"date_from": today.replace(day=1), "date_to": today}))
    agencies = all_agencies(session)
    if current_user.role is Role.CLERK:
        agencies = [agency for agency in agencies if agency.id == current_user.agency_id]
    locale = current_locale()
    form.fill_choices([(agency.code, agency.name_for(locale)) for agency in agencies], _("All"))
    if current_user.role is Role.CLERK:
        form.agency.choices = form.agency.choices[1:]
        form.agency.data = agencies[0].code
    if not form.validate():
        return form, None
    report = CollectionFilter(
        start=form.date_from.data,
        end=form.date_to.data,
        agency_code=form.agency.data or None,
        category=AgencyCategory(form.category.data) if form.category.data else None,
        state=PaymentState(form.state.data) if form.state.data else None,
        channel=PaymentChannel(form.channel.data) if form.channel.data else None,
    )
    return form, report


@bp.get("/settlements")
@role_required(*FINANCE_STAFF)
def settlements():
    default_day = settlement.last_settleable_day()
    form = SettlementDayForm(_query_or({"day": default_day}))
    if not form.validate():
        return render_template("reports/settlements.html", form=form, figures=None), 400
    day = form.day.data
    return render_template(
        "reports/settlements.html",
        form=form,
        day=day,
        figures=settlement.day_overview(get_session(), day),
        channels=by_channel(get_session(), day, day),
        can_settle=settlement.can_settle(day),
        settle_form=SettleForm(),
    )


@bp.post("/settlements")
@role_required(Role.FINANCE)
def settle():
    form = SettleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        day = date.fromisoformat(form.day.data)
    except ValueError:
        abort(400)
    session = get_session()
    try:
        made = settlement.settle(
            session, wallet_service(session, client="settlement"), current_user, form.agency.data, day
        )
    except PortalError as error:
        flash(error.message, "error")
        return redirect(url_for("reports.settlements", day=day.isoformat()))
    flash(
        _(
            "Settled: %(agency)s, %(day)s.",
            agency=made.agency.name_for(current_locale()),
            day=day.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("reports.settlements", day=day.isoformat()))


@bp.get("/settlements/<int:settlement_id>.pdf")
@role_required(*FINANCE_STAFF)
def settlement_statement(settlement_id: int):
    session = get_session()
    try:
        made = settlement.settlement_for_statement(session, current_user, settlement_id)
    except PortalError:
        abort(404)
    pdf = documents.settlement_pdf(session, made, current_locale())
    name = f"settlement_{made.agency.code}_{made.business_day.isoformat()}.pdf"
    return _attachment(Response(pdf, mimetype="application/pdf"), name)


@bp.get("/reconciliation")
@role_required(*FINANCE_STAFF)
def reconciliation():
    today = business_day(utcnow())
    defaults = {"date_from": today - timedelta(days=6), "date_to": today}
    form = DateRangeForm(_query_or(defaults))
    if not form.validate():
        return render_template("reports/reconciliation.html", form=form, result=None), 400
    result = reconcile(get_session(), form.date_from.data, form.date_to.data)
    channels = by_channel(get_session(), form.date_from.data, form.date_to.data)
    differences = cash_differences(get_session(), form.date_from.data, form.date_to.data)
    owed = counter_refunds_due(get_session(), form.date_from.data, form.date_to.data)
    return render_template(
        "reports/reconciliation.html",
        form=form,
        result=result,
        channels=channels,
        differences=differences,
        owed=owed,
    )


@bp.get("/transfers/<reference>")
@role_required(*FINANCE_STAFF)
def transfer(reference: str):
    found = get_session().scalar(select(Transfer).where(Transfer.reference == reference))
    if found is None:
        abort(404)
    return render_template("reports/transfer.html", transfer=found)


@bp.get("/campaigns/<int:campaign_id>.csv")
@role_required(*FINANCE_STAFF)
def campaign_csv(campaign_id: int):
    session = get_session()
    try:
        found = campaigns.campaign(session, campaign_id)
    except NotFound:
        not_found("campaign", campaign_id)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(report_rows(campaign_report(session, found, current_locale())))
    record(session, f"user:{current_user.id}", "export.campaign", f"campaign:{found.code}")
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="campaign-{found.code}.csv"'
    return response


@bp.get("/disputes.csv")
@role_required(*FINANCE_STAFF)
def disputes_csv():
    today = business_day(utcnow())
    form = DateRangeForm(_query_or({"date_from": today.replace(day=1), "date_to": today}))
    if not form.validate():
        abort(400)
    session = get_session()
    first, last = form.date_from.data, form.date_to.data
    buffer = io.StringIO()
    csv.writer(buffer).writerows(dispute_rows(session, first, last, current_locale()))
    record(session, f"user:{current_user.id}", "export.disputes", "disputes", first_day=first, last_day=last)
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="disputes-{first}-{last}.csv"'
    return response
