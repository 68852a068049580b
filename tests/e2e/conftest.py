"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against the live server.

Skipped where Chromium is not installed, unless MTM_REQUIRE_BROWSER=1 (CI sets it), which turns a
missing browser into a failure."""

import os
import shutil

import pytest
from django.core.management import call_command

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("MTM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium package)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a busy CI machine needs more than the default 5 s

    # Playwright's sync API keeps an event loop in this thread while the browser is open; the ORM
    # calls the tests (and database teardown) make meanwhile are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
            ],
        )  # fmt: skip
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


# Reported by every page the tests open: anything the Content-Security-Policy blocked.
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) =>
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`));"""


@pytest.fixture
def page(browser):
    """A browser tab; the test fails if a page it opened broke the Content-Security-Policy (something
    the page needs would then be missing for users)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})  # a tablet in landscape
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    blocked = []
    page.on("console", lambda message: "CSP violation" in message.text and blocked.append(message.text))
    yield page
    context.close()
    assert not blocked, "\n".join(blocked)


@pytest.fixture
def demo(transactional_db, settings):
    """The demo data, as `python3.11 dev.py run` seeds it."""
    settings.DEBUG = True
    call_command("seed_demo")
    settings.DEBUG = False


def sign_in(page, base_url, username="demo-pharmacist"):
    page.goto(base_url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()


def htmx_settled(page) -> None:
    """Wait until htmx has finished swapping and processing new content, so that the next
    interaction reaches elements whose handlers are attached (a busy CI machine is slow here)."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
