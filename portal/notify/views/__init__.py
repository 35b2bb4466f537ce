"""The notify blueprints: the resident's inbox (inbox) and the development outbox (dev_outbox)."""
