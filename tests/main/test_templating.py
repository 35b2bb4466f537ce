"""Templates compiled per language with their fixed texts translated in (portal/templating.py) render as
templates that ask Flask-Babel for each text; the copy used is the language being rendered."""

import pytest
from flask import render_template
from flask_babel import force_locale, get_translations

from portal.templating import folding


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_texts_folded_in_when_compiled_render_as_flask_babel_renders_them(app, locale):
    source = (
        '{{ _("Bills found") }}|{{ _("Pay bill %(bill)s", bill="<b>W-1</b>") }}|{{ _("100%% sure") }}|'
        '{{ gettext("Find bills") }}|{{ _("Enter the %(label)s.", label="户号") }}|'
        '{% set caption = _("Bills found") %}{{ caption ~ "<i>" }}|{{ _("Amounts & <fees>") | e }}'
    )
    with app.test_request_context(headers={"Cookie": f"portal_lang={locale}"}):
        as_is = app.jinja_env.from_string(source)
        with folding(get_translations()):
            folded = app.jinja_env.from_string(source)
        assert folded.render() == as_is.render()
        assert "&lt;b&gt;W-1&lt;/b&gt;" in folded.render() and "100% sure" in folded.render()
        assert "&lt;i&gt;" in folded.render()  # a folded text joined to another is escaped as before
        # Only the two calls with variables still ask gettext when the page is rendered.
        assert folded.render(_=asked, gettext=asked).count("[asked]") == 2
        assert as_is.render(_=asked, gettext=asked).count("[asked]") == 7
        assert ("查询到的账单" if locale == "zh_CN" else "Bills found") in folded.render()


def asked(_string: str, **_variables) -> str:
    return "[asked]"


def test_the_copy_used_follows_the_language_being_rendered(app):
    with app.test_request_context(headers={"Cookie": "portal_lang=en"}):
        english = render_template("errors/error.html", status=404, title="-", text="-")
        with force_locale("zh_CN"):
            chinese = render_template("errors/error.html", status=404, title="-", text="-")
        again = render_template("errors/error.html", status=404, title="-", text="-")

    assert "City Bill Payment Portal" in english and "城市便民缴费平台" not in english
    assert "城市便民缴费平台" in chinese and "City Bill Payment Portal" not in chinese
    assert again == english
