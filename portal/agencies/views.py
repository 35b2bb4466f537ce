"""Staff pages about agencies; a clerk sees only their own agency."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from portal.agencies import services
from portal.agencies.protocol import agency_openapi
from portal.agencies.scope import agency_in_scope
from portal.authz import Role, role_required
from portal.db import get_session

bp = Blueprint("agencies", __name__, url_prefix="/agencies")


@bp.get("/")
@role_required(Role.CLERK, Role.FINANCE, Role.ADMIN)
def index():
    if current_user.role is Role.CLERK:
        return redirect(url_for("agencies.overview", code=current_user.agency.code))
    return render_template("agencies/index.html", agencies=services.all_agencies(get_session()))


@bp.get("/<code>/")
@role_required(Role.CLERK, Role.FINANCE, Role.ADMIN)
def overview(code: str):
    db = get_session()
    agency = agency_in_scope(db, current_user, code)
    return render_template("agencies/overview.html", agency=agency)


@bp.get("/protocol/openapi.json")
def protocol_document():
    """Public: an agency building a server for the `http` adapter reads what to answer."""
    return jsonify(agency_openapi())
