"""Agencies that issue bills (water, electricity and gas companies, traffic police, tax bureau)."""
