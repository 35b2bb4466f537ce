from datetime import timedelta

import pytest

from portal.bills.models import SavedAccount
from portal.bills.services import save_account
from portal.clock import business_day
from portal.db import utcnow
from tests.factories import AgencyFactory, BillFactory

ACCOUNT = "5100200300"


def today():
    return business_day(utcnow())


@pytest.fixture
def note_water(app, db):
    """An agency whose bills the portal holds (local adapter)."""
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "note-water": {"adapter": "local"}}
    return AgencyFactory(code="note-water", name_zh="提醒水务", name_en="Reminder Water")


def bill(agency, bill_no: str, due_in_days: int | None, amount_fen: int = 3_000):
    due = today() + timedelta(days=due_in_days) if due_in_days is not None else None
    return BillFactory(
        agency=agency, account_reference=ACCOUNT, bill_no=bill_no, amount_fen=amount_fen, due_date=due
    )


def saved_account(app, db, user, agency, nickname: str = "家里") -> SavedAccount:
    with app.app_context():
        account = save_account(db, user, agency, {"account_reference": ACCOUNT}, nickname)
        db.flush()  # the account's id names its reminders
    return account


def sent(app) -> list:
    """What the notifier was handed, oldest first."""
    return list(reversed(app.extensions["portal.notifier"].messages()))


def work(app, now=None) -> int:
    """One pass of the worker: the scans, then every due outbox message."""
    from portal import worker

    with app.app_context():
        database = app.extensions["portal.db"]
        if now is not None:
            worker.scan(database, now)
            from portal import outbox

            return outbox.run(database, worker.HANDLERS, once=True)
        return worker.run(database, once=True)
