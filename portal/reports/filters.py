"""What a finance report is about: a range of Beijing business days and optional narrowing. The same
filter drives the page, every export, the audit record of an export and the export's file name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from portal.agencies.models import AgencyCategory
from portal.clock import day_bounds
from portal.payments.models import PaymentChannel, PaymentState


@dataclass(frozen=True)
class CollectionFilter:
    start: date
    end: date  # inclusive
    agency_code: str | None = None
    category: AgencyCategory | None = None
    state: PaymentState | None = None
    channel: PaymentChannel | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: the first moment of the first day to the first moment after the last."""
        return day_bounds(self.start)[0], day_bounds(self.end)[1]

    def describe(self) -> dict[str, str]:
        """The filter as the audit log records it."""
        narrowing = {
            "agency": self.agency_code,
            "category": self.category and self.category.value,
            "state": self.state and self.state.value,
            "channel": self.channel and self.channel.value,
        }
        described = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        return described | {name: value for name, value in narrowing.items() if value}

    def file_name(self, report: str, extension: str) -> str:
        """'collections_2026-11-01_2026-11-30_water_paid.csv': the filter and range, in ASCII."""
        parts = [report, self.start.isoformat(), self.end.isoformat()]
        parts += [value for name, value in self.describe().items() if name not in ("from", "to")]
        return "_".join(parts) + "." + extension
