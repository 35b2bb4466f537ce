"""The portal's place: Beijing time, yuan, and its languages (Chinese first, then English)."""

from __future__ import annotations


class LocaleSettings:
    """Mixed into Config. Nothing here is read from the environment."""

    def _read_locales(self) -> None:
        self.PORTAL_TIMEZONE = "Asia/Shanghai"
        self.PORTAL_CURRENCY = "CNY"
        self.BABEL_DEFAULT_LOCALE = "zh_CN"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
        self.BABEL_TRANSLATION_DIRECTORIES = "translations"
        self.PORTAL_LOCALES = ("zh_CN", "en")
