import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import config as portal_config
from portal import create_app
from portal.agencies.base import AgencyAdapter
from portal.agencies.registry import ENTRY_POINT_GROUP, RegistryError, check_configuration, discover
from portal.bills.local_agency import LocalAdapter

EXAMPLE_PACKAGE = Path(__file__).resolve().parent.parent / "example_adapter"


def entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_the_installed_portal_registers_the_local_adapter():
    adapters = discover()

    assert adapters["local"] is LocalAdapter
    assert all(issubclass(adapter, AgencyAdapter) for adapter in adapters.values())


def test_duplicate_adapter_names_fail_loudly():
    with pytest.raises(RegistryError, match="two packages register the agency adapter 'local'"):
        discover([entry("local", "portal.bills.local_agency:LocalAdapter")] * 2)


def test_an_entry_point_that_is_not_an_adapter_fails_loudly():
    with pytest.raises(RegistryError, match="is not an AgencyAdapter subclass"):
        discover([entry("broken", "json:dumps")])


def test_an_entry_point_that_cannot_be_imported_fails_loudly():
    with pytest.raises(RegistryError, match="cannot be loaded"):
        discover([entry("ghost", "portal_no_such_module:Adapter")])


def test_an_agency_configured_with_a_missing_adapter_stops_the_app(database_url):
    config = portal_config.TestingConfig(
        {"DATABASE_URL": database_url, "AGENCY_ADAPTERS": '{"water": {"adapter": "nowhere"}}'}
    )

    with pytest.raises(RegistryError, match="agency 'water' is configured with adapter 'nowhere'"):
        create_app(config)


def test_check_configuration_accepts_several_agencies_on_one_adapter():
    check_configuration({"local": LocalAdapter}, {"water": {"adapter": "local"}, "gas": {"adapter": "local"}})


PLUGIN_CHECK = """
from flask import Flask
from portal.agencies.registry import discover
adapters = discover()
assert "example" in adapters, sorted(adapters)
from portal.agencies.base import AdapterContext, AgencyConfig, BillQuery
adapter = adapters["example"](AgencyConfig("heat", "热力公司", "Heating Co", "gas"), AdapterContext())
bills = adapter.lookup(BillQuery("heat", (("meter", " m000001 "),)))
print(bills[0].bill_id, bills[0].amount_due_fen)
"""


def test_a_separately_installed_package_adds_an_agency_adapter():
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(EXAMPLE_PACKAGE)], check=True)
    try:
        result = subprocess.run(
            [sys.executable, "-c", PLUGIN_CHECK], capture_output=True, text=True, check=False
        )
    finally:
        subprocess.run([*pip, "uninstall", "-y", "portal-example-agency"], check=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["EX-1", "12300"]
    assert "example" not in discover()
