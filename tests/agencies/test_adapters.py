"""The contract every registered adapter keeps, and the local adapter's own behaviour."""

from datetime import UTC, datetime, timedelta

import pytest

from config import sandbox_agencies
from portal.agencies.base import (
    Ack,
    AdapterContext,
    AgencyAdapter,
    AgencyConfig,
    AgencyUnavailable,
    AmountPolicy,
    BillQuery,
    BillStatus,
    BillView,
    PaymentConfirmation,
    QueryField,
    call_adapter,
)
from portal.agencies.registry import discover
from portal.bills.models import StoredBillStatus
from portal.clock import business_day
from portal.db import utcnow
from tests.conftest import SANDBOX_SECRET
from tests.factories import AgencyFactory, BillFactory

ADAPTERS = discover()


def make(adapter_class, db, code="contract", settings=None):
    config = AgencyConfig(code, "测试", "Test", "water", settings or {})
    return adapter_class(config, AdapterContext(session=lambda: db))


def contract_settings(name, sandbox):
    """Remote adapters are tried against the sandbox agency server; others need no settings."""
    if name == "http":
        return sandbox_agencies(sandbox, SANDBOX_SECRET)["traffic"]["settings"]
    return {}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_registered_adapter_keeps_the_contract(name, db, sandbox):
    adapter_class = ADAPTERS[name]
    adapter = make(adapter_class, db, code="traffic", settings=contract_settings(name, sandbox))

    assert adapter_class.adapter_name == name
    assert adapter.fields and len({field.name for field in adapter.fields}) == len(adapter.fields)
    assert isinstance(adapter.amount_policy, AmountPolicy)
    for field in adapter.fields:
        assert field.label_zh and field.label_en
        assert field.normalise("<script>") is None
    nothing = adapter.lookup(BillQuery("traffic", tuple((field.name, "000000") for field in adapter.fields)))
    assert isinstance(nothing, list) and all(isinstance(bill, BillView) for bill in nothing)
    ack = adapter.confirm_payment(PaymentConfirmation("P1", "traffic", "B1", 100, datetime.now(UTC)))
    assert isinstance(ack, Ack) and ack.payment_id == "P1"


def test_local_adapter_finds_bills_by_household_account_and_derives_overdue(db):
    agency = AgencyFactory(code="water-local")
    today = business_day(utcnow())
    BillFactory(
        agency=agency, account_reference="1000200030", bill_no="W-OLD", due_date=today - timedelta(days=1)
    )
    BillFactory(
        agency=agency,
        account_reference="1000200030",
        bill_no="W-NEW",
        due_date=today + timedelta(days=9),
        late_fee_fen=150,
    )
    BillFactory(
        agency=agency,
        account_reference="1000200030",
        bill_no="W-PAID",
        status=StoredBillStatus.PAID,
        due_date=today + timedelta(days=30),
    )
    BillFactory(agency=agency, account_reference="9999999999", bill_no="W-OTHER")
    BillFactory(agency=AgencyFactory(code="gas-local"), account_reference="1000200030", bill_no="G-1")
    adapter = make(ADAPTERS["local"], db, code="water-local")

    bills = adapter.lookup(BillQuery("water-local", (("account_reference", " 1000200030 "),)))

    assert [(bill.bill_id, bill.status) for bill in bills] == [
        ("W-OLD", BillStatus.OVERDUE),
        ("W-NEW", BillStatus.UNPAID),
        ("W-PAID", BillStatus.PAID),
    ]
    assert bills[1].total_fen == 8_850 + 150


@pytest.mark.parametrize("reference", ["", "12", "abc-def", "1" * 21, "1000200030' OR '1'='1"])
def test_local_adapter_returns_nothing_for_malformed_references(db, reference):
    BillFactory(agency=AgencyFactory(code="water-bad"), account_reference="1000200030")
    adapter = make(ADAPTERS["local"], db, code="water-bad")

    assert adapter.lookup(BillQuery("water-bad", (("account_reference", reference),))) == []


class BrokenAdapter(AgencyAdapter):
    adapter_name = "broken"
    fields = ()

    def lookup(self, query):
        raise ConnectionError("agency host refused the connection")

    def confirm_payment(self, confirmation):
        raise TimeoutError


def test_call_adapter_turns_any_failure_into_agency_unavailable(app):
    adapter = BrokenAdapter(AgencyConfig("down", "停机", "Down", "tax"), AdapterContext())

    with app.test_request_context(), pytest.raises(AgencyUnavailable) as refused:
        call_adapter(adapter, "lookup", BillQuery("down", ()))

    assert refused.value.agency_code == "down"
    assert refused.value.message  # a translated sentence for the page...
    assert "refused the connection" not in refused.value.message  # ...that does not leak the adapter's error


def test_query_values_typed_full_width_or_with_spaces_are_read_as_the_agency_expects():
    account = QueryField("account", "户号", "Account", r"[0-9A-Z]{6,20}")
    plate = QueryField("plate", "车牌号", "Plate", r"[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}")
    named = QueryField("name", "姓名", "Name", r"[A-Z]+ [A-Z]+")

    assert account.normalise("３１００２００３００") == "3100200300"
    assert account.normalise(" 3100 2003\u300000 ") == "3100200300"  # an ideographic space too
    assert plate.normalise("渝Ａ　１２３４５") == "渝A12345" and plate.normalise("渝a 12345") == "渝A12345"
    assert named.normalise("ada  lovelace") is None and named.normalise("ada lovelace") == "ADA LOVELACE"
    assert account.normalise("31-00-20") is None and account.normalise("") is None
