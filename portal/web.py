"""Cross-cutting HTTP concerns: request ids in logs, security headers, friendly error pages."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NoReturn
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, has_request_context, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from portal.clock import local_time
from portal.db import database_away
from portal.extensions import login_manager
from portal.money import chinese_capitals, format_fen, plain_yuan

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The request id outside a request: a worker delivering an outbox message logs under the id of the
# request that queued it (see bound_request_id).
_bound_request_id: ContextVar[str | None] = ContextVar("portal_request_id", default=None)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to view this page.")),
    404: (_l("Page not found"), _l("If you typed the web address, check it is correct.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way. Go back and try again.")),
    413: (_l("File too large"), _l("The file is larger than the size limit. Split it up and try again.")),
    429: (_l("Too many requests"), _l("You have tried too many times. Wait a minute and try again.")),
    503: (
        _l("The service is briefly unavailable"),
        _l("Try again in a minute. A payment or top-up you send again is never made twice."),
    ),
    500: (
        _l("Sorry, there is a problem with the service"),
        _l("Try again later. Nothing you submitted has been changed."),
    ),
}


def current_request_id() -> str | None:
    """The id of the request being served; outside a request, the one bound by bound_request_id()."""
    if has_request_context() and "request_id" in g:
        return g.request_id
    return _bound_request_id.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log under ``request_id`` while the block runs. A request's own id still wins inside a request (a
    receipt download that renders through the outbox logs under the download's id, the one its error page
    shows)."""
    token = _bound_request_id.set(request_id)
    try:
        yield
    finally:
        _bound_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or '-') to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line, time first, so a log store can search by request id without parsing
    free text."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            timestamp="time",  # UTC, ISO 8601
            json_ensure_ascii=False,  # Chinese messages stay readable
        )

    def process_log_record(self, log_data: dict) -> dict:
        return {"time": log_data.pop("time"), **log_data}


def init_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestIdFilter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])
    app.logger.propagate = False


def safe_next_url(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after login or a language switch (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def same_site_path(url: str | None) -> str | None:
    """The path (and query) of ``url`` when it is a page of this site, else None: where a form came from
    (the Referer), to send the visitor back to."""
    parts = urlsplit(url or "")
    if (
        not url
        or (parts.netloc and parts.netloc != request.host)
        or parts.scheme not in ("", "http", "https")
    ):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def referring_page() -> str | None:
    """The page of this site the request came from, if it can be fetched again (a GET route): where to send
    a visitor back from a page that answered a form. A form's own POST-only address is not one."""
    path = same_site_path(request.referrer)
    if path is None:
        return None
    route = urlsplit(path).path.removeprefix(request.script_root) or "/"
    adapter = current_app.create_url_adapter(request)
    try:
        page = adapter.match(route, method="GET")[0]
    except (NotFound, MethodNotAllowed):
        return None
    try:  # /payments/review is a form's address, though GET finds /payments/<reference> there
        form = adapter.match(route, method="POST")[0]
    except (NotFound, MethodNotAllowed):
        form = page
    return path if form == page else None


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        fen=format_fen,
        fen_signed=lambda amount: format_fen(amount, sign=True),
        capitals=chinese_capitals,
        plain_yuan=plain_yuan,
        beijing=lambda moment: local_time(moment).strftime("%Y-%m-%d %H:%M"),
    )
    app.before_request(_assign_request_id)
    app.after_request(_add_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else secrets.token_hex(8)


def _add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint and request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    if response.mimetype == "text/html":
        headers.setdefault("Vary", "Cookie")
    headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
    return response


def render_error(status: int, detail: str | None = None):
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[400 if status < 500 else 500])
    body = render_template("errors/error.html", status=status, title=title, text=detail or text)
    return body, status


def _csrf_error(_error: CSRFError):
    return render_error(
        400,
        str(_l("Your form expired or was sent from another site. Go back, reload the page and try again.")),
    )


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    if database_away(getattr(error, "original_exception", None)):  # e.g. the commit point lost its line
        return _database_away(error.original_exception)
    return render_error(error.code, error.description if getattr(error, "shown_to_visitor", False) else None)


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    if database_away(error):
        return _database_away(error)
    # Logged with its request id so support can find it; the resident sees no internals.
    current_app.logger.exception("unhandled error: %s", error)
    return render_error(InternalServerError.code)


def _database_away(error: BaseException):
    """503, without touching the database again: the request's session is dropped (the pool replaces
    its connection) and the page is drawn for a visitor, as loading the user would need the database."""
    current_app.logger.warning("database unavailable: %s: %s", type(error).__name__, str(error)[:200])
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except SQLAlchemyError:
            session.invalidate()
    g._login_user = login_manager.anonymous_user()
    response = render_error(503)
    return response[0], 503, {"Retry-After": "5"}


def not_found(kind: str, reference: object) -> NoReturn:
    """404 for an object that does not exist or is someone else's (the answer never says which), with a
    log line naming who asked: repeated tries at other people's ids show up in the logs."""
    who = f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"
    logging.getLogger("portal.access").warning(
        "%s asked for %s %s: not theirs or not there", who, kind, reference
    )
    abort(404)
