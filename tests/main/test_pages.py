import pytest

from tests.conftest import submit
from tests.factories import AgencyFactory


def test_home_page_is_chinese_by_default(client, db):
    page = client.get("/").get_data(as_text=True)

    assert '<html lang="zh-CN">' in page
    assert "城市便民缴费平台" in page


def test_language_switch_to_english_and_back(client, db):
    response = client.get("/language/en?next=/account/login")
    assert response.status_code == 302 and response.headers["Location"] == "/account/login"

    page = client.get("/account/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "City Bill Payment Portal" in page

    client.get("/language/zh_CN")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_language_switch_ignores_unknown_locales_and_foreign_redirects(client, db):
    response = client.get("/language/fr?next=//evil.example/")

    assert response.headers["Location"] == "/"
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("locale", "text"), [("zh_CN", "页面不存在"), ("en", "Page not found")])
def test_friendly_404_in_both_languages(client, db, locale, text):
    client.get(f"/language/{locale}")

    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_form_without_csrf_token_is_rejected_with_a_clear_page(client, db):
    client.get("/language/en")

    response = client.post("/account/register", data={"identifier": "13800138000", "password": "x" * 12})

    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_refused_form_page_still_carries_a_request_reference(client, db):
    response = client.post("/account/login", data={}, headers={"X-Request-ID": "csrf-ref-0001"})

    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "csrf-ref-0001"
    assert "csrf-ref-0001" in response.get_data(as_text=True)


def test_form_with_a_forged_csrf_token_is_rejected(client, db):
    response = client.post(
        "/account/login", data={"identifier": "13800138000", "password": "x", "csrf_token": "forged"}
    )

    assert response.status_code == 400


def test_security_headers(client, db):
    response = client.get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert len(response.headers["X-Request-ID"]) >= 8


def test_pages_have_no_inline_script(client, db):
    for path in ("/", "/account/login", "/account/register"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick" not in page.lower(), path


def test_session_cookie_flags(client, db):
    submit(client, "/account/login", {"identifier": "nobody@example.cn", "password": "whatever it is"})
    cookie = client.get_cookie("portal_session")

    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_incoming_request_id_is_echoed(client, db):
    response = client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"})

    assert response.headers["X-Request-ID"] == "abc12345-trace"


def test_healthz_says_the_process_answers_even_without_a_database(make_config_app):
    response = make_config_app.test_client().get("/healthz")

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.fixture
def make_config_app(tmp_path):
    from portal import create_app
    from tests.conftest import make_config

    missing = tmp_path / "missing-dir" / "db.sqlite3"
    app = create_app(make_config(f"sqlite:///{missing}"))
    yield app
    app.extensions["portal.db"].dispose()


def test_home_page_agencies_that_can_be_looked_up_link_to_their_lookup(app, client, db):
    app.config["AGENCY_ADAPTERS"] = {"home-water": {"adapter": "local"}}
    AgencyFactory(code="home-water", name_zh="首页水务")
    AgencyFactory(code="home-gas", name_zh="首页燃气")  # enabled, but no adapter serves it
    db.flush()

    page = client.get("/").get_data(as_text=True)

    assert '<a href="/bills/home-water">首页水务</a>' in page
    assert "首页燃气" in page and 'href="/bills/home-gas"' not in page
