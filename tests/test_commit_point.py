"""The one commit point: work is stored when the view succeeds and rolled back when it fails."""

from sqlalchemy import select

from portal.agencies.models import Agency, AgencyCategory
from portal.db import get_session


def add_agency(code: str) -> None:
    get_session().add(Agency(code=code, name_zh="测试", name_en="Test", category=AgencyCategory.GAS))


def test_successful_view_is_committed_and_failures_are_rolled_back(app, db):
    def succeeds():
        add_agency("committed")
        return "ok"

    def not_found():
        add_agency("after-404")
        return "missing", 404

    def crashes():
        add_agency("after-crash")
        raise RuntimeError("boom")

    for view in (succeeds, not_found, crashes):
        app.add_url_rule(f"/test/{view.__name__}", view.__name__, view)
    client = app.test_client()

    assert client.get("/test/succeeds").status_code == 200
    assert client.get("/test/not_found").status_code == 404
    crashed = client.get("/test/crashes")

    assert crashed.status_code == 500
    codes = set(db.scalars(select(Agency.code)))
    assert "committed" in codes
    assert "after-404" not in codes and "after-crash" not in codes


def test_friendly_500_page_shows_the_request_reference(app, db):
    def crashes():
        raise RuntimeError("internal detail that must not leak")

    app.add_url_rule("/test/crash", "crash", crashes)
    client = app.test_client()
    client.get("/language/en")

    response = client.get("/test/crash", headers={"X-Request-ID": "ref-12345678"})

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Nothing you submitted has been changed" in page
    assert "ref-12345678" in page
    assert "internal detail" not in page and "Traceback" not in page
