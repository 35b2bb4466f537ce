import re

import pytest

from portal.wallet.factory import wallet_service
from portal.wallet.owners import wallet_owner
from tests.conftest import csrf_token_from, login
from tests.factories import AgencyFactory, BillFactory, UserFactory

CARD = "6222020000000000018"
_QUOTE = re.compile(r'name="quote" value="([^"]+)"')
_BILL_BOX = re.compile(r'name="bill" id="([^"]*)" value="([^"]+)"')  # the id ends with the bill id


@pytest.fixture
def water(app, db):
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "water-pay": {"adapter": "local"}}
    agency = AgencyFactory(code="water-pay", name_zh="测试水务", name_en="Test Water")
    BillFactory(
        agency=agency, account_reference="3100200300", bill_no="W-1", amount_fen=4_680, late_fee_fen=140
    )
    BillFactory(agency=agency, account_reference="3100200300", bill_no="W-2", amount_fen=2_000)
    return agency


def fund(app, db, user, amount_fen: int) -> None:
    with app.app_context():
        wallet = wallet_service(db)
        owner = wallet_owner(user)
        wallet.open_wallet(owner, user.verification_tier.value)
        card = wallet.link_card(owner, CARD).reference
        wallet.top_up(owner, amount_fen, card=card, idempotency_key=f"fund-{owner}-{amount_fen}")


@pytest.fixture
def resident(app, client, db):
    user = UserFactory(phone="13900000001", real_name="张小三")
    fund(app, db, user, 50_000)
    client.get("/language/en")
    login(client, "13900000001")
    return user


def lookup_page(client, path="/bills/water-pay?account_reference=3100200300") -> str:
    return client.get(path).get_data(as_text=True)


def review(client, bill_ids=None, page=None, referer=None):
    """Tick bills on the lookup page (all payable ones by default) and post them for review."""
    html = page or lookup_page(client)
    boxes = _BILL_BOX.findall(html)  # the values are opaque: bills are told apart by the box's id
    if bill_ids is not None:
        boxes = [(box, t) for box, t in boxes if any(box.endswith(f"-{b}") for b in bill_ids)]
    tokens = [t for _box, t in boxes]
    headers = {"Referer": referer} if referer else {}
    return client.post(
        "/payments/review", data={"bill": tokens, "csrf_token": csrf_token_from(html)}, headers=headers
    )


def confirm_form(review_html: str) -> dict:
    return {"quote": _QUOTE.search(review_html).group(1), "csrf_token": csrf_token_from(review_html)}
