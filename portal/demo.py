"""Demo data: agencies, a resident and one staff user per role. Running it twice changes nothing.

Demo staff get no two-factor secret: like any new staff member, they set it up at their first login
(the page shows the QR code and the key as text), so the demo shows the real enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import passwords
from portal.accounts.models import User
from portal.agencies.models import Agency, AgencyCategory
from portal.authz import Role
from portal.bills.models import Bill
from portal.clock import business_day
from portal.counter.models import HallCashier, ServiceHall
from portal.db import utcnow
from portal.wallet.owners import wallet_owner
from portal.wallet.services import WalletService

DEMO_AGENCIES = (
    ("water", "市自来水公司", "City Water Company", AgencyCategory.WATER),
    ("power", "市供电公司", "City Power Supply Company", AgencyCategory.ELECTRICITY),
    ("gas", "市燃气公司", "City Gas Company", AgencyCategory.GAS),
    ("traffic", "市公安局交通警察支队", "City Traffic Police", AgencyCategory.TRAFFIC),
    ("tax", "市税务局", "City Tax Bureau", AgencyCategory.TAX),
)


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    login: str
    password: str
    agency_code: str | None = None
    display_name: str | None = None


DEMO_LOGINS = (
    DemoLogin(Role.RESIDENT, "13800138000", "demo-resident-2026"),
    DemoLogin(Role.CLERK, "clerk@water.demo.gov.cn", "demo-clerk-2026", "water", "李明"),
    DemoLogin(Role.FINANCE, "finance@demo.gov.cn", "demo-finance-2026", None, "陈静"),
    DemoLogin(Role.ADMIN, "admin@demo.gov.cn", "demo-admin-2026", None, "赵强"),
    DemoLogin(Role.CASHIER, "cashier@hall.demo.gov.cn", "demo-cashier-2026", None, "王芳"),
)

# The demo service hall and the agencies its counters take (not the tax bureau: its bills show the
# refusal a cashier sees for an agency the hall does not serve).
DEMO_HALL = (
    "civic-centre",
    "市民中心服务大厅",
    "Civic Centre Service Hall",
    ("water", "power", "gas", "traffic"),
)


# Demo bills held by the portal for the utilities (household account numbers are printed in the README).
DEMO_BILLS = (
    ("water", "W2026100001", "3100200300", "张小三", "居民生活用水 12 吨", "2026-10", 4_680, 30),
    ("water", "W2026110001", "3100200300", "张小三", "居民生活用水 9 吨", "2026-11", 3_510, 30 + 30),
    ("power", "E2026110001", "5100001234", "张小三", "居民生活用电 215 千瓦时", "2026-11", 11_524, 20),
    ("gas", "G2026110001", "7100004321", "张小三", "居民生活用气 18 立方米", "2026-11", 5_220, 25),
)

# A sandbox test card (passes the Luhn check); the sandbox bank moves no real money.
DEMO_CARD = "6222020000000000018"
DEMO_TOP_UP_FEN = 50_000


def seed(session: Session, wallet: WalletService) -> list[DemoLogin]:
    """Create what is missing; existing rows (and changed passwords) are left alone."""
    agencies = {code: _ensure_agency(session, code, zh, en, kind) for code, zh, en, kind in DEMO_AGENCIES}
    for code in agencies:
        wallet.open_agency_account(code)
    _ensure_bills(session, agencies)
    hall = _ensure_hall(session, agencies)
    for login in DEMO_LOGINS:
        user = _ensure_user(session, login, agencies.get(login.agency_code or ""))
        if login.role is Role.RESIDENT:
            _fund_demo_wallet(wallet, user)
        if login.role is Role.CASHIER and session.get(HallCashier, user.id) is None:
            session.add(HallCashier(user_id=user.id, hall_id=hall.id))
    return list(DEMO_LOGINS)


def _ensure_hall(session: Session, agencies: dict[str, Agency]) -> ServiceHall:
    code, name_zh, name_en, served = DEMO_HALL
    hall = session.scalar(select(ServiceHall).where(ServiceHall.code == code))
    if hall is None:
        hall = ServiceHall(
            code=code, name_zh=name_zh, name_en=name_en, agencies=[agencies[c] for c in served]
        )
        session.add(hall)
        session.flush()  # the cashier's binding names the hall by id
    return hall


def _ensure_bills(session: Session, agencies: dict[str, Agency]) -> None:
    today = business_day(utcnow())
    for code, bill_no, reference, payer, description, period, amount_fen, due_in_days in DEMO_BILLS:
        agency = agencies[code]
        if session.scalar(select(Bill).where(Bill.agency_id == agency.id, Bill.bill_no == bill_no)) is None:
            session.add(
                Bill(
                    agency=agency,
                    bill_no=bill_no,
                    account_reference=reference,
                    payer_name=payer,
                    description=description,
                    period=period,
                    amount_fen=amount_fen,
                    due_date=today + timedelta(days=due_in_days - 30),
                )
            )


def _fund_demo_wallet(wallet: WalletService, user: User) -> None:
    owner = wallet_owner(user)
    wallet.open_wallet(owner, user.verification_tier.value)
    card = wallet.link_card(owner, DEMO_CARD)
    # A fixed idempotency key: seeding again finds the stored top-up and moves nothing.
    wallet.top_up(owner, DEMO_TOP_UP_FEN, card=card.reference, idempotency_key=f"demo-seed-top-up-{owner}")


def _ensure_agency(
    session: Session, code: str, name_zh: str, name_en: str, category: AgencyCategory
) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        agency = Agency(code=code, name_zh=name_zh, name_en=name_en, category=category)
        session.add(agency)
        session.flush()  # the clerk below needs the agency id
    return agency


def _ensure_user(session: Session, login: DemoLogin, agency: Agency | None) -> User:
    column = User.phone if login.role is Role.RESIDENT else User.email
    existing = session.scalar(select(User).where(column == login.login))
    if existing is not None:
        return existing
    user = User(
        role=login.role,
        agency=agency,
        display_name=login.display_name,
        password_hash=passwords.hash_password(login.password),
    )
    if login.role is Role.RESIDENT:
        user.phone = login.login
    else:
        user.email = login.login
    session.add(user)
    session.flush()  # the wallet is keyed by the user's id
    return user
