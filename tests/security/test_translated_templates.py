"""Templates are compiled once per language with their fixed texts translated in (portal/templating.py):
every page every role can open reads exactly as it does when each text is translated at render time."""

from __future__ import annotations

import difflib
import re

import pytest

from portal.i18n import LOCALE_COOKIE
from tests.security.helpers import body, call, isolated
from tests.security.routes import ROLES, ROUTES

# What differs between any two renders of a form: its CSRF token and a fresh idempotency key.
PER_RENDER = re.compile(r'name="([\w-]*(?:csrf_token|idempotency_key))"([^>]*)value="[^"]*"')
RENDERED_AT = re.compile(r"<time data-rendered-at[^>]*>[^<]*</time>")  # the moment a page was made


def _pages(world, role: str) -> list[str]:
    return [
        route.path.format(**world.ids)
        for (_endpoint, method), route in sorted(ROUTES.items())
        if method == "GET" and route.statuses()[role] == "200"
    ]


def _same_form(page: str) -> str:
    return RENDERED_AT.sub("<time data-rendered-at>-</time>", PER_RENDER.sub(r'name="\1"\2value="-"', page))


def _difference(path: str, folded, as_is) -> str:
    lines = [_same_form(body(response)).splitlines() for response in (folded, as_is)]
    return path + "\n" + "\n".join(difflib.unified_diff(*lines, "folded", "as is", lineterm="", n=0))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_page_reads_the_same_as_when_translated_at_render_time(world, db, locale):
    environment = world.app.jinja_env
    compared = 0
    for role in ROLES:
        client = world.clients[role]
        client.set_cookie(LOCALE_COOKIE, locale)
        try:
            for path in _pages(world, role):
                folded = isolated(db, call, world, role, "GET", path)
                if folded.mimetype != "text/html":
                    continue
                environment.fold_translations = False
                try:
                    as_is = isolated(db, call, world, role, "GET", path)
                finally:
                    environment.fold_translations = True
                assert _same_form(body(folded)) == _same_form(body(as_is)), _difference(path, folded, as_is)
                compared += 1
        finally:
            client.set_cookie(LOCALE_COOKIE, "en")
    assert compared > 100  # every role's pages (132 of them), not a handful
