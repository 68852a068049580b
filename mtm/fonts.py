"""The fonts bundled in static/fonts/, which every PDF and printed page uses, so that documents look
the same on every machine; and what WeasyPrint may load while it makes a PDF: those font files and
inline data, nothing else (no other file on the server, no address on the network, whatever a
document's text contains)."""

from pathlib import Path

from django.conf import settings
from django.templatetags.static import static

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


def pdf_fonts() -> dict[str, str]:
    """For WeasyPrint: the files themselves."""
    return {weight: (FONT_DIR / name).as_uri() for weight, name in FONT_FILES.items()}


def browser_fonts() -> dict[str, str]:
    """For a page the browser prints: each file's static address. With DEBUG off the collected names
    carry a hash of their content, so each file is looked up on its own (the folder has no entry)."""
    return {weight: static(f"fonts/{name}") for weight, name in FONT_FILES.items()}


def pdf_url_fetcher():
    """WeasyPrint's fetcher for our PDFs: `data:` URLs and the bundled files in static/ only.
    Anything else is refused, and WeasyPrint leaves that resource out (with a warning)."""
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher

    static_dir = (Path(settings.BASE_DIR) / "static").resolve()

    class StaticFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if not path.is_relative_to(static_dir):
                    raise ValueError("only the app's own static files may be loaded into a PDF")
            elif parts.scheme != "data":
                raise ValueError(f"no {parts.scheme or 'relative'} address may be loaded into a PDF")
            return super().fetch(url, headers)

    return StaticFilesOnly(allowed_protocols=("file", "data"), allow_redirects=False)
