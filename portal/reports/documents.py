"""Report PDFs (WeasyPrint, static files only, as receipts): the collections summary of a filter and
the settlement statement of an agency's day."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.reports.chart import collections_chart
from portal.reports.collections import CollectionSummary
from portal.reports.filters import CollectionFilter
from portal.reports.models import Settlement
from portal.reports.settlement import statement_lines


def collections_pdf(report: CollectionFilter, summary: CollectionSummary, locale: str) -> bytes:
    """Totals by day and agency with the chart; the bill lines themselves belong in CSV or Excel."""
    html = render_template(
        "reports/collections_pdf.html",
        report=report,
        summary=summary,
        chart=collections_chart(summary, locale),
        locale=locale,
        now=utcnow(),
    )
    return _render(html)


def settlement_kind_label(kind: str) -> str:
    labels = {
        "payment": _("Payment"),
        "refund": _("Refund"),
        "discount": _("Paid by a campaign"),
        "discount_return": _("Returned to a campaign"),
    }
    return labels.get(kind, kind)


def settlement_pdf(session: Session, settlement: Settlement, locale: str) -> bytes:
    lines, more = statement_lines(session, settlement)
    html = render_template(
        "reports/settlement_pdf.html",
        settlement=settlement,
        lines=lines,
        more=more,
        locale=locale,
        settlement_kind_label=settlement_kind_label,
    )
    return _render(html)


def _render(html: str) -> bytes:
    from portal.receipts.pdf import render_pdf  # WeasyPrint (~25 MB) loads only where PDFs are made

    return render_pdf(html)
