"""A service hall serving the test water agency (not the tax office), its cashier signed in, and the
steps of the counter's pages as a cashier takes them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.counter.models import CounterShift, HallCashier, ServiceHall
from portal.wallet.models import AccountKind, LedgerAccount
from tests.conftest import csrf_token_from, login
from tests.factories import AgencyFactory, BillFactory, CashierFactory
from tests.payments.conftest import water  # noqa: F401

_TAKE_BUTTON = re.compile(
    r'name="bill" value="([^"]+)">\s*<button[^>]*>Take payment<span[^>]*> ([^<]+)</span>'
)


_HIDDEN = re.compile(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)"')


@pytest.fixture
def tax(app, db):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "tax-pay": {"adapter": "local"}}
    agency = AgencyFactory(code="tax-pay", name_zh="测试税务", name_en="Test Tax")
    BillFactory(agency=agency, account_reference="3100200300", bill_no="T-1", amount_fen=10_000)
    return agency


@pytest.fixture
def hall(db, water, tax):  # noqa: F811
    hall = ServiceHall(
        code="east-hall", name_zh="东区服务大厅", name_en="East Service Hall", agencies=[water]
    )
    db.add(hall)
    db.flush()
    return hall


@pytest.fixture
def cashier(app, client, db, hall):
    user = CashierFactory(display_name="王芳")
    db.add(HallCashier(user_id=user.id, hall_id=hall.id))
    db.flush()
    client.get("/language/en")
    login(client, user.email)
    return user


def open_shift(client) -> None:
    page = client.get("/counter/").get_data(as_text=True)
    assert client.post("/counter/shift", data={"csrf_token": csrf_token_from(page)}).status_code == 302


def shift_of(db, cashier) -> CounterShift:
    db.expire_all()
    return db.scalar(
        sa.select(CounterShift).where(CounterShift.cashier_id == cashier.id).order_by(CounterShift.id.desc())
    )


def take_buttons(client, agency: str = "water-pay") -> dict[str, str]:
    """The lookup page's Take payment buttons: bill id -> its sealed value."""
    page = client.get(f"/counter/bills/{agency}").get_data(as_text=True)
    found = client.post(
        f"/counter/bills/{agency}",
        data={"account_reference": "3100200300", "csrf_token": csrf_token_from(page)},
    )
    assert found.status_code == 200
    return {bill: token for token, bill in _TAKE_BUTTON.findall(found.get_data(as_text=True))}


def take_form(client, token: str) -> tuple[str, dict]:
    """Press a bill's button: the take form's page and its hidden fields."""
    page = client.get("/counter/").get_data(as_text=True)
    shown = client.post("/counter/take", data={"bill": token, "csrf_token": csrf_token_from(page)})
    assert shown.status_code == 200, shown.get_data(as_text=True)
    html = shown.get_data(as_text=True)
    hidden = dict(_HIDDEN.findall(html))
    return html, hidden


def take(client, token: str, **fields):
    _html, hidden = take_form(client, token)
    return client.post("/counter/take", data={**hidden, **fields})


def balance(db, kind: AccountKind, owner: str) -> int | None:
    db.expire_all()
    return db.scalar(
        sa.select(LedgerAccount.balance_fen).where(
            LedgerAccount.kind == kind, LedgerAccount.owner_ref == owner
        )
    )
