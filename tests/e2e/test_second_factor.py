"""A pharmacist turns on a second factor with an authenticator app, signs out, and signs in with
password and code; a recovery code works once."""

import base64
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


def app_code(secret_text: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key the page gave."""
    secret = secret_text.replace(" ", "")
    totp = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def sign_in_with_password(page, base_url, username):
    page.goto(base_url + "/account/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_turn_on_the_second_factor_then_sign_in_with_a_code_and_a_recovery_code(
    live_server, page, pharmacist
):
    sign_in_with_password(page, live_server.url, pharmacist.username)
    page.goto(live_server.url + "/account/password/change/")
    page.get_by_role("link", name="Second factor").click()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code:", exact=True).fill(app_code(secret))
    page.get_by_role("button", name="Turn on the second factor").click()
    expect(page.get_by_text("Your authenticator app is set up")).to_be_visible()
    recovery = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(recovery) == 10
    page.get_by_role("link", name="Done, I have kept them").click()
    sign_out(page)

    sign_in_with_password(page, live_server.url, pharmacist.username)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code:", exact=True).fill(app_code(secret, 1))  # the next code: each is accepted once
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    sign_out(page)

    for attempt in ("first", "again"):
        sign_in_with_password(page, live_server.url, pharmacist.username)
        page.get_by_label("Code:", exact=True).fill(recovery[0])
        page.get_by_role("button", name="Continue").click()
        if attempt == "first":
            expect(page.get_by_role("heading", name="Today")).to_be_visible()
            sign_out(page)
    expect(page.get_by_text("That code did not match")).to_be_visible()  # used up
