"""The fonts bundled in static/fonts/, which every PDF and printed page uses, so that documents look
the same on every machine."""

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
