"""The agencies known to the portal."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, string_enum, utcnow


class AgencyCategory(enum.StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"
    TRAFFIC = "traffic"
    TAX = "tax"

    @property
    def is_utility(self) -> bool:
        return self in (AgencyCategory.WATER, AgencyCategory.ELECTRICITY, AgencyCategory.GAS)

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS = {
    AgencyCategory.WATER: _l("Water"),
    AgencyCategory.ELECTRICITY: _l("Electricity"),
    AgencyCategory.GAS: _l("Gas"),
    AgencyCategory.TRAFFIC: _l("Traffic fines"),
    AgencyCategory.TAX: _l("Taxes"),
}


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    category: Mapped[AgencyCategory] = mapped_column(string_enum(AgencyCategory, "agency_category"))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name_for(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en
