"""Asking for someone else's object answers 404 and leaves a log line naming who asked."""

import logging

from tests.conftest import login
from tests.factories import UserFactory


def test_another_residents_payment_is_a_logged_404(client, db, caplog):
    user = UserFactory(phone="13900000444")
    login(client, user.phone)

    with caplog.at_level(logging.WARNING, logger="portal.access"):
        response = client.get("/payments/P0000000000000XYZ")

    assert response.status_code == 404
    assert [record.getMessage() for record in caplog.records if record.name == "portal.access"] == [
        f"user:{user.id} asked for payment P0000000000000XYZ: not theirs or not there"
    ]
