"""Run one checkout in this process and die (os._exit) at a named step: used by test_crash_safety."""

from __future__ import annotations

import os
import sys

from portal import create_app
from portal.payments import services
from tests.conftest import login, make_config
from tests.payments.conftest import confirm_form, review


def main(url: str, phone: str, account: str, step: str) -> None:
    app = create_app(make_config(url, RATELIMIT_ENABLED=False))
    app.config["AGENCY_ADAPTERS"] = {**app.config["AGENCY_ADAPTERS"], "race-water": {"adapter": "local"}}
    client = app.test_client()
    client.get("/language/en")
    login(client, phone)
    page = client.get(f"/bills/race-water?account_reference={account}").get_data(as_text=True)
    form = confirm_form(review(client, page=page).get_data(as_text=True))

    def die(name: str) -> None:
        if name == step:
            os._exit(17)

    services.step_hooks.append(die)
    response = client.post("/payments/confirm", data=form)
    os._exit(0 if response.status_code == 302 else 1)


if __name__ == "__main__":
    main(*sys.argv[1:])
