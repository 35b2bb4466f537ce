"""Admins keep the service halls and which hall each counter cashier works at; a cashier always has
exactly one hall, and nobody else has any."""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.authz import Role
from portal.counter.models import HallCashier, ServiceHall
from tests.conftest import login, submit
from tests.factories import AdminFactory, AgencyFactory, CashierFactory


def _hall(client, **fields):
    form = {"code": "west-hall", "name_zh": "西区服务大厅", "name_en": "West Service Hall", **fields}
    return submit(client, "/counter/halls", form)


def test_an_admin_adds_a_hall_and_changes_the_agencies_it_serves(client, db):
    AgencyFactory(code="water-h")
    AgencyFactory(code="gas-h")
    login(client, AdminFactory().email)

    assert _hall(client, agencies=["water-h"]).status_code == 302
    assert _hall(client, agencies=["water-h", "gas-h"], name_en="West Hall").status_code == 302
    hall = db.scalar(sa.select(ServiceHall).where(ServiceHall.code == "west-hall"))
    assert [a.code for a in hall.agencies] == ["gas-h", "water-h"] and hall.name_en == "West Hall"
    actions = db.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject == "hall:west-hall")).all()
    assert actions == ["hall.created", "hall.changed"]
    page = client.get("/counter/halls").get_data(as_text=True)
    assert "西区服务大厅" in page


def test_a_hall_needs_an_agency_and_a_code_of_its_own_shape(client, db):
    AgencyFactory(code="water-h")
    login(client, AdminFactory().email)
    client.get("/language/en")

    no_agency = _hall(client)
    assert no_agency.status_code == 400 and "Choose at least one agency" in no_agency.get_data(as_text=True)
    bad_code = _hall(client, code="West Hall!", agencies=["water-h"])
    assert bad_code.status_code == 400 and "lower-case letters" in bad_code.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceHall)) == 0


def test_a_cashier_is_created_with_a_hall_and_loses_it_with_the_role(client, db):
    water = AgencyFactory(code="water-h")
    hall = ServiceHall(code="east-h", name_zh="东区", name_en="East", agencies=[water])
    db.add(hall)
    db.flush()
    login(client, AdminFactory().email)
    client.get("/language/en")
    form = {
        "email": "cashier.new@hall.example.cn",
        "role": "cashier",
        "password": "initial phrase for a cashier",
    }

    refused = submit(client, "/admin/staff/new", {**form, "hall": ""})
    assert refused.status_code == 200 and "must work at one existing service hall" in refused.get_data(
        as_text=True
    )
    assert db.scalar(sa.select(User).where(User.email == form["email"])) is None
    assert submit(client, "/admin/staff/new", {**form, "hall": "east-h"}).status_code == 302
    cashier = db.scalar(sa.select(User).where(User.email == form["email"]))
    assert cashier.role is Role.CASHIER and db.get(HallCashier, cashier.id).hall_id == hall.id
    not_a_cashier = {**form, "email": "fin.new@city.example.cn", "role": "finance", "hall": "east-h"}
    assert "Only counter cashiers" in submit(client, "/admin/staff/new", not_a_cashier).get_data(as_text=True)

    listed = client.get("/admin/staff").get_data(as_text=True)
    assert re.search(r"cashier\.new@hall\.example\.cn</td>.*?<td[^>]*>East</td>", listed, re.S)
    path = f"/admin/staff/{cashier.id}"
    moved = submit(
        client, path, {"role": "finance", "agency": "", "hall": "east-h"}
    )  # the old hall still shown
    assert moved.status_code == 302
    db.expire_all()
    assert db.get(User, cashier.id).role is Role.FINANCE and db.get(HallCashier, cashier.id) is None


def test_a_cashier_without_a_hall_is_told_so(client, db):
    login(client, CashierFactory().email)
    client.get("/language/en")
    page = client.get("/counter/")
    assert page.status_code == 403 and "not assigned to a service hall" in page.get_data(as_text=True)
