"""Wallet promotion campaigns funded from ledger budget accounts, and auto-pay of saved accounts."""
