"""What a web worker does before its first request (mtm/warmup.py, called from mtm/wsgi.py)."""

import io
import time

import pytest

from actionplans import wording


def test_the_wsgi_application_warms_up_and_serves(transactional_db):
    from mtm.wsgi import (
        application,
    )  # runs warm_up(): the knowledge base, the reading-grade words, WeasyPrint

    replies = []
    body = application(
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/healthz",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
        },
        lambda status, headers, exc_info=None: replies.append(status),
    )
    assert replies[0].startswith("200")
    assert b"".join(body)


@pytest.mark.parametrize("language", ["en", "es"])
def test_after_warming_up_a_reading_grade_is_immediate(language):
    from mtm.warmup import warm_up

    warm_up()
    started = time.perf_counter()
    wording.readability("Take one tablet of metformin each morning with breakfast.", language=language)
    assert time.perf_counter() - started < 0.2  # loading the pronunciation dictionary alone takes ~1 s
