"""A pharmacist registers a security key (Chromium's virtual authenticator, through the DevTools
protocol) on the two-factor page, signs out, and signs in with the password then the key."""

import pytest
from playwright.sync_api import expect

from mtm.models import AuditEvent
from tests.e2e.test_accessibility import violations, with_axe
from tests.e2e.test_second_factor import sign_in_with_password, sign_out

pytestmark = pytest.mark.browser


def virtual_authenticator(page) -> None:
    """A platform authenticator that says yes: what a passkey on a laptop with a fingerprint does."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                     "hasUserVerification": True, "isUserVerified": True}},
    )  # fmt: skip


def second_factor_changes(user) -> list[str]:
    events = AuditEvent.objects.filter(object_id=str(user.pk)).order_by("at", "pk")
    return [e.changes["second factor"][1] for e in events if "second factor" in e.changes]


def register_a_key(page, base_url, user) -> None:
    sign_in_with_password(page, base_url, user.username)
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    page.goto(base_url + "/account/two-factor/")
    page.get_by_label("Name of the key").fill("Blue key")
    page.get_by_role("button", name="Register a security key").click()
    expect(page.get_by_text("Your security key is registered")).to_be_visible()
    assert page.locator("ol.recovery-codes code").count() == 10
    page.get_by_role("link", name="Done, I have kept them").click()
    page.goto(base_url + "/account/two-factor/")
    expect(page.get_by_text("one of your security keys")).to_be_visible()
    expect(page.get_by_role("button", name="Remove Blue key")).to_be_visible()
    assert not violations(page)
    sign_out(page)


def test_register_a_security_key_then_sign_in_with_it(live_server, page, pharmacist):
    virtual_authenticator(with_axe(page))
    register_a_key(page, live_server.url, pharmacist)

    sign_in_with_password(page, live_server.url, pharmacist.username)
    expect(page.get_by_role("heading", name="Your second factor")).to_be_visible()
    expect(page.get_by_role("button", name="Use your security key")).to_be_visible()
    assert not violations(page)
    page.get_by_role("button", name="Use your security key").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    assert second_factor_changes(pharmacist) == [
        "security key registered", "recovery codes made", "security key accepted",
    ]  # fmt: skip


def test_without_the_key_step_the_password_alone_gets_nowhere(live_server, page, pharmacist):
    virtual_authenticator(with_axe(page))
    register_a_key(page, live_server.url, pharmacist)

    sign_in_with_password(page, live_server.url, pharmacist.username)
    expect(page.get_by_role("heading", name="Your second factor")).to_be_visible()
    page.goto(live_server.url + "/today/")
    expect(page.get_by_role("heading", name="Your second factor")).to_be_visible()  # sent back
    assert "security key accepted" not in second_factor_changes(pharmacist)
