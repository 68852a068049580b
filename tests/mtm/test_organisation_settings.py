from django.urls import reverse

from mtm.models import AuditEvent


def test_an_admin_changes_the_pharmacy_details_and_the_answer_wait(org, admin_client_org):
    page = admin_client_org.get(reverse("organisation_settings"))
    assert page.status_code == 200
    data = {"name": "Riverside Pharmacy", "phone": "(608) 555-0142", "fax": "(608) 555-0143", "time_zone": "America/Chicago",
            "prescriber_response_days": "14", "version": org.version}  # fmt: skip
    response = admin_client_org.post(reverse("organisation_settings"), data)
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.prescriber_response_days, org.time_zone, org.version) == (
        "Riverside Pharmacy",
        14,
        "America/Chicago",
        2,
    )
    assert AuditEvent.objects.filter(object_type="mtm.organisation", action="update").exists()
    stale = admin_client_org.post(reverse("organisation_settings"), {**data, "fax": "(608) 555-0000"})
    assert stale.status_code == 409 and "Someone else changed this" in stale.content.decode()
    bad = admin_client_org.post(
        reverse("organisation_settings"), {**data, "version": org.version, "time_zone": "Mars/Base"}
    )
    assert bad.status_code == 422 and "is not a known time zone" in bad.content.decode()


def test_only_admins_change_the_pharmacy_details(pharmacist_client, staff_client):
    assert pharmacist_client.get(reverse("organisation_settings")).status_code == 403
    assert staff_client.post(reverse("organisation_settings"), {}).status_code == 403
