"""Clerk bill-batch uploads: read CSV or Excel, validate, preview, commit all or nothing, withdraw."""
