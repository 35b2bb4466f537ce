"""The lookup page's per-process copy of agency rows: how long a copy lives and what clears it."""

from sqlalchemy import text, update

from portal.agencies.cache import AgencyCache
from portal.agencies.models import Agency, AgencyCategory
from tests.factories import AgencyFactory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """The session factory handed to the cache, counting how often the cache needs the database."""

    def __init__(self, session) -> None:
        self.session, self.count = session, 0

    def __call__(self):
        self.count += 1
        return self.session


def test_a_copy_is_served_until_it_expires(db):
    AgencyFactory(code="cached", name_zh="缓存水务", name_en="Cached Water", category=AgencyCategory.GAS)
    clock, reads = Clock(), Reads(db)
    cache = AgencyCache(seconds=2, clock=clock)

    first = cache.get(reads, "cached")
    second = cache.get(reads, "cached")
    clock.now += 2.5
    cache.get(reads, "cached")

    assert first is second and reads.count == 2
    assert (
        first.code == "cached"
        and first.name_for("zh_CN") == "缓存水务"
        and first.name_for("en") == "Cached Water"
    )
    assert first.category is AgencyCategory.GAS and first.is_enabled


def test_a_change_made_elsewhere_shows_within_the_bound(db):
    AgencyFactory(code="elsewhere")
    clock, reads = Clock(), Reads(db)
    cache = AgencyCache(seconds=2, clock=clock)
    cache.get(reads, "elsewhere")

    # As another process would: plain SQL, no ORM event in this one.
    db.execute(text("UPDATE agencies SET is_enabled = :off WHERE code = 'elsewhere'"), {"off": False})
    clock.now += 1
    stale = cache.get(reads, "elsewhere")
    clock.now += 1.5
    fresh = cache.get(reads, "elsewhere")

    assert stale.is_enabled and not fresh.is_enabled


def test_a_change_through_the_orm_in_this_process_clears_the_copies_at_once(db):
    agency = AgencyFactory(code="renamed", name_en="Old Name")
    reads = Reads(db)
    cache = AgencyCache(seconds=3600, clock=Clock())
    cache.get(reads, "renamed")

    agency.name_en, agency.is_enabled = "New Name", False
    db.flush()

    fresh = cache.get(reads, "renamed")
    assert fresh.name_en == "New Name" and not fresh.is_enabled and reads.count == 2


def test_an_orm_update_statement_clears_the_copies_at_once(db):
    AgencyFactory(code="bulk", name_en="Before")
    reads = Reads(db)
    cache = AgencyCache(seconds=3600, clock=Clock())
    cache.get(reads, "bulk")

    db.execute(update(Agency).where(Agency.code == "bulk").values(name_en="After"))

    assert cache.get(reads, "bulk").name_en == "After"


def test_a_change_rolled_back_does_not_stay_in_the_copy(db):
    agency = AgencyFactory(code="undone", name_en="Kept")
    reads = Reads(db)
    cache = AgencyCache(seconds=3600, clock=Clock())
    savepoint = db.begin_nested()
    agency.name_en = "Rolled Back"
    db.flush()
    assert cache.get(reads, "undone").name_en == "Rolled Back"

    savepoint.rollback()

    assert cache.get(reads, "undone").name_en == "Kept"


def test_unknown_codes_are_asked_again_each_time(db):
    reads = Reads(db)
    cache = AgencyCache(seconds=3600, clock=Clock())

    assert cache.get(reads, "not-yet") is None
    AgencyFactory(code="not-yet")

    assert cache.get(reads, "not-yet") is not None and reads.count == 2
