"""The one file a resident may add to a dispute: PNG, JPEG or PDF up to 5 MB, judged by its content
(an HTML page named .png is refused). Kept in the database, outside the web root: every app process
sees it, a backup holds it, and a failed dispute leaves no file behind."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import PurePath

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from portal.errors import ValidationFailed

MAX_BYTES = 5 * 1024 * 1024
NAMED = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".pdf": "application/pdf"}
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class CheckedFile:
    file_name: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def check(file_name: str, content: bytes) -> CheckedFile:
    """The file if it is what its name says; ValidationFailed (on the attachment field) otherwise."""
    name = PurePath(file_name or "").name.strip()[-120:]
    claimed = NAMED.get(PurePath(name).suffix.lower())
    if claimed is None:
        raise _refused(_("Attach a PNG, JPEG or PDF file."))
    if len(content) > MAX_BYTES:
        raise _refused(_("The file is larger than 5 MB. Attach a smaller one."))
    if not content:
        raise _refused(_("The file is empty."))
    found = _content_type(content)
    if found != claimed:
        raise _refused(_("The file is not the PNG, JPEG or PDF its name says. Attach the file itself."))
    return CheckedFile(name, found, content)


def _content_type(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "application/pdf" if b"%%EOF" in content[-2048:] else None
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind = IMAGE_FORMATS.get(image.format or "")
            image.verify()  # a spoilt PNG fails here
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # decoding finds spoilt data verify() does not look at
        if kind == "image/jpeg" and not content.rstrip(b"\0").endswith(b"\xff\xd9"):
            return None  # cut short: WeasyPrint lets Pillow load truncated images, so the end marker decides
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return kind


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="attachment")
