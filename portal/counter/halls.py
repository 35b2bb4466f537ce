"""Administering service halls: which agencies each serves, and which hall each cashier works at.

A cashier is a staff account (``accounts``) with one hall binding (here); creating or changing one
goes through these functions, so a cashier is never left without a hall and no one else keeps one."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.services import record
from portal.authz import Role
from portal.counter.models import CounterShift, HallCashier, ServiceHall, ShiftState
from portal.errors import ValidationFailed

CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


def all_halls(session: Session) -> list[ServiceHall]:
    return list(session.scalars(select(ServiceHall).order_by(ServiceHall.code)))


def save_hall(
    session: Session, actor: User, code: str, name_zh: str, name_en: str, agency_codes: list[str]
) -> ServiceHall:
    """A new hall, or new names and agencies for the hall with this code."""
    code = (code or "").strip().lower()
    if not CODE.match(code):
        raise ValidationFailed(
            _("Use 2 to 32 lower-case letters, digits or hyphens, starting with a letter."), field="code"
        )
    if not name_zh.strip() or not name_en.strip():
        raise ValidationFailed(_("Enter the hall's name in Chinese and in English."), field="name_zh")
    agencies = list(session.scalars(select(Agency).where(Agency.code.in_(agency_codes))))
    if not agencies or len(agencies) != len(set(agency_codes)):
        raise ValidationFailed(_("Choose at least one agency the hall serves."), field="agencies")
    hall = session.scalar(select(ServiceHall).where(ServiceHall.code == code))
    action = "hall.changed" if hall else "hall.created"
    if hall is None:
        hall = ServiceHall(code=code)
        session.add(hall)
    hall.name_zh, hall.name_en = name_zh.strip()[:100], name_en.strip()[:100]
    hall.agencies = sorted(agencies, key=lambda agency: agency.code)
    session.flush()  # the audit entry names the hall by code; a racing creation fails here, not at commit
    record(session, f"user:{actor.id}", action, f"hall:{code}", agencies=[a.code for a in hall.agencies])
    return hall


def hall_by_code(session: Session, code: str | None) -> ServiceHall:
    hall = session.scalar(select(ServiceHall).where(ServiceHall.code == (code or "")))
    if hall is None:
        raise ValidationFailed(_("A counter cashier must work at one existing service hall."), field="hall")
    return hall


def create_staff(session: Session, request: accounts.StaffRequest, hall_code: str | None) -> User:
    """Any staff account; a cashier's with its hall."""
    hall = hall_by_code(session, hall_code) if request.role is Role.CASHIER else None
    if hall is None and hall_code:
        raise ValidationFailed(_("Only counter cashiers work at a service hall."), field="hall")
    user = accounts.create_staff(session, request)
    if hall is not None:
        session.add(HallCashier(user_id=user.id, hall_id=hall.id))
        record(session, request.created_by, "cashier.bound", f"user:{user.id}", hall=hall.code)
    return user


def change_staff(
    session: Session, actor: User, user: User, role: Role, agency_code: str | None, hall_code: str | None
) -> None:
    """Role, agency and hall change together: a cashier always has one hall, no one else has any.
    Not while the cashier has a shift open: its till's cash belongs to the hall it was opened at."""
    hall = hall_by_code(session, hall_code) if role is Role.CASHIER else None
    binding = session.get(HallCashier, user.id)
    moved = binding is not None and (hall is None or binding.hall_id != hall.id)
    shift = _open_shift_of(session, user) if moved else None
    if shift is not None:
        raise ValidationFailed(
            _(
                "%(email)s has shift %(shift)s open: it must be closed (cashed up) first.",
                email=user.email,
                shift=shift,
            ),
            field="role",
        )
    accounts.change_staff_role(session, actor, user, role, agency_code)
    if hall is None:
        if binding is not None:
            session.delete(binding)
            record(session, f"user:{actor.id}", "cashier.unbound", f"user:{user.id}")
        return
    if binding is not None and binding.hall_id == hall.id:
        return
    if binding is None:
        session.add(HallCashier(user_id=user.id, hall_id=hall.id))
    else:
        binding.hall_id = hall.id
    record(session, f"user:{actor.id}", "cashier.bound", f"user:{user.id}", hall=hall.code)


def _open_shift_of(session: Session, user: User) -> str | None:
    return session.scalar(
        select(CounterShift.reference).where(
            CounterShift.cashier_id == user.id, CounterShift.state == ShiftState.OPEN
        )
    )


def halls_of_cashiers(session: Session) -> dict[int, ServiceHall]:
    """Each cashier's hall, by user id (the staff list shows it)."""
    return {binding.user_id: binding.hall for binding in session.scalars(select(HallCashier))}


def hall_code_of(session: Session, user: User) -> str:
    binding = session.get(HallCashier, user.id)
    return binding.hall.code if binding else ""
