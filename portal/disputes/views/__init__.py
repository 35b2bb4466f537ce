"""The disputes blueprints: the resident's pages (residents) and the staff desk (desk)."""
