"""WeasyPrint loads only our own static files (the fonts) and inline data into a PDF: whatever a
document's text holds, it never reads another file on the server nor fetches an address."""

import http.server
import io
import threading

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from mtm.fonts import FONT_DIR, pdf_url_fetcher

PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture
def server():
    """A web server that records what is asked of it."""
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", asked
    httpd.shutdown()


def test_a_pdf_loads_our_fonts_and_inline_images_and_nothing_else(server, tmp_path):
    url, asked = server
    secret = tmp_path / "secret.txt"
    secret.write_text("not for a PDF")
    html = f"""<style>@font-face {{ font-family: T; src: url("{(FONT_DIR / "DejaVuSans.ttf").as_uri()}"); }}
      body {{ font-family: T; }}</style>
      <p>Hello</p><img src="{PIXEL}"><img src="{url}/tracker.png">
      <link rel="stylesheet" href="{url}/x.css"><object data="{secret.as_uri()}"></object>
      <img src="{secret.as_uri()}"><img src="file:///etc/passwd">"""
    pdf = HTML(string=html, url_fetcher=pdf_url_fetcher()).write_pdf()
    assert asked == []  # no request left the server
    fonts = {
        str(font.get_object()["/BaseFont"])
        for font in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()
    }
    assert any(name.endswith("+T") for name in fonts), fonts  # the bundled font, loaded under our family name
    assert b"not for a PDF" not in pdf


def test_the_default_fetcher_would_have_asked_the_network(server):
    """What the test above guards against, shown with WeasyPrint's own fetcher."""
    url, asked = server
    HTML(string=f'<img src="{url}/tracker.png">').write_pdf()
    assert asked == ["/tracker.png"]
