"""How residents pay, in aggregates only: adoption and behaviour pages for finance and admin staff, read
from daily roll-ups the worker keeps (docs/analytics.md)."""
