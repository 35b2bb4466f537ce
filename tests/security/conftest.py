"""One world for the security tests: a database of their own, with committed objects of two residents and
two agencies, and a signed-in test client per role (staff through their two-factor step).

Logging in is done once per run (each staff login spends a TOTP step), so the objects and the login
sessions are committed; each test then runs in a transaction that is rolled back (requests join it with
savepoints, as in tests/conftest.py), and the matrix restores each client's cookie after every request.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.agencies.models import AgencyCategory
from portal.batches import services as batches
from portal.bills import services as bills
from portal.clock import business_day
from portal.counter import services as counter
from portal.counter.models import HallCashier, ServiceHall, Tender
from portal.db import get_session, utcnow
from portal.disputes import attachments
from portal.disputes import opening as dispute_opening
from portal.disputes.models import DisputeKind
from portal.main.models import WorkerHeartbeat
from portal.outbox import OutboxMessage, OutboxState
from portal.payments import checkout, refunds
from portal.payments import services as payments
from portal.promotions import campaigns
from portal.promotions.models import CampaignRule
from portal.receipts.models import Receipt
from portal.receipts.tokens import verification_token
from portal.reports import settlement
from portal.risk.models import FlagStatus, RiskFlag, UnfreezeRequest
from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests import factories
from tests.conftest import csrf_token_from, login, make_config
from tests.disputes.files import image
from tests.security.routes import ROLES

API_CLIENT, API_SECRET = "security-tests", "security-secret-0123456789"
METRICS_TOKEN = "security-metrics-token-0123"
CARD = "6222020000000000018"
HOUSEHOLD = "3100200300"
OTHER_HOUSEHOLD = "3100200399"
CSV_HEADER = "账单号,户号,缴费人,金额,滞纳金,缴费截止日,账期,说明\n"
_addresses = itertools.count(1)


@dataclass
class World:
    app: Flask
    ids: dict[str, object]  # what the route table's {placeholders} are filled with
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    def client(self) -> FlaskClient:
        """A fresh browser from an address of its own (the login rate limit counts per address)."""
        client = self.app.test_client()
        number = next(_addresses)
        client.environ_base["REMOTE_ADDR"] = f"10.9.{number // 250}.{number % 250 + 1}"
        client.get("/language/en")
        return client

    @property
    def cookie_name(self) -> str:
        return self.app.config["SESSION_COOKIE_NAME"]


def _pay(session: Session, user, agency, household: str, bill_no: str, amount_fen: int):
    factories.BillFactory(
        agency=agency,
        account_reference=household,
        bill_no=bill_no,
        amount_fen=amount_fen,
        payer_name="张小三",
    )
    selection = checkout.Selection(agency.code, (("account_reference", household),), bill_no)
    quote = checkout.quote(session, [selection], "en")
    wallet = wallet_service(session)
    return payments.pay(session, wallet, user, quote, payments.chosen_amounts(quote, {}))


def _fund(session: Session, user, amount_fen: int) -> None:
    wallet = wallet_service(session)
    owner = wallet_owner(user)
    wallet.open_wallet(owner, user.verification_tier.value)
    card = wallet.link_card(owner, CARD).reference
    wallet.top_up(owner, amount_fen, card=card, idempotency_key=f"security-fund-{owner}")


def _build(app: Flask) -> dict[str, object]:
    """The objects every route's placeholders point at, committed."""
    with app.test_request_context():
        session = get_session()
        factories.bind(session)
        water = factories.AgencyFactory(code="sec-water", name_en="Security Water")
        gas = factories.AgencyFactory(code="sec-gas", name_en="Security Gas", category=AgencyCategory.GAS)
        resident = factories.UserFactory(phone="13911110001", real_name="张小三")
        other = factories.UserFactory(phone="13911110002", real_name="李四")
        clerk = factories.ClerkFactory(email="clerk@sec-water.example.cn", agency=water)
        other_clerk = factories.ClerkFactory(email="clerk@sec-gas.example.cn", agency=gas)
        finance = factories.FinanceFactory(email="finance@security.example.cn")
        admin = factories.AdminFactory(email="admin@security.example.cn")
        second_admin = factories.AdminFactory(email="admin2@security.example.cn")
        spare = factories.ClerkFactory(email="spare@sec-water.example.cn", agency=water)
        for user in (resident, other):
            _fund(session, user, 100_000)
        wallet_service(session).open_agency_account(water.code)
        payment = _pay(session, resident, water, HOUSEHOLD, "SEC-W-1", 4_680)
        other_payment = _pay(session, other, water, OTHER_HOUSEHOLD, "SEC-W-2", 3_330)
        session.flush()  # the receipts below are found by their payments' ids
        # a part refund: the other resident's receipt page and PDF then tell of it
        refunds.refund_item(
            session,
            wallet_service(session, client="refunds"),
            finance,
            other_payment.reference,
            other_payment.items[0].id,
            1_000,
            "Paid twice",
            "security-world-refund",
        )
        receipt = session.scalars(select(Receipt).where(Receipt.payment_id == payment.id)).first()
        other_receipt = session.scalars(
            select(Receipt).where(Receipt.payment_id == other_payment.id).order_by(Receipt.id)
        ).first()
        account = bills.save_account(session, resident, water, {"account_reference": HOUSEHOLD}, "Home water")
        rows = CSV_HEADER + "SEC-B-1,3100200301,王五,12.00,,2026-12-15,2026-11,water\n"
        batch = batches.upload(session, clerk, water, "november.csv", rows.encode())
        gas_batch = batches.upload(session, other_clerk, gas, "gas-november.csv", rows.encode())
        day = settlement.last_settleable_day()
        made = settlement.settle(
            session, wallet_service(session, client="settlement"), finance, water.code, day
        )
        flag = RiskFlag(
            user_id=resident.id,
            rule="single_amount",
            operation="payment",
            amount_fen=4_680,
            detail="one amount over the threshold",
            status=FlagStatus.OPEN,
        )
        unfreeze = UnfreezeRequest(
            user_id=resident.id, requested_by=second_admin.id, reason="called the hotline"
        )
        dead = OutboxMessage(
            topic="payment.confirm",
            dedupe_key="security-dead-letter",
            payload_json="{}",
            state=OutboxState.DEAD,
            give_up_at=utcnow(),
        )
        proposed = campaigns.propose(
            session,
            second_admin,
            campaigns.CampaignDraft(
                "安全立减",
                "Security saver",
                business_day(utcnow()),  # a period that has not passed: proposals for past days are refused
                business_day(utcnow()),
                (),
                (),
                CampaignRule.FIXED_OFF,
                100,
                0,
                0,
                0,
                1,
                10_000,
            ),
        )
        factories.BillFactory(  # still to pay: what a visitor not signed in may pay
            agency=water,
            account_reference=HOUSEHOLD,
            bill_no="SEC-W-9",
            amount_fen=1_500,
            payer_name="张小三",
        )
        guest_bill = checkout.Selection(water.code, (("account_reference", HOUSEHOLD),), "SEC-W-9").token()
        dispute = dispute_opening.open_dispute(
            session,
            resident,
            payment.reference,
            payment.items[0].id,
            DisputeKind.STILL_UNPAID,
            "The water company still shows this bill unpaid.",
            attachments.check("proof.png", image()),
        )
        cashier, counter_payment, shift, counter_bill = _counter(session, water, gas)
        other_cashier = factories.CashierFactory(email="cashier@sec-gas-hall.example.cn")
        gas_hall = ServiceHall(code="sec-gas-hall", name_zh="燃气大厅", name_en="Gas Hall", agencies=[gas])
        session.add(gas_hall)
        session.flush()  # the binding names the hall's id
        session.add(HallCashier(user_id=other_cashier.id, hall_id=gas_hall.id))
        session.add_all([flag, unfreeze, dead, WorkerHeartbeat(name="security-world-worker:1")])
        session.flush()  # the ids of the flag, the request and the message fill the route table
        ids = {
            "agency": water.code,
            "other_agency": gas.code,
            "payment": payment.reference,
            "other_payment": other_payment.reference,
            "item": payment.items[0].id,
            "receipt": receipt.number,
            "other_receipt": other_receipt.number,
            "token": verification_token(receipt.number),
            "account": account.id,
            "notice": _first_notice(session, resident.id),  # the payment's confirmation
            "batch": batch.upload_id,
            "other_batch": gas_batch.upload_id,
            "settlement": made.id,
            "flag": flag.id,
            "campaign": proposed.id,
            "dispute": dispute.reference,
            "counter_payment": counter_payment.reference,
            "counter_receipt": session.scalar(
                select(Receipt.number).where(Receipt.payment_id == counter_payment.id)
            ),
            "shift": shift.reference,
            "counter_bill": counter_bill,
            "guest_bill": guest_bill,
            "saved_bill": guest_bill,  # SEC-W-9, a bill of the resident's saved water account
            "unfreeze": unfreeze.id,
            "message": dead.id,
            "staff": spare.id,
            "transfer": payment.transfer_reference,
            "owner": wallet_owner(resident),
            "day": day.isoformat(),
            "today": business_day(utcnow()).isoformat(),
            "resident_id": resident.id,
            "logins": {
                "res": resident.phone,
                "res2": other.phone,
                "clerk": clerk.email,
                "clerk2": other_clerk.email,
                "fin": finance.email,
                "admin": admin.email,
                "cash": cashier.email,
                "cash2": other_cashier.email,
            },
        }
        session.commit()
    return ids


@pytest.fixture(scope="package")
def world(make_database) -> World:
    url = make_database()
    adapters = {"sec-water": {"adapter": "local"}, "sec-gas": {"adapter": "local"}}
    # its worker's heartbeat is as old as the world: /readyz counts it fresh for the whole run
    settings = {"WALLET_API_CLIENTS": {API_CLIENT: API_SECRET}, "READY_WORKER_STALE_SECONDS": 86_400}
    app = create_app(make_config(url, **settings))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], **adapters}
    built = World(app, _build(app))
    app.config["METRICS_TOKEN"] = METRICS_TOKEN  # held by no role: /metrics is 404 for every one
    for role in ROLES:
        client = built.client()
        if role != "anon":
            login(client, built.ids["logins"][role])
        page = client.get("/account/login" if role == "anon" else "/").get_data(as_text=True)
        built.csrf[role] = csrf_token_from(page)
        built.clients[role] = client
    yield built
    app.extensions["portal.db"].dispose()


@pytest.fixture
def db(world: World):
    """This test's transaction on the world's database, rolled back at the end; requests join it."""
    database = world.app.extensions["portal.db"]
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    session.info["connection"] = connection  # for tests that undo each request (isolated())
    factories.bind(session, world.app)
    yield session
    session.close()
    transaction.rollback()
    connection.close()
    database.sessionmaker.configure(bind=database.engine, join_transaction_mode="conservative_savepoint")


def _counter(session: Session, water, gas):
    """A hall serving both agencies, its cashier's open shift with one cash payment, and a bill to take."""
    hall = ServiceHall(code="sec-hall", name_zh="安全大厅", name_en="Security Hall", agencies=[water, gas])
    cashier = factories.CashierFactory(email="cashier@sec-hall.example.cn")
    session.add(hall)
    session.flush()  # the binding names the hall's id
    session.add(HallCashier(user_id=cashier.id, hall_id=hall.id))
    shift = counter.open_shift(session, cashier)
    for bill_no in ("SEC-W-7", "SEC-W-8"):
        factories.BillFactory(
            agency=water, account_reference=HOUSEHOLD, bill_no=bill_no, amount_fen=1_500, payer_name="张小三"
        )
    query = (("account_reference", HOUSEHOLD),)
    paid_bill = checkout.Selection(water.code, query, "SEC-W-7").token()
    payment = counter.collect(
        session,
        wallet_service(session),
        cashier,
        paid_bill,
        1_500,
        counter.Takings(Tender.CASH, 2_000),
        "security-world-counter",
        "en",
    )
    return cashier, payment, shift, checkout.Selection(water.code, query, "SEC-W-8").token()


def _first_notice(session: Session, user_id: int) -> int:
    from portal.notify.models import Notification

    return session.scalar(select(Notification.id).where(Notification.user_id == user_id).limit(1))
