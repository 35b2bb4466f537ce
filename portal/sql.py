"""SQL pieces the reports share: Beijing days and times computed by the database, and text made safe
for spreadsheets, so that every export path (COPY or Python) writes the same cells."""

from __future__ import annotations

from sqlalchemy import Date, String, case, func, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

# A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"); a
# carriage return has become a line feed by the time the first character is looked at.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\n")


class shanghai_day(FunctionElement):
    """The Asia/Shanghai calendar day of a stored UTC time, computed by the database so that a month
    of payments is grouped without loading it."""

    type = Date()
    inherit_cache = True


@compiles(shanghai_day, "postgresql")
def _shanghai_day_postgresql(element, compiler, **kw) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(shanghai_day, "sqlite")
def _shanghai_day_sqlite(element, compiler, **kw) -> str:
    # Shanghai has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact here.
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


class shanghai_time(FunctionElement):
    """A stored UTC time as 'YYYY-MM-DD HH:MM:SS' Beijing time, formatted by the database."""

    type = String()
    inherit_cache = True


@compiles(shanghai_time, "postgresql")
def _shanghai_time_postgresql(element, compiler, **kw) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"to_char({moment} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')"


@compiles(shanghai_time, "sqlite")
def _shanghai_time_sqlite(element, compiler, **kw) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%S', {compiler.process(element.clauses, **kw)}, '+8 hours')"


def spreadsheet_safe(text):
    """Text a spreadsheet shows as text: a leading formula character gets an apostrophe before it.
    Line breaks become LF (every CSV writer quotes those alike) and empty text becomes NULL, so every
    export path writes the same cells."""
    text = func.nullif(func.replace(func.replace(text, "\r\n", "\n"), "\r", "\n"), "")
    return case((func.substr(text, 1, 1).in_(FORMULA_STARTS), literal("'") + text), else_=text)


def safe_text(value: str | None) -> str:
    """The same rule in Python, for the few small files written without the database."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text[:1] in FORMULA_STARTS and text else text


def dialect_insert(session: Session):
    """The INSERT of the session's database that knows ON CONFLICT (PostgreSQL's or SQLite's)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
