"""The audit log's hash chain: intact when untouched; an edited, removed or reordered entry is named by
`flask --app portal audit verify`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select, update

from portal import create_app
from portal.audit.models import AuditEvent
from portal.audit.services import chain_problems, record
from tests.conftest import make_config


@pytest.fixture
def five_entries(db):
    entries = [record(db, "user:7", "payment.paid", f"payment:P{n}", total_fen=100 * n) for n in range(1, 6)]
    db.flush()  # the entries get their ids, which the tampering below names
    return entries


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


def test_an_untouched_chain_is_intact(runner, db, five_entries):
    first = five_entries[0].seq  # other tests may have committed entries before
    assert [event.seq for event in five_entries] == list(range(first, first + 5))
    assert [e.prev_hash for e in five_entries[1:]] == [e.hash for e in five_entries[:-1]]
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output


def test_an_edited_entry_is_named(runner, db, five_entries):
    target = five_entries[2]
    db.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(details_json='{"total_fen": 1}'))

    problems = list(chain_problems(db))
    result = _verify(runner)

    assert [(p.seq, p.event_id) for p in problems] == [(target.seq, target.id)]
    assert "was changed" in problems[0].problem
    assert result.exit_code == 1
    assert f"entry {target.seq} (id {target.id}): was changed" in result.output


def test_an_entry_edited_with_its_hash_recomputed_breaks_the_next_link(db, five_entries):
    from portal.audit.chain import entry_hash

    target = five_entries[1]
    forged = entry_hash(
        target.seq,
        target.at,
        target.actor,
        target.action,
        "payment:FORGED",
        target.details_json,
        target.prev_hash,
    )
    db.execute(
        update(AuditEvent).where(AuditEvent.id == target.id).values(subject="payment:FORGED", hash=forged)
    )

    problems = list(chain_problems(db))

    assert [(p.seq, p.event_id) for p in problems] == [(five_entries[2].seq, five_entries[2].id)]
    assert "does not follow" in problems[0].problem


def test_a_removed_entry_is_named(db, five_entries):
    gone = five_entries[3]
    db.execute(delete(AuditEvent).where(AuditEvent.id == gone.id))

    problems = list(chain_problems(db))

    assert [p.seq for p in problems] == [gone.seq]
    assert problems[0].problem == f"entries {gone.seq} to {gone.seq} are missing"


def test_the_newest_entry_removed_is_noticed(db, five_entries):
    db.execute(delete(AuditEvent).where(AuditEvent.id == five_entries[-1].id))

    problems = list(chain_problems(db))

    assert len(problems) == 1 and f"entries after {five_entries[-2].seq} are missing" in problems[0].problem


def test_an_entry_slipped_in_past_the_head_is_named(db, five_entries):
    last = five_entries[-1]
    db.add(
        AuditEvent(
            seq=last.seq + 1,
            at=last.at,
            actor="user:7",
            action="payment.paid",
            subject="payment:P9",
            details_json="{}",
            prev_hash=last.hash,
            hash="0" * 64,
        )
    )
    db.flush()

    problems = [problem.problem for problem in chain_problems(db)]

    assert problems == [f"entries {last.seq + 1} to {last.seq + 1} are not in the chain"]


def test_two_entries_swapped_are_named(db, five_entries):
    (first_id, first_seq), (second_id, second_seq) = [(e.id, e.seq) for e in five_entries[1:3]]
    events = AuditEvent.__table__  # plain SQL, as someone editing the table would
    db.execute(events.update().where(events.c.id == first_id).values(seq=-1))
    db.execute(events.update().where(events.c.id == second_id).values(seq=first_seq))
    db.execute(events.update().where(events.c.id == first_id).values(seq=second_seq))

    named = {p.event_id for p in chain_problems(db)}

    assert named >= {first_id, second_id}


def test_concurrent_appends_form_one_unbroken_chain(make_database):
    url = make_database()
    app = create_app(make_config(url))
    database = app.extensions["portal.db"]

    def append(n: int) -> None:
        for step in range(10):
            with database.write_transaction() as session:
                record(session, f"user:{n}", "test.append", f"thing:{n}-{step}")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(append, range(8)))
        with database.sessionmaker() as session:
            seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
            assert seqs == list(range(1, 81))
            assert list(chain_problems(session)) == []
    finally:
        database.dispose()
