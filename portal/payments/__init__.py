"""Checkout, the payment state machine, the outbox to agencies, refunds."""
