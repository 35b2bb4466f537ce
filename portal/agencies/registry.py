"""Adapters are found through the `portal.agencies` entry-point group and enabled per agency by
configuration (AGENCY_ADAPTERS: agency code -> adapter name and settings; several agencies may share
one adapter). A missing, duplicate or wrongly typed adapter stops the app at start-up, saying which."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from flask import Flask, current_app

from portal.agencies.base import BILL_STATUS_LABELS, AdapterContext, AgencyAdapter, AgencyConfig
from portal.agencies.cache import AgencyCache, AgencySnapshot
from portal.agencies.models import Agency

ENTRY_POINT_GROUP = "portal.agencies"


class RegistryError(RuntimeError):
    """The adapters installed or configured cannot work; the message names the culprit."""


def discover(installed: Iterable[EntryPoint] | None = None) -> dict[str, type[AgencyAdapter]]:
    """Every installed adapter class by name, checked for duplicates and type."""
    found: dict[str, type[AgencyAdapter]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP) if installed is None else installed:
        if entry_point.name in found:
            raise RegistryError(f"two packages register the agency adapter {entry_point.name!r}")
        try:
            adapter_class = entry_point.load()
        except Exception as error:
            raise RegistryError(f"agency adapter {entry_point.name!r} cannot be loaded: {error}") from error
        if not (isinstance(adapter_class, type) and issubclass(adapter_class, AgencyAdapter)):
            raise RegistryError(
                f"agency adapter {entry_point.name!r} ({entry_point.value}) is not an AgencyAdapter subclass"
            )
        found[entry_point.name] = adapter_class
    return found


def check_configuration(adapters: Mapping[str, type], configured: Mapping[str, Mapping[str, Any]]) -> None:
    for agency_code, settings in configured.items():
        name = settings.get("adapter")
        if name not in adapters:
            raise RegistryError(
                f"agency {agency_code!r} is configured with adapter {name!r}, which is not installed "
                f"(installed: {', '.join(sorted(adapters)) or 'none'})"
            )


def init_app(app: Flask) -> None:
    adapters = discover()
    check_configuration(adapters, app.config["AGENCY_ADAPTERS"])
    app.extensions["portal.agency_adapters"] = adapters
    app.extensions["portal.agency_cache"] = AgencyCache()
    app.jinja_env.globals["bill_status_label"] = BILL_STATUS_LABELS.get


def agency_cache() -> AgencyCache:
    return current_app.extensions["portal.agency_cache"]


def adapter_for(agency: Agency | AgencySnapshot, context: AdapterContext) -> AgencyAdapter | None:
    """The configured adapter of an agency, or None when the agency has none enabled."""
    settings = current_app.config["AGENCY_ADAPTERS"].get(agency.code)
    if settings is None or not agency.is_enabled:
        return None
    adapter_class = current_app.extensions["portal.agency_adapters"][settings["adapter"]]
    config = AgencyConfig(
        code=agency.code,
        name_zh=agency.name_zh,
        name_en=agency.name_en,
        category=agency.category.value,
        settings=dict(settings.get("settings", {})),
    )
    return adapter_class(config, context)
