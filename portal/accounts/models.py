"""Users, roles, verification tiers and login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.idcrypto import TWO_FACTOR, Sealed, current_vault
from portal.agencies.models import Agency
from portal.authz import Role
from portal.db import Base, string_enum, utcnow


class VerificationTier(enum.StrEnum):
    """What the wallet may do depends on how well the resident is identified (e-CNY style tiers)."""

    BASIC = "basic"  # mobile number or e-mail only
    ID_VERIFIED = "id_verified"  # real name and a valid national ID number
    ID_AND_CARD = "id_and_card"  # ID plus a linked bank card (set by the wallet)


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
    # The national ID number only encrypted (portal/accounts/idcrypto.py): the key's id, the ciphertext,
    # and a blind index (HMAC) that keeps one number to one account. Read and write it as national_id.
    national_id_key: Mapped[str | None] = mapped_column(String(16))
    national_id_ciphertext: Mapped[str | None] = mapped_column(String(100))
    national_id_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    verification_tier: Mapped[VerificationTier] = mapped_column(
        string_enum(VerificationTier, "verification_tier"), default=VerificationTier.BASIC
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # registrations per day
    # Two-factor (TOTP): a secret without totp_enabled_at is an enrolment not yet confirmed with a code.
    # The secret only encrypted, like the ID number (key id + ciphertext); read and write it as totp_secret.
    totp_secret_key: Mapped[str | None] = mapped_column(String(16))
    totp_secret_ciphertext: Mapped[str | None] = mapped_column(String(100))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]  # the last 30-second step accepted: a code never works twice
    locale: Mapped[str | None] = mapped_column(String(8))  # the language last used (notices by SMS/e-mail)

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

    @property
    def has_national_id(self) -> bool:
        return self.national_id_index is not None

    @property
    def national_id(self) -> str | None:
        """Decrypted on demand with the app's keys; pages show only identity.mask_national_id() of it."""
        if self.national_id_ciphertext is None or self.national_id_key is None:
            return None

        return current_vault().open(Sealed(self.national_id_key, self.national_id_ciphertext))

    @national_id.setter
    def national_id(self, number: str | None) -> None:
        if number is None:
            self.national_id_key = self.national_id_ciphertext = self.national_id_index = None
            return

        vault = current_vault()
        sealed = vault.seal(number)
        self.national_id_key, self.national_id_ciphertext = sealed.key_id, sealed.ciphertext
        self.national_id_index = vault.index(number)

    @property
    def totp_secret(self) -> str | None:
        """The authenticator's shared secret, decrypted on demand; shown only while enrolling."""
        if self.totp_secret_ciphertext is None or self.totp_secret_key is None:
            return None

        return current_vault().open(Sealed(self.totp_secret_key, self.totp_secret_ciphertext), TWO_FACTOR)

    @totp_secret.setter
    def totp_secret(self, secret: str | None) -> None:
        if secret is None:
            self.totp_secret_key = self.totp_secret_ciphertext = None
            return

        sealed = current_vault().seal(secret, TWO_FACTOR)
        self.totp_secret_key, self.totp_secret_ciphertext = sealed.key_id, sealed.ciphertext

    @property
    def has_totp_secret(self) -> bool:
        """Whether a secret is stored, without decrypting it."""
        return self.totp_secret_ciphertext is not None

    @property
    def two_factor_enrolled(self) -> bool:
        return self.totp_enabled_at is not None and self.has_totp_secret

    @property
    def two_factor_required(self) -> bool:
        """Mandatory for staff; residents who switched it on are asked for it too."""
        return self.is_staff or self.two_factor_enrolled


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


class RecoveryCode(Base):
    """A one-time code for when the authenticator is lost. Only its SHA-256 is kept (codes carry 60 random
    bits, so a fast hash suffices); used_at makes it worthless."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class PasswordResetToken(Base):
    """A one-time link to set a new password. Only the token's SHA-256 is kept (32 random bytes), so a
    copy of the database opens no account; used_at (or a newer link) makes it worthless."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
