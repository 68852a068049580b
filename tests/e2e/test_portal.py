"""The patient portal on a phone: measured in Chromium at an iPhone SE's 375 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import REPORT_CSP_VIOLATIONS, sign_in

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def test_the_portal_is_comfortable_on_a_phone(demo, live_server, browser):
    context = browser.new_context(**PHONE)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    blocked = []
    page.on("console", lambda message: "CSP violation" in message.text and blocked.append(message.text))
    sign_in(page, live_server.url, username="demo-patient")
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()

    # Nothing wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # Every link and button, the top bar's too, is at least 44 x 44 px (WCAG 2.5.5).
    targets = page.locator("a, button").all()
    assert len(targets) >= 6
    for target in targets:
        box = target.bounding_box()
        if box is None or box["x"] + box["width"] <= 0:  # the skip link waits off screen until focused
            continue
        name = target.inner_text().strip()
        assert box["height"] >= 44 and box["width"] >= 44, (
            f"{name!r} is {box['width']:.0f} x {box['height']:.0f}"
        )
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, f"{name!r} goes past the screen's edge"

    # Dates carry their year.
    appointments = page.locator("section", has=page.get_by_role("heading", name="My appointments"))
    expect(appointments.locator("li strong").first).to_have_text(
        re.compile(r"^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, 20\d\d at \d{1,2}:\d\d [AP]M$")
    )
    documents = page.locator("section", has=page.get_by_role("heading", name="My documents"))
    expect(documents.locator("li").first).to_contain_text(re.compile(r"[A-Z][a-z]+ \d{1,2}, 20\d\d"))

    # The pharmacy's number is a button the phone can dial.
    expect(page.get_by_role("link", name="Call (608) 555-0142")).to_have_attribute("href", "tel:+16085550142")
    context.close()
    assert not blocked, blocked  # nothing the Content-Security-Policy refused
