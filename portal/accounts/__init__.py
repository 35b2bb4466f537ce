"""Residents and staff: registration, login, roles, identity verification."""
