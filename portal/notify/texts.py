"""The words of each kind of notification, rendered from stored parameters in the reader's language.

Parameters hold plain values (fen, ISO dates, both names of an agency), never translated text, so the
inbox shows a notice in the language the resident reads now and SMS / e-mail use the one they last
used (users.locale)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from portal.i18n import sentence_gap
from portal.money import format_fen
from portal.promotions.wording import news_text


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _named(params: dict, locale: str, stem: str) -> str:
    """A value stored in both languages, e.g. agency_zh / agency_en."""
    return params.get(f"{stem}_zh" if locale.startswith("zh") else f"{stem}_en") or params.get(
        f"{stem}_zh", ""
    )


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%Y-%m-%d")


def _due(p: dict, locale: str) -> Text:
    facts = {
        "account": p["nickname"],
        "agency": _named(p, locale, "agency"),
        "bill": p["bill"],
        "amount": format_fen(p["amount_fen"]),
        "due": _day(p["due"]),
    }
    body = _("%(account)s (%(agency)s): bill %(bill)s of %(amount)s is due on %(due)s.", **facts)
    if p.get("autopay_on"):
        body = sentences(locale, body, _("Auto-pay will pay it on %(day)s.", day=_day(p["autopay_on"])))
    return Text(_("A bill is due soon"), body)


def _paid(p: dict, locale: str) -> Text:
    facts = {"amount": format_fen(p["total_fen"]), "reference": p["reference"]}
    if "bills" not in p:  # queued before notices named the bills
        if p.get("autopay"):
            return Text(
                _("Auto-pay paid a bill"), _("Auto-pay paid %(amount)s (payment %(reference)s).", **facts)
            )
        return Text(_("Payment made"), _("You paid %(amount)s (payment %(reference)s). Thank you.", **facts))
    facts |= {"bills": _(", ").join(p["bills"]), "agency": _named(p, locale, "agency")}
    if p.get("autopay"):
        subject = _("Auto-pay paid a bill")
        body = _(
            "Auto-pay paid %(amount)s from your wallet for bill %(bills)s of %(agency)s "
            "(payment %(reference)s).",
            **facts,
        )
    else:
        subject = _("Payment made")
        body = ngettext(
            "You paid %(amount)s from your wallet for bill %(bills)s of %(agency)s (payment %(reference)s). "
            "Thank you.",
            "You paid %(amount)s from your wallet for bills %(bills)s of %(agency)s (payment %(reference)s). "
            "Thank you.",
            len(p["bills"]),
            **facts,
        )
    if p.get("discount_fen"):
        campaign = _("A wallet campaign paid %(discount)s of it.", discount=format_fen(p["discount_fen"]))
        body = sentences(locale, body, campaign)
    return Text(subject, body)


def sentences(locale: str, *parts: str) -> str:
    """Sentences joined as the language writes them: Chinese runs on after 。, English leaves a space."""
    return sentence_gap(locale).join(parts)


def _refunded(p: dict, locale: str) -> Text:
    facts = {"amount": format_fen(p["amount_fen"]), "reference": p["reference"]}
    return Text(_("Refund made"), _("%(amount)s of payment %(reference)s went back to your wallet.", **facts))


def _delayed(p: dict, locale: str) -> Text:
    facts = {"agency": _named(p, locale, "agency"), "bill": p["bill"], "reference": p["reference"]}
    return Text(
        _("Confirmation delayed"),
        _(
            "%(agency)s has not yet confirmed bill %(bill)s of payment %(reference)s. Your money is safe; "
            "we keep asking and will tell you when it is confirmed or refunded.",
            **facts,
        ),
    )


def _confirmed(p: dict, locale: str) -> Text:
    facts = {"agency": _named(p, locale, "agency"), "bill": p["bill"], "reference": p["reference"]}
    return Text(
        _("Payment confirmed"),
        _(
            "%(agency)s has now confirmed bill %(bill)s of payment %(reference)s. Nothing more to do.",
            **facts,
        ),
    )


def _campaign(p: dict, locale: str) -> Text:
    if "offer" not in p:  # queued before notices carried the offer's facts
        return Text(_("Campaign news"), _named(p, locale, "title"))
    return Text(_("Campaign news"), news_text(p["offer"], locale))


def autopay_reason(code: str, cap_fen: int = 0) -> str:
    reasons = {
        "balance": _("your wallet's available balance was not enough"),
        "limit": _("it exceeds your wallet's payment limits"),
        "cap": _("it would exceed your monthly auto-pay cap of %(cap)s", cap=format_fen(cap_fen)),
        "frozen": _("your wallet is frozen"),
        "risk": _("the payment needs a check by our staff"),
        "agency": _("the agency could not be reached"),
    }
    return reasons.get(code) or _("the payment was refused")


def _autopay_failed(p: dict, locale: str) -> Text:
    facts = {
        "account": p["nickname"],
        "bill": p["bill"],
        "amount": format_fen(p["amount_fen"]),
        "reason": autopay_reason(p["reason"], p.get("cap_fen", 0)),
    }
    return Text(
        _("Auto-pay could not pay a bill"),
        _(
            "Auto-pay did not pay bill %(bill)s of %(amount)s for %(account)s: %(reason)s. It will not try "
            "this bill again; please pay it yourself.",
            **facts,
        ),
    )


def _dispute(p: dict, locale: str) -> Text:
    facts = {"reference": p["reference"]}
    outcome = {
        "refunded": _("It was resolved with a refund to your wallet."),
        "corrected": _("It was resolved: the agency corrected its records."),
        "rejected": _("It was rejected; the dispute page says why."),
    }
    bodies = {
        "open": _("We received dispute %(reference)s. The finance desk will look at it.", **facts),
        "with_agency": _("Dispute %(reference)s was sent to the agency to check its records.", **facts),
        "answered": _(
            "The agency answered dispute %(reference)s. Read the answer on the dispute page.", **facts
        ),
        "resolved": sentences(
            locale, _("Dispute %(reference)s is resolved.", **facts), outcome.get(p.get("outcome"), "")
        ),
        "closed": _("Dispute %(reference)s is closed.", **facts),
    }
    return Text(_("Your dispute %(reference)s", **facts), bodies[p["state"]].strip())


def _frozen(p: dict, locale: str) -> Text:
    return Text(
        _("Your wallet is frozen"),
        _(
            "After a safety review your wallet was frozen: it cannot pay, top up or withdraw for now. "
            "Call the hotline 12345 for help."
        ),
    )


def _unfrozen(p: dict, locale: str) -> Text:
    return Text(
        _("Your wallet works again"),
        _("Your wallet was unfrozen: you can pay, top up and withdraw again."),
    )


def _reset(p: dict, locale: str) -> Text:
    body = _(
        "City bill payment: to set a new password open %(url)s within %(minutes)d minutes. "
        "If you did not ask for this, ignore this message; your password stays as it is.",
        url=p["url"],
        minutes=p["minutes"],
    )
    return Text(_("Set a new password"), body)


def _guest_code(p: dict, locale: str) -> Text:
    body = _(
        "City bill payment: someone asks to pay %(amount)s for bill %(bill)s of %(agency)s from your wallet. "
        "If you agreed to it, give them this code: %(code)s (it works for %(minutes)d minutes). If you do "
        "not know of this payment, give the code to no one: nothing is paid without it.",
        code=p["code"],
        amount=format_fen(p["amount_fen"]),
        bill=p["bill"],
        agency=_named(p, locale, "agency"),
        minutes=p["minutes"],
    )
    return Text(_("Your payment code"), body)


RENDERERS: dict[str, Callable[[dict, str], Text]] = {
    "due": _due,
    "paid": _paid,
    "refunded": _refunded,
    "delayed": _delayed,
    "confirmed": _confirmed,
    "dispute": _dispute,
    "campaign": _campaign,
    "autopay_failed": _autopay_failed,
    "frozen": _frozen,
    "unfrozen": _unfrozen,
    "reset": _reset,
    "guest_code": _guest_code,
}


def render(kind: str, params: dict, locale: str) -> Text:
    """The notice in ``locale`` (zh_CN or en)."""
    with force_locale(locale):
        return RENDERERS[kind](params, locale)
