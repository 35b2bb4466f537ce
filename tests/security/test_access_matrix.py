"""Every route x every role gets the status the table in routes.py says; no route is left out."""

from __future__ import annotations

import pytest

from tests.security.helpers import call, isolated, outcome
from tests.security.routes import ROLES, ROUTES, Route


def test_every_route_has_an_expectation(world):
    served = {
        (rule.endpoint, method)
        for rule in world.app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert served - ROUTES.keys() == set(), "routes without an expected status per role in routes.py"
    assert ROUTES.keys() - served == set(), "routes.py names routes the portal does not serve"


def test_every_expectation_names_every_role_once():
    for route in ROUTES.values():
        assert set(route.statuses()) == set(ROLES)
    with pytest.raises(AssertionError):
        Route("/", "all:200 res:403").statuses()  # a role twice
    with pytest.raises(AssertionError):
        Route("/", "anon:login residents:200").statuses()  # roles left out


@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda key: f"{key[0]}:{key[1]}")
def test_each_role_gets_the_expected_status(world, db, key):
    _endpoint, method = key
    route = ROUTES[key]
    path = route.path.format(**world.ids)
    data = {name: value.format(**world.ids) for name, value in route.data.items()}

    got = {role: outcome(isolated(db, call, world, role, method, path, data)) for role in ROLES}

    wrong = {
        role: f"got {got[role]}, expected {status}"
        for role, status in route.statuses().items()
        if got[role] != status
    }
    assert wrong == {}, f"{method} {path}"
