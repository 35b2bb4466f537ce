"""Admin pages for staff accounts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.accounts import services as account_services
from portal.accounts import twofactor
from portal.accounts.forms import StaffForm, StaffRoleForm
from portal.accounts.models import User
from portal.agencies import services as agency_services
from portal.authz import Role, role_required
from portal.counter import halls
from portal.db import get_session
from portal.errors import PortalError
from portal.forms import ConfirmForm, attach_error, confirmation_page, confirmed
from portal.i18n import current_locale

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/staff")
@role_required(Role.ADMIN)
def staff():
    return render_template(
        "admin/staff.html",
        staff=account_services.list_staff(get_session()),
        halls=halls.halls_of_cashiers(get_session()),
        toggle_form=ConfirmForm(),
        is_locked=account_services.is_locked,
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_staff():
    db = get_session()
    form = StaffForm()
    form.agency.choices = _agency_choices(db)
    form.hall.choices = _hall_choices(db)
    if form.validate_on_submit():
        request = account_services.StaffRequest(
            email=form.email.data,
            role=Role(form.role.data),
            password=form.password.data,
            agency_code=form.agency.data or None,
            display_name=form.display_name.data,
            created_by=f"user:{current_user.id}",
        )
        try:
            user = halls.create_staff(db, request, form.hall.data or None)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Staff account %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.staff"))
    return render_template("admin/new_staff.html", form=form)


def _agency_choices(db) -> list[SelectChoice]:
    return [SelectChoice("", _("No agency"))] + [
        SelectChoice(agency.code, agency.name_for(current_locale()))
        for agency in agency_services.all_agencies(db)
    ]


def _hall_choices(db) -> list[SelectChoice]:
    return [SelectChoice("", _("No service hall"))] + [
        SelectChoice(hall.code, hall.name_for(current_locale())) for hall in halls.all_halls(db)
    ]


def _staff_or_404(db, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or not user.is_staff:
        abort(404)
    return user


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_staff(user_id: int):
    """Role and agency; the page also offers disabling, unlocking and a two-factor reset."""
    db = get_session()
    user = _staff_or_404(db, user_id)
    hall = halls.hall_code_of(db, user)
    agency = user.agency.code if user.agency else ""
    form = StaffRoleForm(data={"role": user.role.value, "agency": agency, "hall": hall})
    form.agency.choices = _agency_choices(db)
    form.hall.choices = _hall_choices(db)
    if form.validate_on_submit():
        try:
            halls.change_staff(
                db, current_user, user, Role(form.role.data), form.agency.data, form.hall.data or None
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Role, agency and hall of %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.edit_staff", user_id=user.id))
    return render_template(
        "admin/edit_staff.html",
        member=user,
        form=form,
        action_form=ConfirmForm(),
        locked=account_services.is_locked(user),
    )


@bp.post("/staff/<int:user_id>/two-factor/reset")
@role_required(Role.ADMIN)
def reset_two_factor(user_id: int):
    """For a lost phone: the member's sessions end and they set two-factor up again at their next login."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_session()
    user = _staff_or_404(db, user_id)
    if not confirmed(request.form):
        return confirmation_page(
            _("Reset two-factor authentication of %(email)s?", email=user.email),
            _("They are logged out everywhere at once and must set two-factor up again at their next login."),
            _("Yes, reset two-factor authentication"),
            url_for("admin.edit_staff", user_id=user.id),
        )
    try:
        twofactor.reset(db, user, current_user)
    except PortalError as error:
        flash(error.message, "error")
    else:
        flash(
            _(
                "Two-factor authentication for %(email)s has been reset; they will set it up again at their "
                "next login.",
                email=user.email,
            ),
            "success",
        )
    return redirect(url_for("admin.edit_staff", user_id=user.id))


@bp.post("/staff/<int:user_id>/unlock")
@role_required(Role.ADMIN)
def unlock_staff(user_id: int):
    """Ends a lockout after too many failed logins (the member's password stays as it is)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_session()
    user = _staff_or_404(db, user_id)
    account_services.unlock(db, user, current_user)
    flash(_("Account %(email)s unlocked: it can log in again.", email=user.email), "success")
    return redirect(url_for("admin.edit_staff", user_id=user.id))


@bp.post("/staff/<int:user_id>/active")
@role_required(Role.ADMIN)
def set_staff_active(user_id: int):
    """Says which state it wants (not 'toggle'), so a form sent twice cannot undo itself; disabling asks
    once more, as the member is logged out at once."""
    wanted = request.form.get("active")
    if not ConfirmForm().validate_on_submit() or wanted not in ("yes", "no"):
        abort(400)
    db = get_session()
    user = _staff_or_404(db, user_id)
    active = wanted == "yes"
    from_list = request.form.get("from") == "list"  # back where the button was: the list or the member
    back = url_for("admin.staff") if from_list else url_for("admin.edit_staff", user_id=user.id)
    if not active and user.is_active and not confirmed(request.form):
        return confirmation_page(
            _("Disable the account of %(email)s?", email=user.email),
            _(
                "They are logged out at once and can no longer log in until an admin enables the account "
                "again."
            ),
            _("Yes, disable this account"),
            back,
            {"active": "no", "from": "list"} if from_list else {"active": "no"},
        )
    try:
        account_services.set_staff_active(current_user, user, active)
    except PortalError as error:
        flash(error.message, "error")
        return redirect(back)
    if user.is_active:
        flash(_("Account %(email)s enabled.", email=user.email), "success")
    else:
        flash(_("Account %(email)s disabled. It can no longer log in.", email=user.email), "success")
    return redirect(back)
