"""A long export, as a pharmacist meets it: asked for on the Outcomes page, its progress shown while
the worker prepares it, and the download offered on the same page when it is ready."""

import pytest
from playwright.sync_api import expect

from mtm import exports, outbox
from mtm.models import Export, ExportStatus
from tests.e2e.conftest import htmx_settled, sign_in

pytestmark = pytest.mark.browser


def test_the_billing_export_of_a_long_period_is_prepared_then_downloaded(
    demo, live_server, page, broker_down, monkeypatch
):
    monkeypatch.setattr(exports, "STREAM_AT_MOST", -1)  # every period is "long" here
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_role("button", name="Prepare the billing export (CSV)").click()

    # The broker is down: the export waits, and the page says so while it polls.
    status = page.get_by_role("status")
    expect(status).to_contain_text("Waiting to start")
    htmx_settled(page)
    assert outbox.relay() == 1  # the broker is back: the relay hands the work to the worker
    assert Export.objects.get().status == ExportStatus.READY
    download_link = page.get_by_role("link", name="Download mtm-billing-")
    expect(download_link).to_be_visible()  # the page found out on its own
    with page.expect_download() as download:
        download_link.click()
    path = download.value.path()
    with open(path, encoding="utf-8") as file:
        assert file.readline().startswith("date_of_service,patient_last_name,")

    page.get_by_role("link", name="Your exports").click()
    expect(page.get_by_role("row", name="Billing")).to_contain_text("Ready")
