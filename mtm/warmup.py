"""What a web worker loads before its first request, so that no pharmacist waits for it.

The drug knowledge base is loaded and validated (a broken one fails the start). The reading-grade
dictionary (about a second to load) and WeasyPrint with our fonts (the first PDF a worker renders
costs a few tenths of a second more than the next) are loaded too: the first written-summary page
and the first letter of each worker are then as fast as every later one."""

from django.template.loader import render_to_string

from actionplans.wording import readability
from interactions.selectors import knowledge_base
from mtm.fonts import pdf_fonts, pdf_url_fetcher


def warm_up() -> None:
    knowledge_base()
    for language in ("en", "es"):
        readability("Take one tablet each morning.", language=language)
    from weasyprint import HTML

    HTML(
        string=render_to_string("warmup.html", {"fonts": pdf_fonts()}), url_fetcher=pdf_url_fetcher()
    ).write_pdf()
