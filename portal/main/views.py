"""The home page and /healthz."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.agencies import services as agency_services
from portal.bills import services as bill_services
from portal.db import get_session

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
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unavailable")
        return jsonify(status="unavailable", database="error"), 503
    return jsonify(status="ok", database="ok")
