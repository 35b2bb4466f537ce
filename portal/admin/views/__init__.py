"""The admin's pages: staff accounts (staff.py) and the audit log viewer (audit.py)."""
