"""Receipt PDFs: WeasyPrint renders a template fed with a plain dict; its URL fetcher only hands out
the portal's own static files, so nothing in a receipt can reach the network or the file system."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import segno
from flask import current_app, render_template
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.money import chinese_capitals


class StaticFilesOnly(URLFetcher):
    """Serves file:// URLs inside the static folder and refuses everything else."""

    def __init__(self, static_folder: str) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = Path(static_folder).resolve()

    def fetch(self, url, headers=None):
        if not url.startswith("file://"):
            raise ValueError(f"receipts fetch only the portal's static files, not {url[:60]}")
        path = Path(url.removeprefix("file://").split("?")[0]).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError("receipts fetch only the portal's static files")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def receipt_html(facts: dict) -> str:
    qr = segno.make(facts["verify_url"], error="m")
    svg = qr.svg_inline(scale=3, title="QR")
    qr_svg = Markup(svg)  # noqa: S704 - segno's SVG, no user text  # nosec B704
    # Labels are printed in both languages (Chinese first) whatever the reader's language.
    return render_template(
        "receipts/receipt.html",
        receipt=facts,
        capitals=chinese_capitals(facts["amount_fen"]),
        qr_svg=qr_svg,
    )


def render_pdf(html: str) -> bytes:
    static = current_app.static_folder
    document = HTML(string=html, base_url=Path(static).as_uri() + "/", url_fetcher=StaticFilesOnly(static))
    return document.write_pdf(pdf_variant="pdf/ua-1")
