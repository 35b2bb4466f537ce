"""Review and confirm lock a wallet and ask agencies again: RATELIMIT_PAYMENT per resident."""

from tests.conftest import csrf_token_from
from tests.payments.conftest import lookup_page


def test_review_beyond_the_limit_gets_the_friendly_429_page(app, client, water, resident):
    app.config["RATELIMIT_PAYMENT"] = "2 per minute"
    token = csrf_token_from(lookup_page(client))

    responses = [client.post("/payments/review", data={"csrf_token": token}) for _ in range(3)]

    assert [r.status_code for r in responses] == [302, 302, 429]
    page = responses[-1].get_data(as_text=True)
    assert "Too many requests" in page and "Wait a minute and try again" in page


def test_confirm_is_limited_too(app, client, water, resident):
    app.config["RATELIMIT_PAYMENT"] = "1 per minute"
    token = csrf_token_from(lookup_page(client))

    statuses = [client.post("/payments/confirm", data={"csrf_token": token}).status_code for _ in range(2)]

    assert statuses == [302, 429]
