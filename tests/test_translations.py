"""Every user-visible string is extracted and translated into Chinese; placeholders survive."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def extracted_messages() -> set[str]:
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_extracted_message_has_a_chinese_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {_forms(m.id)[0] for m in catalogue if m.id and all(_forms(m.string))}

    missing = sorted(extracted_messages() - translated)

    assert missing == [], "run: make translations-update, then translate these"


def test_translations_keep_their_placeholders():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)

    def placeholders(text: str) -> list[str]:
        return sorted(PLACEHOLDER.findall(text))

    broken = [
        m.id
        for m in catalogue
        if m.id and any(placeholders(text) != placeholders(_forms(m.id)[0]) for text in _forms(m.string))
    ]

    assert broken == []


def _forms(value: str | tuple) -> list[str]:
    """A message's text, or each of its plural forms."""
    return [value] if isinstance(value, str) else list(value)
