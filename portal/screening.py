"""Screening money movements before they happen: the payments and the wallet ask here, and the risk
domain (above both: it reads their tables) answers through the screen it registers at start-up
(portal.wiring). A screen records what it finds and raises ``Blocked`` to stop the operation."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from portal.errors import PortalError

TOP_UP, PAYMENT, WITHDRAWAL = "top_up", "payment", "withdrawal"

Screen = Callable[..., object]
_screens: list[Screen] = []


class Blocked(PortalError):
    """A screen refused the operation; the resident is told to call the hotline, not which rule."""


def register(screen: Screen) -> None:
    if screen not in _screens:
        _screens.append(screen)


def screen(session: Session, user, operation: str, amount_fen: int, payers: Iterable[str] = ()) -> None:
    """Every registered screen looks at the operation; the first that blocks it raises ``Blocked``."""
    for each in _screens:
        each(session, user, operation, amount_fen, payers=payers)
