"""The payments blueprints: the resident's review, confirm and history (residents), finance's operations."""
