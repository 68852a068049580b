"""The API's browsable documentation works under the Content-Security-Policy (the page fixture fails
the test on any violation)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_pharmacist_reads_the_api_documentation(demo, live_server, page):
    sign_in(page, live_server.url)
    page.goto(live_server.url + "/api/schema/ui/")
    expect(page.get_by_text("/api/v1/patients/", exact=True).first).to_be_visible()
