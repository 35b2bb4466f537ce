"""Administration: staff accounts (risk flags and the audit log come later)."""
