"""The portal's settings, grouped by concern; configs.py composes them into the classes config.py exposes."""
