"""Finance reports: collections, daily settlement with payouts, three-way reconciliation, exports."""
