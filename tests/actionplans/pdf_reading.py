"""Reading a rendered PDF the way a reviewer looks at it: the size of every piece of text, in points,
and how much of each page the text fills."""

import io
import math
from dataclasses import dataclass

from pypdf import PdfReader


@dataclass(frozen=True)
class Run:
    page: int  # 1-based
    text: str
    size: float  # points, as printed
    y: float  # baseline, points from the bottom of the page


def text_runs(pdf: bytes) -> list[Run]:
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):

        def visit(text, cm, tm, font, size, number=number):
            if not text.strip():
                return
            scale = math.sqrt(abs(tm[0] * tm[3] - tm[1] * tm[2]) * abs(cm[0] * cm[3] - cm[1] * cm[2]))
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            runs.append(Run(number, text.strip(), round(size * scale, 2), y))

        page.extract_text(visitor_text=visit)
    return runs


def page_fill(pdf: bytes, *, top_margin: float, bottom_margin: float) -> dict[int, float]:
    """Per page, how far down the page body its text reaches (0: none, 1: the whole body); the
    running title above `top_margin` and the footer below `bottom_margin` (points) do not count."""
    reader = PdfReader(io.BytesIO(pdf))
    height = float(reader.pages[0].mediabox.height)
    body_top, body_bottom = height - top_margin, bottom_margin
    lowest: dict[int, float] = {}
    for run in text_runs(pdf):
        if body_bottom < run.y < body_top:
            lowest[run.page] = min(lowest.get(run.page, body_top), run.y)
    return {
        page: (body_top - lowest[page]) / (body_top - body_bottom) if page in lowest else 0.0
        for page in range(1, len(reader.pages) + 1)
    }
