"""Locale choice (zh_CN first, English too) and the language switch."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, url_for
from flask_babel import get_locale

from portal.extensions import babel
from portal.web import referring_page, safe_next_url

LOCALE_COOKIE = "portal_lang"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The visitor's chosen language from the cookie, else the portal's default (Chinese)."""
    chosen = request.cookies.get(LOCALE_COOKIE, "") if has_request_context() else ""
    if chosen in current_app.config["PORTAL_LOCALES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang() -> str:
    """BCP 47 tag for <html lang>: zh-CN or en."""
    locale = get_locale()
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language


def current_locale() -> str:
    """The portal's own code for the active language ('zh_CN' or 'en'); Babel calls zh_CN 'zh_Hans_CN'."""
    locale = get_locale()
    return "zh_CN" if locale.language == "zh" else locale.language


def switch_back_path() -> str:
    """Where the language switch returns to: this page; or, on a page that answered a form (it cannot be
    fetched again: the payment review, a form shown again with its errors), the page the form was sent
    from when that can be fetched, else the home page."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return referring_page() or url_for("main.index")


@bp.get("/language/<locale>")
def switch_language(locale: str):
    # A plain link (no form): it only sets a display preference, like GOV.UK's language toggle.
    target = safe_next_url(request.args.get("next"))
    response = redirect(target)
    if locale in current_app.config["PORTAL_LOCALES"]:
        response.set_cookie(
            LOCALE_COOKIE,
            locale,
            max_age=LOCALE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def sentence_gap(locale: str | None = None) -> str:
    """What goes between two sentences: nothing after a Chinese 。 or ？, a space in English."""
    return "" if (locale or current_locale()).startswith("zh") else " "


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        html_lang=html_lang,
        current_locale=current_locale,
        sentence_gap=sentence_gap,
        switch_back_path=switch_back_path,
    )
