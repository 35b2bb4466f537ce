"""What keeps a bill lookup cheap must not change what it shows: the agency read from the process's copy,
the bills read with one statement (on PostgreSQL outside a transaction when nothing else is open), the
form class built once per language, a faster text input and gettext with the same output."""

import uuid

import pytest
from markupsafe import Markup
from sqlalchemy import delete, event, insert, update
from wtforms.widgets import TextInput

from portal.agencies.base import AdapterContext, BillQuery
from portal.agencies.cache import AgencySnapshot
from portal.agencies.models import Agency, AgencyCategory
from portal.agencies.registry import adapter_for
from portal.bills.forms import _TextInput
from portal.bills.models import Bill
from tests.factories import AgencyFactory, BillFactory


@pytest.fixture
def water(app, db):
    app.config["AGENCY_ADAPTERS"] = {"cost-water": {"adapter": "local"}}
    agency = AgencyFactory(code="cost-water", name_zh="测试水务", name_en="Cost Water")
    BillFactory(agency=agency, account_reference="3100200300", bill_no="C-1", payer_name="张小三")
    return agency


def test_an_agency_disabled_in_this_process_stops_being_served_at_once(client, db, water):
    assert client.get("/bills/cost-water?account_reference=3100200300").status_code == 200

    water.is_enabled = False
    db.flush()

    assert client.get("/bills/cost-water?account_reference=3100200300").status_code == 404


def test_bills_of_a_disabled_agency_are_not_shown_even_from_a_stale_copy(app, db, water):
    snapshot = AgencySnapshot(water.id, "cost-water", "测试水务", "Cost Water", AgencyCategory.WATER, True)
    # Disabled elsewhere (another process): no event here, so a page may still hold the enabled copy.
    agencies = Agency.__table__
    db.execute(update(agencies).where(agencies.c.code == "cost-water").values(is_enabled=False))
    with app.test_request_context():
        adapter = adapter_for(snapshot, AdapterContext(session=lambda: db))
        bills = adapter.lookup(BillQuery("cost-water", (("account_reference", "3100200300"),)))

    assert bills == []


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        ("en", ["Bills found", "Household account number", "Log in to pay these bills from your wallet."]),
        ("zh_CN", ["查询到的账单", "户号", "登录后即可用钱包缴纳这些账单。"]),
    ],
)
def test_the_page_is_translated_as_before(client, water, locale, texts):
    client.get(f"/language/{locale}")

    page = client.get("/bills/cost-water?account_reference=3100200300").get_data(as_text=True)

    assert all(text in page for text in texts)
    assert "C-1" in page and "张*三" in page and "张小三" not in page


def test_the_faster_text_input_writes_what_wtforms_writes():
    for attributes in (
        {"id": "a", "value": '"><script>alert(1)</script>', "required": True, "disabled": False},
        {"class_": "input input--error", "aria_describedby": "x-hint x-error", "maxlength": 64},
        {"data_x_y": "1", "value": Markup('a"b<i>'), "spellcheck": "false"},
    ):
        assert _TextInput.html_params(**attributes) == TextInput.html_params(**attributes)


@pytest.fixture
def committed_water(app):
    """An agency and a bill committed to the run's database (the db fixture's requests all share one
    open transaction, which is what this test must not have), removed afterwards."""
    code = f"commit-{uuid.uuid4().hex[:8]}"
    app.config["AGENCY_ADAPTERS"] = {code: {"adapter": "local"}}
    database = app.extensions["portal.db"]
    with app.app_context(), database.write_transaction() as session:
        agency_id = session.scalar(
            insert(Agency)
            .values(code=code, name_zh="提交水务", name_en="Committed Water", category=AgencyCategory.WATER)
            .returning(Agency.id)
        )
        session.execute(
            insert(Bill).values(
                agency_id=agency_id,
                bill_no="K-1",
                account_reference="6100200300",
                payer_name="王小五",
                amount_fen=1_234,
            )
        )
    yield code
    with app.app_context(), database.write_transaction() as session:
        session.execute(delete(Bill).where(Bill.agency_id == agency_id))
        session.execute(delete(Agency).where(Agency.id == agency_id))


def test_an_anonymous_lookup_opens_no_transaction_on_postgresql(app, committed_water, backend):
    engine = app.extensions["portal.db"].engine
    client = app.test_client()
    client.get("/language/en")
    url = f"/bills/{committed_water}?account_reference=6100200300"
    client.get(url)  # reads the agency row into the process's copy
    statements = []

    def on_execute(connection, _cursor, statement, *_args) -> None:
        statements.append((statement, getattr(connection.connection.dbapi_connection, "autocommit", None)))

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        page = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)

    assert "K-1" in page and "¥12.34" in page and "王*五" in page
    queries = [(sql, autocommit) for sql, autocommit in statements if sql != "BEGIN"]  # SQLite's own
    assert len(queries) == 1 and "FROM bills JOIN agencies" in queries[0][0]
    if backend == "postgresql":
        assert statements == queries and queries[0][1] is True  # autocommit: no BEGIN / COMMIT round trips
