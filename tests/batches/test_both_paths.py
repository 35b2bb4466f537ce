"""The two ways a batch meets the stored bills give the same results: chunk by chunk in Python (SQLite,
and any commit without kept rows), and on PostgreSQL the checked rows kept by COPY at the preview,
compared and applied in SQL. Each test runs both ways on the database under test (``--db``); on SQLite
both are the chunked way, and the expected figures below are the same for both databases."""

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.batches import applying, checking, comparing, services, staging
from portal.batches.models import Batch, BatchRow, BatchStatus
from portal.batches.rows import check_row, map_header, row_checker
from portal.bills.models import Bill, StoredBillStatus
from portal.errors import ValidationFailed
from tests.batches.test_batches import HEADER, bills, commit, upload
from tests.conftest import login
from tests.factories import AgencyFactory, BillFactory, ClerkFactory

# Lines 2-14 of a file with every kind of row, over several chunks (CHUNK is 3 here).
MIXED = (
    "P-1,3100200300,张小三,50.00,,,,\n"  # 2: changes a paid bill: refused
    "B 3,3100200301,李四,10,,,,\n"  # 3: bad bill number
    "C-1,3100200302,李四,12.00,,2026-12-15,2026-11,\n"  # 4: changes an unpaid bill
    "U-1,3100200303,王五,20.00,0,2026-12-01,2026-11,水费\n"  # 5: as stored
    "N-1,3100200304,赵六,46.80,1.40,2026-12-15,2026-11,居民生活用水\n"  # 6: new
    "N-1,3100200305,赵六,46.80,,,,\n"  # 7: same number as line 6
    'N-2,３１００２００３０６,孙七,¥１２３.００,"1,000",2026年12月1日,,=SUM(A1)\n'  # 8: new, unusual forms
    "N-3,31-00,,0,,2026-02-30,,\n"  # 9: four errors
    "P-2,3100200308,周八,88.50,,,2026-10,水费\n"  # 10: a paid bill, as stored: unchanged
    " , , , , , , , \n"  # 11: blank, skipped
    "N-4,3100200309,吴九,0.5,,20261231,,\n"  # 12: new
    "C-2,3100200310,郑十,9.99,,,,\n"  # 13: changes an unpaid bill (late fee and period)
    "P-3,3100200311,钱一,1.00,,,,\n"  # 14: changes a paid bill: refused
)
EXPECTED_ERRORS = [  # (line, column)
    (2, "账单号"),
    (3, "账单号"),
    (7, "账单号"),
    (9, "户号"),
    (9, "缴费人"),
    (9, "金额"),
    (9, "缴费截止日"),
    (14, "账单号"),
]
VALID = (
    "C-1,3100200302,李四,12.00,,2026-12-15,2026-11,\n"
    "U-1,3100200303,王五,20.00,0,2026-12-01,2026-11,水费\n"
    "N-1,3100200304,赵六,46.80,1.40,2026-12-15,2026-11,居民生活用水\n"
    'N-2,３１００２００３０６,孙七,¥１２３.００,"1,000",2026年12月1日,,=SUM(A1)\n'
    "P-2,3100200308,周八,88.50,,,2026-10,水费\n"
    "N-4,3100200309,吴九,0.5,,20261231,,\n"
    "C-2,3100200310,郑十,9.99,,,,\n"
)


def stored_bills(agency) -> None:
    paid = StoredBillStatus.PAID
    BillFactory(agency=agency, bill_no="P-1", account_reference="3100200300", amount_fen=4_000, status=paid)
    BillFactory(
        agency=agency, bill_no="C-1", account_reference="3100200302", payer_name="李四", amount_fen=1_000
    )
    BillFactory(
        agency=agency,
        bill_no="U-1",
        account_reference="3100200303",
        payer_name="王五",
        amount_fen=2_000,
        due_date=date(2026, 12, 1),
        period="2026-11",
        description="水费",
    )
    BillFactory(
        agency=agency,
        bill_no="P-2",
        account_reference="3100200308",
        payer_name="周八",
        amount_fen=8_850,
        period="2026-10",
        description="水费",
        status=paid,
    )
    BillFactory(
        agency=agency,
        bill_no="C-2",
        account_reference="3100200310",
        payer_name="郑十",
        amount_fen=999,
        late_fee_fen=5,
        description="",
    )
    BillFactory(agency=agency, bill_no="P-3", account_reference="3100200311", amount_fen=100, status=paid)


@pytest.fixture
def two_agencies(app, db):
    """Two agencies holding the same bills, one for each way."""
    adapters = {code: {"adapter": "local"} for code in ("water-a", "water-b")}
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], **adapters}
    agencies = [AgencyFactory(code="water-a"), AgencyFactory(code="water-b")]
    for agency in agencies:
        stored_bills(agency)
    return agencies


def run(app, db, agency, content: bytes, monkeypatch, *, staged: bool, load: bool = False):
    """Preview (and commit) as the pages do, one way or the other."""
    clerk = ClerkFactory(agency=agency)
    with monkeypatch.context() as patch:
        for module in (checking, comparing, applying):  # each step that works a chunk at a time
            patch.setattr(module, "CHUNK", 3)
        if not staged:
            patch.setattr(staging, "stages", lambda session: False)
        with app.test_request_context():
            batch = services.upload(db, clerk, agency, "bills.csv", content)
            kept = db.scalar(select(func.count()).select_from(BatchRow).where(BatchRow.batch_id == batch.id))
            if load:
                services.commit(db, clerk, agency, batch.upload_id)
    return batch, kept


def preview_of(batch) -> dict:
    return {
        "counts": (batch.rows_new, batch.rows_changed, batch.rows_unchanged, batch.rows_invalid),
        "errors": services.row_errors(batch),
        "changes": services.bill_changes(batch),
        "samples": services.first_new_bills(batch),
    }


def test_a_file_with_every_kind_of_row_previews_the_same_both_ways(app, db, two_agencies, monkeypatch):
    content = (HEADER + MIXED).encode()
    chunked, _ = run(app, db, two_agencies[0], content, monkeypatch, staged=False)
    staged, kept = run(app, db, two_agencies[1], content, monkeypatch, staged=True)

    assert preview_of(staged) == preview_of(chunked)
    result = preview_of(staged)
    assert result["counts"] == (3, 2, 2, 5)  # new N-1 N-2 N-4; changed C-1 C-2; unchanged U-1 P-2
    assert [(e["line"], e["column"]) for e in result["errors"]] == EXPECTED_ERRORS  # in line order
    assert "P-1" in result["errors"][0]["message"] and "P-3" in result["errors"][-1]["message"]
    assert "N-1" in result["errors"][2]["message"] and "6" in result["errors"][2]["message"]
    assert [c["bill_no"] for c in result["changes"]] == ["C-1", "C-2"]
    assert result["changes"][1]["changes"] == {
        "late_fee_fen": ["5", "0"],
        "period": ["2026-10", ""],
    }
    assert [s["bill_no"] for s in result["samples"]] == ["N-1", "N-2", "N-4"]
    assert result["samples"][1] == {
        "line": "8",
        "bill_no": "N-2",
        "account_reference": "3100200306",
        "payer_name": "孙七",
        "amount_fen": "12300",
        "late_fee_fen": "100000",
        "due_date": "2026-12-01",
        "period": "",
        "description": "=SUM(A1)",
    }
    assert kept == 0  # a batch with errors cannot be committed: its rows are not kept


def loaded(db, agency) -> dict[str, tuple]:
    columns = (*comparing.COMPARED, "status")
    return {
        bill.bill_no: tuple(getattr(bill, name) for name in columns) for bill in bills(db, agency).values()
    }


def test_a_file_loads_the_same_both_ways_and_its_kept_rows_go(app, db, two_agencies, monkeypatch):
    content = (HEADER + VALID).encode()
    chunked, _ = run(app, db, two_agencies[0], content, monkeypatch, staged=False, load=True)
    staged, kept = run(app, db, two_agencies[1], content, monkeypatch, staged=True, load=True)

    assert kept == (7 if staging.stages(db) else 0)  # at the preview: every row of the file

    for batch in (chunked, staged):
        assert batch.status is BatchStatus.COMMITTED and batch.content is None
        assert (batch.rows_new, batch.rows_changed, batch.rows_unchanged, batch.rows_invalid) == (3, 2, 2, 0)
    assert loaded(db, two_agencies[1]) == loaded(db, two_agencies[0])
    stored = bills(db, two_agencies[1])
    assert stored["N-2"].amount_fen == 12_300 and stored["N-2"].account_reference == "3100200306"
    assert stored["C-2"].late_fee_fen == 0 and stored["C-2"].period == ""
    assert {bill_no for bill_no, bill in stored.items() if bill.batch_id == staged.id} == {
        "N-1",
        "N-2",
        "N-4",
        "C-1",
        "C-2",
    }  # new and changed bills name the batch; unchanged ones keep theirs
    assert db.scalar(select(func.count()).select_from(BatchRow)) == 0


@pytest.mark.parametrize("staged", [True, False])
def test_a_bill_paid_between_preview_and_commit_refuses_the_whole_commit(
    app, db, two_agencies, monkeypatch, staged
):
    agency = two_agencies[0]
    batch, _ = run(app, db, agency, (HEADER + VALID).encode(), monkeypatch, staged=staged)
    before = loaded(db, agency)
    db.execute(Bill.__table__.update().where(Bill.bill_no == "C-2").values(status="paid"))

    with app.test_request_context():
        with pytest.raises(ValidationFailed) as refused:
            services.commit(db, ClerkFactory(agency=agency), agency, batch.upload_id)
        assert refused.value.message == applying._changed_since_preview().message

    after = loaded(db, agency)
    assert after == {**before, "C-2": (*before["C-2"][:-1], StoredBillStatus.PAID)}  # nothing applied


def test_a_failure_after_every_bill_is_applied_leaves_no_bill_changed(client, db, monkeypatch):
    agency = AgencyFactory(code="water-batch")
    client.application.config["AGENCY_ADAPTERS"] = {
        **client.application.config["AGENCY_ADAPTERS"],
        "water-batch": {"adapter": "local"},
    }
    stored_bills(agency)
    clerk = ClerkFactory(agency=agency)
    client.get("/language/en")
    login(client, clerk.email)
    before = loaded(db, agency)
    location = upload(client, (HEADER + VALID).encode()).location
    real_record = applying.record

    def fail_when_committed(session, actor, action, *args, **kwargs):
        if action == "batch.committed":
            raise RuntimeError("the database went away")  # injected after every bill was applied
        return real_record(session, actor, action, *args, **kwargs)

    monkeypatch.setattr(applying, "record", fail_when_committed)
    assert commit(client, location).status_code == 500
    assert loaded(db, agency) == before
    assert db.scalar(select(Batch.status)) is BatchStatus.PREVIEWED

    monkeypatch.setattr(applying, "record", real_record)
    assert commit(client, location).status_code == 302  # the kept rows are still there to load
    assert set(bills(db, agency)) == {*before, "N-1", "N-2", "N-4"}


def test_kept_rows_of_old_previews_expire_and_the_batch_still_loads_from_its_file(
    app, db, two_agencies, monkeypatch
):
    agency = two_agencies[0]
    old, kept = run(app, db, agency, (HEADER + VALID).encode(), monkeypatch, staged=True)
    assert kept == (7 if staging.stages(db) else 0)
    db.execute(
        Batch.__table__.update()
        .where(Batch.id == old.id)
        .values(created_at=old.created_at - staging.STAGED_FOR - timedelta(minutes=1))
    )
    other = "X-1,3100200399,王五,1.00,,,,\n"
    _, kept = run(app, db, agency, (HEADER + other).encode(), monkeypatch, staged=True)  # expires the old

    assert db.scalar(select(func.count()).select_from(BatchRow)) == kept
    with app.test_request_context():
        services.commit(db, ClerkFactory(agency=agency), agency, old.upload_id)
    assert {"N-1", "N-2", "N-4"} <= set(bills(db, agency)) and bills(db, agency)["C-1"].amount_fen == 1_200


def test_the_quick_row_check_gives_what_the_full_one_gives(app):
    header = tuple(HEADER.strip().split(","))
    positions, _ = map_header(header)
    quick = row_checker(positions, header)
    amounts = [
        "46.80",
        "0",
        "0.5",
        "00.01",
        "5.",
        "1,234.50",
        "１２３.００",
        "¥88",
        " 5 ",
        "1e3",
        "12.345",
        "-1",
    ]
    amounts += ["999999999999.99", "9999999999999", "0000000000001", ""]
    dates = [
        "2026-12-15",
        "2026/1/5",
        "2026-02-30",
        "20261215",
        "2026年12月15日",
        "2026.12.15",
        "２０２６-12-15",
        "",
    ]
    accounts = ["3100200300", "abc123x", "３１００２００３００", "31-00"]
    with app.test_request_context():
        for amount, late, due, account in itertools.product(amounts, amounts, dates, accounts):
            for cells in (
                ("B-1", account, "张三", amount, late, due, "2026-11", "x"),
                ("B-1", account, "张三", amount),  # a short row
                ("B 1", account, "", amount, late, due, "p" * 21, "x", "extra"),
            ):
                assert quick(2, cells) == check_row(2, cells, positions, header), cells
