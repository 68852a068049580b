"""Headers every response carries: a Content-Security-Policy on pages, a Permissions-Policy, and
no-store wherever patient data is (pages and API answers to a signed-in user, PDFs, calendars)."""

from django.urls import reverse

from tests.conftest import client_for


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_pages_allow_only_our_own_scripts_and_styles(client, db):
    policy = directives(client.get(reverse("login")))
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"  # no nonce asked for: no inline style at all
    assert (
        policy["default-src"] == "default-src 'none'"
        and policy["frame-ancestors"] == "frame-ancestors 'none'"
    )
    assert "unsafe-inline" not in str(policy) and "unsafe-eval" not in str(policy)


def test_every_response_has_a_permissions_policy(client, db):
    response = client.get(reverse("login"))
    assert (
        "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    )


def test_signed_in_pages_and_api_answers_are_never_cached(pharmacist, patient):
    client = client_for(pharmacist)
    for url in (reverse("patient_detail", args=[patient.pk]), f"/api/v1/patients/{patient.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url
