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
from markupsafe import Markup
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
from portal.clock import SHANGHAI, aware, business_day
from portal.db import get_session, utcnow
from portal.i18n import current_locale
from portal.money import plain_yuan
from portal.payments.labels import CHANNEL_LABELS
from portal.reports.forms import DateRangeForm
from portal.reports.xlsx import write_workbook
from portal.sql import safe_text

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
ANALYSTS = (Role.FINANCE, Role.ADMIN)
BOM = "\ufeff"  # Excel opens a UTF-8 CSV as UTF-8 only with it
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


DEFAULTS = {"promotions": (365, "month"), "campaigns": (365, "month"), "cohorts": (365, "month")}
PER_PERIOD = ("adoption",)  # the pages (and tables) with a row per day, week or month


def _span_form(page: str) -> tuple[SpanForm, Span | None]:
    """The filter from the query string; when it has none, the page's default (the last 30 days by
    day; promotions: the last year by month)."""
    days, grain = DEFAULTS.get(page, (30, "day"))
    today = business_day(utcnow())
    defaults = {"date_from": (today - timedelta(days=days - 1)).isoformat(), "date_to": today.isoformat()}
    if page not in PER_PERIOD:  # one table for the whole range: no period to choose
        form = DateRangeForm(request.args or MultiDict(defaults))
        if not form.validate():
            return form, None
        return form, Span.of(form.date_from.data, form.date_to.data, "day")
    form = SpanForm(request.args or MultiDict({**defaults, "grain": grain}))
    if not form.validate():
        return form, None
    return form, Span.of(form.date_from.data, form.date_to.data, form.grain.data)


def _page(template: str, form: DateRangeForm, status: int = 200, **context):
    """A page with its links to the other pages and its downloads built from the checked filter only
    (never from the query string as sent: a stray key there is no argument of ours)."""
    link_args = {}
    if not form.errors and form.date_from.data and form.date_to.data:
        link_args = {"date_from": form.date_from.data.isoformat(), "date_to": form.date_to.data.isoformat()}
        if hasattr(form, "grain"):
            link_args["grain"] = form.grain.data
    context.setdefault("span", None)
    html = render_template(template, form=form, link_args=link_args, rolled_at=_last_rolled(), **context)
    return html, status


def _last_rolled():
    """When the worker last rolled a day up: the pages say how fresh their figures are."""
    return get_session().scalar(select(func.max(RolledDay.rolled_at)))


def _viewed(page: str, span: Span, answer):
    """The view in the audit log once the page is built: the audit chain's lock is then held only for
    the append and the commit."""
    record_view(get_session(), current_user, page, span)
    return answer


@bp.get("/")
@role_required(*ANALYSTS)
def adoption():
    form, span = _span_form("adoption")
    if span is None:
        return _page("analytics/adoption.html", form, 400, rows=None)
    rows = figures.adoption(get_session(), span)
    dates = {"start": span.start.isoformat(), "end": span.end.isoformat()}
    chart = bar_chart(
        _("Residents' bill payments per period, from %(start)s to %(end)s.", **dates),
        [(row.start.isoformat(), row.payments) for row in rows],
    )
    return _viewed(
        "adoption", span, _page("analytics/adoption.html", form, span=span, rows=rows, chart=chart)
    )


@bp.get("/behaviour")
@role_required(*ANALYSTS)
def behaviour():
    form, span = _span_form("behaviour")
    if span is None:
        return _page("analytics/behaviour.html", form, 400)
    session = get_session()
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
    page = _page(
        "analytics/behaviour.html",
        form,
        span=span,
        channels=channels,
        by_agency=by_agency,
        by_category=by_category,
        hours=hours,
        weekdays=weekdays,
        charts=charts,
        channel_label=channel_label,
    )
    return _viewed("behaviour", span, page)


def beijing_seconds(moment) -> Markup:
    """The live panel's time to the second (it changes at every refresh), marked as the moment the
    page was made: ``data-rendered-at``."""
    local = aware(moment).astimezone(SHANGHAI)
    return Markup('<time data-rendered-at datetime="{}">{}</time>').format(
        local.isoformat(timespec="seconds"), local.strftime("%Y-%m-%d %H:%M:%S")
    )


def channel_label(channel) -> str:
    return str(CHANNEL_LABELS[channel])


@bp.get("/promotions")
@role_required(*ANALYSTS)
def promotions():
    form, span = _span_form("promotions")
    if span is None:
        return _page("analytics/promotions.html", form, 400)
    session = get_session()
    page = _page(
        "analytics/promotions.html",
        form,
        span=span,
        campaigns=figures.campaign_rows(session, span, current_locale()),
        cohorts=figures.cohorts(session, span, business_day(utcnow())),
        months_after=range(1, figures.COHORT_MONTHS_AFTER + 1),
    )
    return _viewed("promotions", span, page)


@bp.get("/live")
@role_required(*ANALYSTS)
def live():
    """The operations overview; with JavaScript its figures refresh every few seconds (live_panel),
    without it the page's Refresh link reloads it. The page's view is audited, not each refresh."""
    figures_now = live_figures.overview(get_session(), utcnow())
    html = render_template(
        "analytics/live.html", live=figures_now, link_args={}, beijing_seconds=beijing_seconds
    )
    record_live_view(get_session(), current_user)
    return html


@bp.get("/live/panel")
@role_required(*ANALYSTS)
def live_panel():
    figures_now = live_figures.overview(get_session(), utcnow())
    response = Response(
        render_template("analytics/_live_panel.html", live=figures_now, beijing_seconds=beijing_seconds)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<name>.<any(csv, xlsx):kind>")
@role_required(*ANALYSTS)
def export(name: str, kind: str):
    build = exports.TABLES.get(name)
    if build is None:
        abort(404)
    form, span = _span_form(name)
    if span is None:
        return _page(exports.PAGE_OF.get(name, "analytics/behaviour.html"), form, 400, rows=None)
    session = get_session()
    table = build(session, span, current_locale())
    by = f"_{span.grain}" if name in PER_PERIOD else ""
    file_name = f"analytics_{name}_{span.start.isoformat()}_{span.end.isoformat()}{by}.{kind}"
    if kind == "csv":
        response = Response(_csv(table), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    else:
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        try:
            write_workbook(path, table.title, table.headers, table.kinds, table.rows)
        except BaseException:
            os.unlink(path)
            raise
        response = send_file(path, mimetype=XLSX_MIME, as_attachment=True, download_name=file_name)
        response.call_on_close(lambda: os.unlink(path))
    record_view(session, current_user, name, span, kind=kind)
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
