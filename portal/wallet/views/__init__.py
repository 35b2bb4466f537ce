"""The wallet blueprints: the resident's wallet pages (pages) and the JSON API other systems call (api)."""
