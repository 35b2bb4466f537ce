import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from portal import identity
from portal.accounts.models import User, VerificationTier
from tests.conftest import login, submit
from tests.factories import UserFactory

VALID_ID = "11010519491231002X"  # the example from GB 11643-1999


def with_check_character(first_17: str) -> str:
    return first_17 + identity.id_check_character(first_17)


def test_standard_example_has_a_valid_check_character():
    assert identity.national_id_problem(VALID_ID) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "check_digit"),
        ("11010519491231002", "shape"),
        ("1101051949123100XX", "shape"),
        ("110105194902300021", "birth_date"),
        ("110105299901010021", "birth_date"),
        ("000000194912310000", "region"),
        ("990000194912310000", "region"),
    ],
)
def test_invalid_numbers_say_why(number, problem):
    assert identity.national_id_problem(number, today=date(2026, 1, 1)) == problem


@given(
    st.from_regex(
        r"\A(11|31|44|50|65)(0[1-9]|[1-9]\d)\d{2}(19[5-9]\d|200\d)(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}\Z"
    )
)
def test_exactly_one_check_character_is_accepted(first_17):
    accepted = [c for c in "0123456789X" if identity.national_id_problem(first_17 + c) is None]
    assert accepted == [identity.id_check_character(first_17)]


def test_masking_shows_only_the_first_and_last_four():
    assert identity.mask_national_id("500101199001011234") == "5001**********1234"
    assert identity.mask_phone("13800138000") == "138****8000"
    assert identity.mask_name("张三丰") == "张*丰"
    assert identity.mask_name("张三") == "张*"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("12800138000", None),
        ("1380013800", None),
        ("phone", None),
    ],
)
def test_mainland_mobile_numbers(text, expected):
    assert identity.normalize_mobile(text) == expected


def test_verified_id_unlocks_the_tier_and_is_shown_masked(app, client, db):
    user = UserFactory(phone="13600000001")
    login(client, "13600000001")
    number = with_check_character("50010119900101123")

    response = submit(client, "/account/identity", {"real_name": "张三", "national_id": number.lower()})

    assert response.status_code == 302
    db.refresh(user)
    with app.app_context():
        assert user.national_id == number
    assert user.verification_tier is VerificationTier.ID_VERIFIED
    page = client.get("/account/").get_data(as_text=True)
    assert identity.mask_national_id(number) in page
    assert number not in page
    assert "张三" not in page and "张*" in page


def test_wrong_check_digit_is_refused_next_to_the_field(client, db):
    user = UserFactory(phone="13600000002")
    login(client, "13600000002")
    client.get("/language/en")

    response = submit(client, "/account/identity", {"real_name": "李四", "national_id": "110105194912310021"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="#national_id"' in page
    assert "last character does not match" in page
    assert "110105194912310021" not in page  # the typed number is not sent back into the field
    assert re.search(r'<input[^>]*name="national_id"[^>]*value=""', page)
    db.refresh(user)
    assert not user.has_national_id and user.verification_tier is VerificationTier.BASIC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三", "张三"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        (" John  Smith ", "John Smith"),
        ("张", None),
        ("<b>张三</b>", None),
        ("x'); DROP TABLE users", None),
        ("张\u202e三", None),
        ("张三😀", None),
    ],
)
def test_real_names(text, expected):
    assert identity.normalize_real_name(text) == expected


def test_full_width_input_from_a_chinese_keyboard_is_folded():
    assert identity.normalize_mobile("１３８００１３８０００") == "13800138000"
    assert identity.normalize_email("ｆｗa@Demo.gov.cn") == "fwa@demo.gov.cn"
    assert identity.normalize_national_id("１１０１０５１９４９１２３１００２ｘ") == VALID_ID


def test_verified_identity_cannot_be_replaced(app, client, db):
    with app.app_context():
        user = UserFactory(
            phone="13600000005",
            national_id=VALID_ID,
            real_name="张三",
            verification_tier=VerificationTier.ID_VERIFIED,
        )
    login(client, "13600000005")

    assert client.get("/account/identity").status_code == 302
    response = submit(
        client,
        "/account/identity",
        {"real_name": "李四", "national_id": "440524199001010018"},
        page="/account/password",
    )

    assert response.status_code == 302
    db.refresh(user)
    with app.app_context():
        assert user.national_id == VALID_ID and user.real_name == "张三"


def test_one_id_number_verifies_one_account(app, client, db):
    with app.app_context():
        UserFactory(phone="13600000003", national_id=VALID_ID)
    UserFactory(phone="13600000004")
    login(client, "13600000004")

    response = submit(client, "/account/identity", {"real_name": "王五", "national_id": VALID_ID})

    assert 'href="#national_id"' in response.get_data(as_text=True)
    assert not db.scalar(select(User).where(User.phone == "13600000004")).has_national_id
