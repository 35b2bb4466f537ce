import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.batches import applying, checking, staging
from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.bills.models import Bill, StoredBillStatus
from tests.conftest import csrf_token_from, login, logout
from tests.factories import AgencyFactory, BillFactory, ClerkFactory

HEADER = "账单号,户号,缴费人,金额,滞纳金,缴费截止日,账期,说明\n"
ROWS = (
    "B-1,3100200300,张小三,46.80,1.40,2026-12-15,2026-11,居民生活用水\n"
    'B-2,3100200301,李四,"1,234.50",,2026年12月20日,2026-11,\n'
)


@pytest.fixture
def agency(app, db):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "water-batch": {"adapter": "local"}}
    return AgencyFactory(code="water-batch", name_en="Batch Water")


@pytest.fixture
def clerk(client, agency):
    user = ClerkFactory(agency=agency)
    client.get("/language/en")
    login(client, user.email)
    return user


def upload(client, content: bytes, name: str = "bills.csv"):
    page = client.get("/agencies/water-batch/batches/").get_data(as_text=True)
    data = {"file": (io.BytesIO(content), name), "csrf_token": csrf_token_from(page)}
    return client.post("/agencies/water-batch/batches/", data=data, content_type="multipart/form-data")


def commit(client, location: str):
    page = client.get(location).get_data(as_text=True)
    return client.post(f"{location}/commit", data={"csrf_token": csrf_token_from(page)})


def bills(db, agency) -> dict[str, Bill]:
    return {bill.bill_no: bill for bill in db.scalars(select(Bill).where(Bill.agency_id == agency.id))}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_each_encoding_previews_and_commits_without_garbling(client, db, agency, clerk, encoding):
    response = upload(client, (HEADER + ROWS).encode(encoding))

    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "New bills" in page and db.scalar(select(func.count()).select_from(Bill)) == 0  # nothing yet
    assert "张小三" in page and "¥1,234.50" in page  # the first bills as read: not garbled
    assert commit(client, response.location).status_code == 302
    stored = bills(db, agency)
    assert stored["B-1"].payer_name == "张小三" and stored["B-1"].amount_fen == 4_680
    assert stored["B-2"].amount_fen == 123_450 and str(stored["B-2"].due_date) == "2026-12-20"


def test_an_excel_workbook_is_read_from_its_first_sheet(client, db, agency, clerk):
    book = Workbook()
    sheet = book.active
    sheet.append(["账单号/Bill number", "户号/Account number", "缴费人/Payer", "金额/Amount"])
    sheet.append(["X-1", "3100200300", "王五", 88.5])
    sheet.append(["X-2", "3100200302", "赵六", "¥１２３.００"])
    buffer = io.BytesIO()
    book.save(buffer)

    location = upload(client, buffer.getvalue(), "bills.xlsx").location
    commit(client, location)

    stored = bills(db, agency)
    assert stored["X-1"].amount_fen == 8_850 and stored["X-2"].amount_fen == 12_300


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "bills.csv", "not a CSV or Excel file"),
        (b"\x7fELF\x02\x01" + b"\x00" * 100, "bills.csv", "not a CSV or Excel file"),
        (b"", "bills.csv", "empty"),
        ("账单号,金额\n".encode() + b"\xff\xfe\xfa\n", "bills.csv", "could not be read"),
        ("账单号,户号\nB-1,3100200300\n".encode(), "bills.csv", "is missing"),
        ((HEADER + ROWS * 100 + "B-9,3100200309,王五,1,,,,x\x00y\n").encode(), "bills.csv", "not a CSV"),
    ],
)
def test_hostile_or_broken_files_are_refused_with_a_message(
    client, db, agency, clerk, content, name, message
):
    response = upload(client, content, name)

    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Batch)) == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_macro_workbooks_and_zip_bombs_are_refused(app, client, db, agency, clerk):
    macro = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>", "xl/vbaProject.bin": b"\0"})
    assert "macros" in upload(client, macro, "bills.xlsx").get_data(as_text=True)
    app.config["BATCH_MAX_UNCOMPRESSED_BYTES"] = 1_000_000
    bomb = _zip({"xl/workbook.xml": b"<x/>", "xl/worksheets/sheet1.xml": b"0" * 5_000_000})  # 5 MB of zeros
    assert len(bomb) < 50_000
    assert "unpacks to more than the size limit" in upload(client, bomb, "bills.xlsx").get_data(as_text=True)


def test_every_row_error_is_named_by_line_and_column_and_nothing_loads(client, db, agency, clerk):
    rows = (
        "B-1,3100200300,张小三,46.80,,2026-12-15,,\n"
        "B-1,3100200301,李四,10,,,,\n"  # the same bill number twice
        "B 3,3100200302,王五,10,,,,\n"  # a space in the bill number
        "B-4,31-00,王五,10,,,,\n"  # account number
        "B-5,3100200304,,10,,,,\n"  # payer missing
        "B-6,3100200305,赵六,1e309,,,,\n"  # not an amount
        "B-7,3100200306,赵六,0,,,,\n"  # zero
        "B-8,3100200307,赵六,12.345,,,,\n"  # fractional fen
        "B-9,3100200308,赵六,10,,2026-02-30,,\n"  # no such date
    )
    response = upload(client, (HEADER + rows).encode())
    page = client.get(response.location).get_data(as_text=True)

    for text in [
        "also on line 2",
        "bill number of letters",
        "account number of 6 to 20",
        "payer&#39;s name",
        "is not an amount",
        "more than zero",
        "12.345 is not an amount",
        "2026-02-30 is not a date",
    ]:
        assert text in page, text
    assert "Load these bills" not in page
    report = client.get(f"{response.location}/errors.csv").get_data(as_text=True)
    assert report.startswith("\ufeffLine,Column,Problem") and "\n3,账单号," in report.replace("\r", "")
    assert commit(client, response.location).status_code == 409
    assert bills(db, agency) == {}


def test_a_batch_that_would_change_a_paid_bill_is_refused(client, db, agency, clerk):
    BillFactory(
        agency=agency,
        bill_no="B-1",
        account_reference="3100200300",
        amount_fen=100,
        status=StoredBillStatus.PAID,
    )

    response = upload(client, (HEADER + ROWS).encode())

    assert "already paid or being paid" in client.get(response.location).get_data(as_text=True)


def test_changes_are_shown_against_the_stored_bill_before_loading(client, db, agency, clerk):
    BillFactory(
        agency=agency,
        bill_no="B-1",
        account_reference="3100200300",
        payer_name="张小三",
        amount_fen=4_000,
        late_fee_fen=140,
        period="2026-11",
        description="居民生活用水",
    )
    response = upload(client, (HEADER + ROWS).encode())
    page = client.get(response.location).get_data(as_text=True)

    assert "Changes to stored bills" in page and "4000" in page and "4680" in page
    commit(client, response.location)
    assert bills(db, agency)["B-1"].amount_fen == 4_680


def test_a_failure_in_the_middle_of_a_commit_changes_no_bill(client, db, agency, clerk, monkeypatch):
    response = upload(client, (HEADER + ROWS).encode())
    # The commit that reads the file again (SQLite's, and PostgreSQL's once a preview's kept rows have
    # expired); test_both_paths.py injects a failure into the one that applies the kept rows.
    monkeypatch.setattr(staging, "stages", lambda session: False)
    for module in (checking, applying):  # one insert per bill, so the failure falls between them
        monkeypatch.setattr(module, "CHUNK", 1)
    calls = []
    real_values = applying._values

    def fail_on_the_second(row):
        calls.append(row)
        if len(calls) == 2:
            raise RuntimeError("the database went away")  # injected between the two inserts
        return real_values(row)

    monkeypatch.setattr(applying, "_values", fail_on_the_second)

    assert commit(client, response.location).status_code == 500
    assert bills(db, agency) == {}
    assert db.scalar(select(Batch.status)) is BatchStatus.PREVIEWED


def test_re_uploading_a_committed_file_says_when_and_by_whom(client, db, agency, clerk):
    commit(client, upload(client, (HEADER + ROWS).encode()).location)

    again = upload(client, (HEADER + ROWS).encode())
    page = client.get(again.location).get_data(as_text=True)

    assert "This file was already loaded on" in page and clerk.email in page


def test_withdrawing_cancels_unpaid_bills_and_keeps_paid_ones(client, db, agency, clerk):
    location = upload(client, (HEADER + ROWS).encode()).location
    commit(client, location)
    db.execute(Bill.__table__.update().where(Bill.bill_no == "B-1").values(status="paid"))
    page = client.get(location).get_data(as_text=True)

    response = client.post(f"{location}/withdraw", data={"csrf_token": csrf_token_from(page)})

    assert "1 unpaid bills were cancelled; 1 paid bills stay" in client.get(response.location).get_data(
        as_text=True
    )
    stored = bills(db, agency)
    assert (
        stored["B-1"].status is StoredBillStatus.PAID and stored["B-2"].status is StoredBillStatus.CANCELLED
    )


def test_formula_cells_are_stored_as_text_and_neutralised_in_the_error_report(client, db, agency, clerk):
    bad = "B-1,3100200300,@SUM(A1),=1+2,,,,\n"  # a formula where the amount goes
    good = 'B-2,3100200301,李四,10,,,,"=HYPERLINK(""x"")"\n'
    location = upload(client, (HEADER + bad).encode()).location

    report = client.get(f"{location}/errors.csv").get_data(as_text=True)
    assert "'=1+2 is not an amount" in report  # a spreadsheet shows it as text, never runs it
    commit(client, upload(client, (HEADER + good).encode()).location)
    assert bills(db, agency)["B-2"].description == '=HYPERLINK("x")'


def test_a_clerk_of_another_agency_gets_not_found(client, db, agency, clerk):
    location = upload(client, (HEADER + ROWS).encode()).location
    logout(client)
    other = ClerkFactory(agency=AgencyFactory(code="gas-batch"))
    login(client, other.email)

    assert client.get(location).status_code == 404
    assert client.get("/agencies/water-batch/batches/").status_code == 404
    page = client.get("/agencies/gas-batch/batches/").get_data(as_text=True)
    forged = client.post(f"{location}/commit", data={"csrf_token": csrf_token_from(page)})
    assert forged.status_code == 404 and bills(db, agency) == {}


def run_worker(app):
    from portal import outbox, worker

    with app.app_context():
        return outbox.run(app.extensions["portal.db"], worker.HANDLERS, once=True)


def test_a_large_file_is_checked_and_loaded_by_the_worker_with_progress(app, client, db, agency, clerk):
    app.config["BATCH_BACKGROUND_BYTES"] = 100  # every file here counts as large
    location = upload(client, (HEADER + ROWS).encode()).location

    page = client.get(location).get_data(as_text=True)
    assert "Being checked" in page and "data-batch-status" in page
    state = client.get(f"{location}/status.json").get_json()
    assert state["running"] is True and state["rows_estimate"] == 3
    assert run_worker(app) == 1
    state = client.get(f"{location}/status.json").get_json()
    assert state == {**state, "status": "previewed", "running": False, "progress_rows": 2}
    assert db.scalar(select(func.count()).select_from(BatchRow)) == (2 if staging.stages(db) else 0)

    response = commit(client, location)
    assert "being loaded" in client.get(response.location).get_data(as_text=True)
    assert bills(db, agency) == {}  # not yet: the worker loads it
    run_worker(app)
    assert set(bills(db, agency)) == {"B-1", "B-2"}
    assert client.get(f"{location}/status.json").get_json()["status"] == "committed"
    assert db.scalar(select(func.count()).select_from(BatchRow)) == 0


def test_a_large_file_that_fails_its_check_in_the_worker_says_why(app, client, db, agency, clerk):
    app.config["BATCH_BACKGROUND_BYTES"] = 100
    location = upload(client, (HEADER + ROWS).encode()).location
    app.config["BATCH_MAX_ROWS"] = 1  # the limit shrank before the worker got to it

    run_worker(app)

    page = client.get(location).get_data(as_text=True)
    # The worker has no reader's language: it writes the portal's first language, Chinese.
    assert "Could not be checked" in page and "文件超过 1 行" in page
    assert "Load these bills" not in page


def test_a_request_over_the_size_limit_gets_a_clear_page(app, client, db, agency, clerk):
    app.config["MAX_CONTENT_LENGTH"] = 2_000

    response = upload(client, (HEADER + ROWS * 40).encode())

    assert response.status_code == 413 and "larger than the size limit" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Batch)) == 0
