"""Analytics pages for finance and admin staff: adoption and behaviour, each table also as CSV or Excel.
Every view and export goes into the audit log. The figures come from the daily roll-ups only."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.analytics import exports, figures
from portal.analytics import live as live_figures
from portal.analytics.chart import bar_chart
from portal.analytics.figures import Span
from portal.analytics.forms import SpanForm
from portal.analytics.models import RolledDay
from portal.analytics.services import record_live_view, record_view
from portal.authz import Role, role_required
from portal.clock import business_day
from portal.db import get_session, utcnow
from portal.i18n import current_locale
from portal.money import plain_yuan
from portal.payments.labels import CHANNEL_LABELS
from portal.reports.xlsx import write_workbook
from portal.sql import safe_text

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
ANALYSTS = (Role.FINANCE, Role.ADMIN)
BOM = "\ufeff"  # Excel opens a UTF-8 CSV as UTF-8 only with it
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _span_form(default_days: int = 30, default_grain: str = "day") -> tuple[SpanForm, Span | None]:
    """The filter from the query string (the last 30 days, by day, when empty)."""
    today = business_day(utcnow())
    defaults = {
        "date_from": (today - timedelta(days=default_days - 1)).isoformat(),
        "date_to": today.isoformat(),
    }
    form = SpanForm(request.args or MultiDict({**defaults, "grain": default_grain}))
    if not form.validate():
        return form, None
    return form, Span.of(form.date_from.data, form.date_to.data, form.grain.data)


def _last_rolled():
    """When the worker last rolled a day up: the pages say how fresh their figures are."""
    return get_session().scalar(select(func.max(RolledDay.rolled_at)))


@bp.get("/")
@role_required(*ANALYSTS)
def adoption():
    form, span = _span_form()
    if span is None:
        return render_template("analytics/adoption.html", form=form, rows=None), 400
    session = get_session()
    record_view(session, current_user, "adoption", span)
    rows = figures.adoption(session, span)
    return render_template(
        "analytics/adoption.html", form=form, span=span, rows=rows, rolled_at=_last_rolled()
    )


@bp.get("/behaviour")
@role_required(*ANALYSTS)
def behaviour():
    form, span = _span_form()
    if span is None:
        return render_template("analytics/behaviour.html", form=form, span=None), 400
    session = get_session()
    record_view(session, current_user, "behaviour", span)
    by_agency, by_category = figures.punctuality(session, span, current_locale())
    channels = figures.channels(session, span)
    hours = figures.by_hour(session, span)
    weekdays = figures.by_weekday(session, span, exports.weekday_names())
    dates = {"start": span.start.isoformat(), "end": span.end.isoformat()}
    charts = {
        "channels": bar_chart(
            _("Payments by channel, from %(start)s to %(end)s.", **dates),
            [(channel_label(row.channel), row.payments) for row in channels],
        ),
        "hours": bar_chart(
            _("Payments by Beijing hour, from %(start)s to %(end)s.", **dates),
            [(row.label, row.payments) for row in hours],
        ),
        "weekdays": bar_chart(
            _("Payments by weekday, from %(start)s to %(end)s.", **dates),
            [(row.label, row.payments) for row in weekdays],
        ),
    }
    return render_template(
        "analytics/behaviour.html",
        form=form,
        span=span,
        channels=channels,
        by_agency=by_agency,
        by_category=by_category,
        hours=hours,
        weekdays=weekdays,
        charts=charts,
        channel_label=channel_label,
        rolled_at=_last_rolled(),
    )


def channel_label(channel) -> str:
    return str(CHANNEL_LABELS[channel])


@bp.get("/promotions")
@role_required(*ANALYSTS)
def promotions():
    form, span = _span_form(default_days=365, default_grain="month")
    if span is None:
        return render_template("analytics/promotions.html", form=form, span=None), 400
    session = get_session()
    record_view(session, current_user, "promotions", span)
    return render_template(
        "analytics/promotions.html",
        form=form,
        span=span,
        campaigns=figures.campaign_rows(session, span, current_locale()),
        cohorts=figures.cohorts(session, span, business_day(utcnow())),
        months_after=range(1, figures.COHORT_MONTHS_AFTER + 1),
        rolled_at=_last_rolled(),
    )


@bp.get("/live")
@role_required(*ANALYSTS)
def live():
    """The operations overview; with JavaScript its figures refresh every few seconds (live_panel),
    without it the page's Refresh link reloads it. The page's view is audited, not each refresh."""
    session = get_session()
    record_live_view(session, current_user)
    return render_template("analytics/live.html", live=live_figures.overview(session, utcnow()))


@bp.get("/live/panel")
@role_required(*ANALYSTS)
def live_panel():
    figures_now = live_figures.overview(get_session(), utcnow())
    response = Response(render_template("analytics/_live_panel.html", live=figures_now))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<name>.<any(csv, xlsx):kind>")
@role_required(*ANALYSTS)
def export(name: str, kind: str):
    build = exports.TABLES.get(name)
    if build is None:
        abort(404)
    form, span = _span_form()
    if span is None:
        page = exports.PAGE_OF.get(name, "analytics/behaviour.html")
        return render_template(page, form=form, rows=None, span=None), 400
    session = get_session()
    record_view(session, current_user, name, span, kind=kind)
    table = build(session, span, current_locale())
    file_name = f"analytics_{name}_{span.start.isoformat()}_{span.end.isoformat()}_{span.grain}.{kind}"
    if kind == "csv":
        response = Response(_csv(table), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
        return response
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    write_workbook(path, table.title, table.headers, table.kinds, table.rows)
    response = send_file(path, mimetype=XLSX_MIME, as_attachment=True, download_name=file_name)
    response.call_on_close(lambda: os.unlink(path))
    return response


def _csv(table: exports.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_cell(kind, value) for kind, value in zip(table.kinds, row, strict=True)])
    return BOM + buffer.getvalue()


def _csv_cell(kind: str, value) -> str:
    if value is None:
        return ""
    if kind == "money" and not isinstance(value, str):
        return plain_yuan(value)
    if kind == "date":
        return value.isoformat()
    return safe_text(str(value))
