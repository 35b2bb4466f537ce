"""The home page, /healthz (the process answers) and /readyz (it can do its work)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from portal.agencies import services as agency_services
from portal.bills import services as bill_services
from portal.db import get_session
from portal.main.health import readiness

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    agencies = agency_services.enabled_agencies(get_session())
    utilities = [agency for agency in agencies if agency.category.is_utility]
    others = [agency for agency in agencies if not agency.category.is_utility]
    can_look_up = {agency.code for agency in agencies if bill_services.can_be_looked_up(agency)}
    return render_template("main/index.html", utilities=utilities, others=others, can_look_up=can_look_up)


@bp.get("/healthz")
def healthz():
    """Liveness only: a database outage must not make a load balancer kill every app process."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = readiness(get_session(), current_app.config["READY_WORKER_STALE_SECONDS"])
    ready = all(answer == "ok" for answer in checks.values())
    return jsonify(status="ready" if ready else "unavailable", **checks), 200 if ready else 503
