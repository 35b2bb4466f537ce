"""One operation raises one flag listing every rule it tripped; the flag stores codes and numbers, and
the pages and the CSV word them in the reader's language. Flags stored as an English sentence (before
findings were structured) still show that sentence."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.risk.checks import RiskBlocked, check
from portal.risk.findings import DETAIL_MAX, Hit, decode, encode, findings
from portal.risk.models import FlagStatus, RiskFlag
from portal.risk.rules import PAYMENT, TOP_UP
from tests.conftest import login
from tests.factories import AdminFactory, UserFactory

LEGACY = "one top_up of ¥6,000.00 (threshold ¥5,000.00)"


@pytest.fixture
def newcomer(db):
    """A resident whose account is two days old: a ¥6,000 top-up trips two default rules."""
    return UserFactory(real_name="王小明", created_at=utcnow() - timedelta(days=2))


def _flags(db) -> list[RiskFlag]:
    return list(db.scalars(select(RiskFlag).order_by(RiskFlag.id)))


def _in(app, locale: str):
    return app.test_request_context(headers={"Cookie": f"portal_lang={locale}"})


def test_one_operation_that_trips_two_rules_raises_one_flag(app, db, newcomer):
    with _in(app, "en"):
        flag = check(db, newcomer, TOP_UP, 600_000)
        seen = findings(flag)

    assert _flags(db) == [flag]
    assert (flag.rule, flag.blocked, flag.status) == ("single_amount", False, FlagStatus.OPEN)
    assert [(f.rule, f.blocks) for f in seen] == [("single_amount", False), ("new_account_top_up", False)]
    assert seen[0].text == "¥6,000.00 in one operation, at or over the threshold of ¥5,000.00."
    assert seen[1].text == "Top-up of ¥6,000.00 by an account 2 days old."
    assert json.loads(flag.detail)["hits"][1] == ["new_account_top_up", "flag", {"age_days": 2}]


def test_a_blocking_rule_among_them_blocks_the_one_flag(app, db, newcomer):
    rules = app.config["RISK_RULES"]
    app.config["RISK_RULES"] = {
        **rules,
        "new_account_top_up": {**rules["new_account_top_up"], "action": "block"},
    }

    with _in(app, "en"), pytest.raises(RiskBlocked):
        check(db, newcomer, TOP_UP, 600_000)

    (flag,) = _flags(db)
    assert (flag.rule, flag.blocked) == ("new_account_top_up", True)  # the main rule is the one that blocks
    with _in(app, "en"):
        assert [(f.rule, f.blocks) for f in findings(flag)] == [
            ("single_amount", False),
            ("new_account_top_up", True),
        ]


def test_an_operation_that_trips_nothing_raises_no_flag(app, db, newcomer):
    with _in(app, "en"):
        assert check(db, newcomer, TOP_UP, 100) is None
    assert db.scalar(select(func.count()).select_from(RiskFlag)) == 0


def test_the_findings_are_worded_in_the_readers_language(app, db, newcomer):
    with _in(app, "en"):
        flag = check(db, newcomer, TOP_UP, 600_000)
    with _in(app, "zh_CN"):
        seen = findings(flag)

    assert [f.label for f in seen] == ["单笔大额", "新账户大额充值"]
    assert seen[0].text == "单笔金额 ¥6,000.00，达到或超过阈值 ¥5,000.00。"
    assert seen[1].text == "开户仅 2 天的账户充值 ¥6,000.00。"


def test_an_account_opened_today_is_said_so(app, db):
    today = UserFactory(created_at=utcnow())
    with _in(app, "zh_CN"):
        [_, new_account] = findings(check(db, today, TOP_UP, 600_000))
    assert new_account.text == "今天开户的账户充值 ¥6,000.00。"


def test_a_flag_stored_as_a_sentence_still_shows_it(app, db, newcomer):
    flag = RiskFlag(
        user_id=newcomer.id,
        rule="single_amount",
        operation=TOP_UP,
        amount_fen=600_000,
        blocked=True,
        detail=LEGACY,
        status=FlagStatus.OPEN,
    )
    with _in(app, "zh_CN"):
        seen = findings(flag)
    assert [(f.rule, f.label, f.text, f.blocks) for f in seen] == [
        ("single_amount", "单笔大额", LEGACY, True)
    ]


def test_the_most_a_payment_can_trip_fits_the_column():
    big = 10**12  # ¥10,000,000,000.00: far beyond any wallet limit
    hits = [
        Hit("single_amount", True, {"threshold_fen": big}),
        Hit("velocity", True, {"moves": 9999, "total_fen": big, "minutes": 9999}),
        Hit("near_limit", True, {"count": 9999, "limit_fen": big, "hours": 9999}),
        Hit("many_payers", True, {"payers": 9999, "days": 9999}),
    ]
    assert len(encode(hits)) <= DETAIL_MAX and decode(encode(hits)) == hits
    padded = [Hit(hit.rule, hit.blocks, {**hit.facts, "x" * 60: 1}) for hit in hits]
    assert [(hit.rule, hit.facts) for hit in decode(encode(padded))] == [(hit.rule, {}) for hit in hits]


def test_an_unknown_or_factless_hit_shows_the_rule_name(app):
    flag = RiskFlag(rule="velocity", operation=PAYMENT, amount_fen=1, blocked=False)
    flag.detail = encode([Hit("velocity", False, {}), Hit("retired_rule", False, {"n": 1})])
    with _in(app, "en"):
        assert [f.text for f in findings(flag)] == ["Many operations in a short time", "retired_rule"]


def _admin(app, db, locale: str):
    officer = AdminFactory()
    client = app.test_client()
    client.get(f"/language/{locale}")
    login(client, officer.email)
    return client


def test_the_queue_and_the_case_word_every_rule_in_chinese(app, db, newcomer):
    with _in(app, "en"):
        flag = check(db, newcomer, TOP_UP, 600_000)
    db.flush()  # the pages below read the flag
    client = _admin(app, db, "zh_CN")

    queue = client.get("/admin/risk/").get_data(as_text=True)
    case = client.get(f"/admin/risk/{flag.id}").get_data(as_text=True)

    for page in (queue, case):
        assert "单笔金额 ¥6,000.00，达到或超过阈值 ¥5,000.00。" in page
        assert "开户仅 2 天的账户充值 ¥6,000.00。" in page
        assert "in one operation" not in page and '{"v":' not in page
    assert queue.count(f'href="/admin/risk/{flag.id}"') == 1  # one row for the one operation


def test_the_csv_words_the_rules_in_the_exporters_language(app, db, newcomer):
    with _in(app, "en"):
        flag = check(db, newcomer, TOP_UP, 600_000)
    legacy = RiskFlag(
        user_id=newcomer.id,
        rule="single_amount",
        operation=TOP_UP,
        amount_fen=600_000,
        blocked=False,
        detail=LEGACY,
        status=FlagStatus.OPEN,
    )
    db.add(legacy)
    db.flush()  # the exports below read both flags

    def rows(client, found):
        text = client.get(f"/admin/risk/{found.id}/report.csv").get_data().decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    chinese = rows(_admin(app, db, "zh_CN"), flag)
    assert chinese[2][:2] == ["规则", "单笔大额；新账户大额充值"]
    assert [
        "规则发现的情况",
        "新账户大额充值",
        "规则设定为预警待审核",
        "开户仅 2 天的账户充值 ¥6,000.00。",
    ] in chinese
    english = rows(_admin(app, db, "en"), legacy)
    seen = ["What the rule saw", "Single large amount", "the rule was set to flag for review", LEGACY]
    assert seen in english
