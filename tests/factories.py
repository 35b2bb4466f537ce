"""factory_boy factories: they flush, never commit (the test transaction is rolled back)."""

from __future__ import annotations

import contextlib

import factory
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.bills.models import Bill
from portal.db import utcnow

DEFAULT_PASSWORD = "correct horse battery staple"
# Staff made by the factories have two-factor set up with this secret; tests compute its codes with pyotp.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# A cheap argon2id hash: the parameters travel inside the hash, so the portal verifies it as usual.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024)
_DEFAULT_HASH = _HASHER.hash(DEFAULT_PASSWORD)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class AgencyFactory(BaseFactory):
    class Meta:
        model = Agency

    code = factory.Sequence(lambda n: f"agency{n}")
    name_zh = factory.Sequence(lambda n: f"测试机构{n}")
    name_en = factory.Sequence(lambda n: f"Test Agency {n}")
    category = AgencyCategory.WATER


class UserFactory(BaseFactory):
    class Meta:
        model = User

    role = Role.RESIDENT
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    email = None
    password_hash = _DEFAULT_HASH

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Two-factor secrets and ID numbers are encrypted with the app's keys as they are set.
        with _app.app_context() if _app is not None else contextlib.nullcontext():
            return super()._create(model_class, *args, **kwargs)


class StaffFactory(UserFactory):
    """Two-factor is mandatory for staff: these have it set up (pass totp_enabled_at=None for one who
    has not, and totp_secret=None for one who has not even been given a secret yet)."""

    class Meta:
        abstract = True

    phone = None
    totp_secret = TOTP_SECRET
    totp_enabled_at = factory.LazyFunction(utcnow)


class ClerkFactory(StaffFactory):
    role = Role.CLERK
    email = factory.Sequence(lambda n: f"clerk{n}@agency.example.cn")
    agency = factory.SubFactory(AgencyFactory)


class FinanceFactory(StaffFactory):
    role = Role.FINANCE
    email = factory.Sequence(lambda n: f"finance{n}@city.example.cn")


class AdminFactory(StaffFactory):
    role = Role.ADMIN
    email = factory.Sequence(lambda n: f"admin{n}@city.example.cn")


class CashierFactory(StaffFactory):
    """A counter cashier; bind them to a hall with ``HallCashier`` (tests/counter/conftest.py)."""

    role = Role.CASHIER
    email = factory.Sequence(lambda n: f"cashier{n}@hall.example.cn")


class BillFactory(BaseFactory):
    class Meta:
        model = Bill

    agency = factory.SubFactory(AgencyFactory)
    bill_no = factory.Sequence(lambda n: f"B{n:08d}")
    account_reference = "1000200030"
    payer_name = "张小三"
    description = "水费"
    period = "2026-10"
    amount_fen = 8_850
    late_fee_fen = 0
    due_date = None


ALL_FACTORIES = (
    AgencyFactory,
    UserFactory,
    ClerkFactory,
    FinanceFactory,
    AdminFactory,
    CashierFactory,
    BillFactory,
)


_app: Flask | None = None  # the app under test: its IDENTITY_KEYS encrypt what the factories store


def bind(session: Session, app: Flask | None = None) -> None:
    global _app
    _app = app
    for factory_class in ALL_FACTORIES:
        factory_class._meta.sqlalchemy_session = session


def password_hash(password: str) -> str:
    return _HASHER.hash(password)
