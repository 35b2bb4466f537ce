"""Public pages and operational endpoints."""
