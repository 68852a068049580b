"""Long exports are prepared by the worker (mtm/exports.py): the outcomes page offers the billing CSV
of a long period as one to prepare, its page shows the progress, and the file downloaded is the
same, byte for byte, as the one streamed for a short period."""

import datetime
import tracemalloc

import pytest
from django.urls import reverse
from django.utils import timezone

from mtm import exports, outbox
from mtm.audit import Actor
from mtm.models import AuditEvent, Export, ExportPart, ExportStatus, QueuedTask
from mtm.permissions import Role
from tests import factories
from tests.conftest import client_for
from tests.reviews.test_reports import bulk_completed_reviews, completed_review, period, streamed


def ask_for_billing(client, capture, days_back=7):
    with capture(execute=True):  # the outbox hands the work over once the request's transaction commits
        return client.post(reverse("billing_export_prepare"), period(days_back=days_back))


def test_a_long_period_is_prepared_in_the_background_and_downloads_as_streamed(
    org, patient, pharmacist, pharmacist_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exports, "STREAM_AT_MOST", 2)
    monkeypatch.setattr(exports, "PART_BYTES", 300)  # several parts
    for minutes in (20, 40, 65):
        completed_review(patient, pharmacist, minutes=minutes)
    outcomes = pharmacist_client.get(reverse("outcomes_report"), period())
    body = outcomes.content.decode()
    assert "Prepare the billing export (CSV)" in body and reverse("billing_export") not in body

    response = ask_for_billing(pharmacist_client, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("export_detail", args=[export.pk])
    assert (export.status, export.items_total, export.items_done) == (ExportStatus.READY, 3, 3)
    assert ExportPart.objects.filter(export=export).count() > 1

    page = pharmacist_client.get(response["Location"]).content.decode()
    assert "Ready." in page and f"Download {export.filename}" in page and 'hx-trigger="every' not in page
    download = pharmacist_client.get(reverse("export_download", args=[export.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    prepared = streamed(download)
    assert int(download["Content-Length"]) == len(prepared.encode()) == export.size
    assert prepared == streamed(pharmacist_client.get(reverse("billing_export"), period()))
    assert prepared.count("\n") == 1 + 1 + 2 + 3  # the header; 99605; 99605 + 99607; 99605 + 99607 x2
    actions = list(AuditEvent.objects.filter(object_type="mtm.export").values_list("action", flat=True))
    assert sorted(actions) == ["create", "view"]  # asked for, downloaded


def test_the_page_shows_the_progress_and_polls_until_ready(org, pharmacist, pharmacist_client):
    export = Export.objects.create(
        organisation=org, requested_by=pharmacist, kind="billing", title="Billing, 2026",
        parameters={"start": "2026-01-01", "end": "2026-12-01"}, status=ExportStatus.RUNNING,
        items_total=4000, items_done=1000,
    )  # fmt: skip
    url = reverse("export_detail", args=[export.pk])
    page = pharmacist_client.get(url).content.decode()
    assert "Being prepared…" in page and "1000 of 4000 read (25%)" in page and 'value="25"' in page
    fragment = pharmacist_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.startswith('<div id="export-status"') and 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment
    assert pharmacist_client.get(reverse("export_download", args=[export.pk]))["Location"] == url  # not yet
    listed = pharmacist_client.get(reverse("export_list")).content.decode()
    assert "Billing, 2026" in listed and "Being prepared (25%)" in listed


def test_an_export_is_its_requesters_alone(
    org,
    patient,
    pharmacist,
    pharmacist_client,
    other_pharmacist,
    staff_client,
    django_capture_on_commit_callbacks,
):
    completed_review(patient, pharmacist)
    ask_for_billing(pharmacist_client, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    colleague = factories.make_user(org, Role.PHARMACIST, username="colleague")
    for client in (client_for(colleague), client_for(other_pharmacist), staff_client):
        assert client.get(reverse("export_detail", args=[export.pk])).status_code == 404
        assert client.get(reverse("export_download", args=[export.pk])).status_code == 404
        assert "Billing" not in client.get(reverse("export_list")).content.decode()
    assert staff_client.post(reverse("billing_export_prepare"), period()).status_code == 403


def test_a_wrong_period_is_refused_naming_the_field(pharmacist_client):
    response = pharmacist_client.post(reverse("billing_export_prepare"), {"start": "2026-13-01", "end": ""})
    assert response.status_code == 400 and not Export.objects.exists()
    body = response.content.decode()
    assert 'id="id_start_error"' in body and 'id="id_end_error"' in body


def test_asked_for_with_the_broker_down_it_is_prepared_when_the_relay_runs(
    patient, pharmacist, pharmacist_client, broker_down, django_capture_on_commit_callbacks
):
    completed_review(patient, pharmacist)
    ask_for_billing(pharmacist_client, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    assert (
        export.status == ExportStatus.QUEUED and QueuedTask.objects.get().task == "mtm.exports.prepare_export"
    )
    assert (
        "Waiting to start…"
        in pharmacist_client.get(reverse("export_detail", args=[export.pk])).content.decode()
    )
    outbox.relay()
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.size > 0


def failing_writer(user, parameters):
    raise RuntimeError("disk on fire")


def test_a_failure_says_so_and_keeps_no_part_of_the_file(
    org, pharmacist, pharmacist_client, monkeypatch, django_capture_on_commit_callbacks
):
    broken = exports.Kind(f"{__name__}.failing_writer", exports.KINDS["billing"].capability)
    monkeypatch.setitem(exports.KINDS, "billing", broken)
    ask_for_billing(pharmacist_client, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    assert export.status == ExportStatus.FAILED and not ExportPart.objects.exists()
    page = pharmacist_client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Failed." in page and "Ask for it again" in page and "disk on fire" not in page


def test_a_user_who_lost_the_right_gets_no_file(org, pharmacist):
    export = exports.export_request(
        user=pharmacist, kind="billing", parameters=period(), title="Billing", by=Actor(pharmacist)
    )
    pharmacist.is_active = False
    pharmacist.save()
    assert exports.prepare_export(str(export.pk)) == ExportStatus.FAILED


def test_exports_are_forgotten_after_a_week(org, pharmacist):
    old, _ = (
        Export.objects.create(organisation=org, requested_by=pharmacist, kind="billing", title=title)
        for title in ("old", "recent")
    )
    ExportPart.objects.create(export=old, number=0, data=b"x")
    Export.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    assert exports.forget_old_exports() == 2  # the export and its part
    assert list(Export.objects.values_list("title", flat=True)) == ["recent"]


@pytest.mark.parametrize("flat", ["prepare", "download"])
def test_preparing_and_downloading_take_flat_memory(org, pharmacist, pharmacist_client, flat, monkeypatch):
    """Five times the reviews, about the same memory: read a few hundred at a time, written and sent
    in parts (made small here, so that both files have several)."""
    monkeypatch.setattr(exports, "PART_BYTES", 32 * 1024)

    def peak() -> int:
        export = exports.export_request(
            user=pharmacist,
            kind="billing",
            parameters=period(days_back=7),
            title="Billing",
            by=Actor(pharmacist),
        )
        tracemalloc.start()
        exports.prepare_export(str(export.pk))
        if flat == "download":
            tracemalloc.stop()
            response = pharmacist_client.get(reverse("export_download", args=[export.pk]))
            tracemalloc.start()
            size = sum(len(chunk) for chunk in response.streaming_content)
            assert size == Export.objects.get(pk=export.pk).size
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    bulk_completed_reviews(org, pharmacist, 1000)
    few = peak()
    bulk_completed_reviews(org, pharmacist, 4000)
    many = peak()
    assert many < few * 1.5, (few, many)
