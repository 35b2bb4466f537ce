"""Users, roles, verification tiers and login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.db import Base, string_enum, utcnow


class Role(enum.StrEnum):
    RESIDENT = "resident"
    CLERK = "clerk"
    FINANCE = "finance"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.RESIDENT


STAFF_ROLES = (Role.CLERK, Role.FINANCE, Role.ADMIN)


class VerificationTier(enum.StrEnum):
    """What the wallet may do depends on how well the resident is identified (e-CNY style tiers)."""

    BASIC = "basic"  # mobile number or e-mail only
    ID_VERIFIED = "id_verified"  # real name and a valid national ID number
    ID_AND_CARD = "id_and_card"  # ID plus a linked bank card (set by the wallet)


ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.CLERK: _l("Agency clerk"),
    Role.FINANCE: _l("Finance"),
    Role.ADMIN: _l("Administrator"),
}

TIER_LABELS = {
    VerificationTier.BASIC: _l("Basic (mobile number or e-mail only)"),
    VerificationTier.ID_VERIFIED: _l("ID-verified"),
    VerificationTier.ID_AND_CARD: _l("ID-verified with a linked bank card"),
}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
        CheckConstraint("(role = 'clerk') = (agency_id IS NOT NULL)", name="clerk_has_one_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(string_enum(Role, "user_role"), default=Role.RESIDENT)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    real_name: Mapped[str | None] = mapped_column(String(50))
    national_id: Mapped[str | None] = mapped_column(String(18), unique=True)
    verification_tier: Mapped[VerificationTier] = mapped_column(
        string_enum(VerificationTier, "verification_tier"), default=VerificationTier.BASIC
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    # Flask-Login's interface; sessions are checked against LoginSession in portal.accounts.auth.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def login_name(self) -> str:
        return self.email or self.phone or ""

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class LoginSession(Base):
    """One signed-in browser. Logging out ends the row, so a copied cookie stops working."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()
