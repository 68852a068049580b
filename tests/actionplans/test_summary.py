import datetime
import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from actionplans import services
from actionplans.documents import summary_snapshot
from actionplans.models import ActionPlan, IssuedDocument
from mtm.errors import EditConflict
from mtm.models import AuditEvent
from mtm.permissions import Role
from patients import services as patient_services
from reviews import services as review_services
from tests import factories
from tests.actionplans.conftest import editor_form, editor_post, text_of
from tests.conftest import client_for


def test_the_plan_starts_from_the_recommendations_to_the_patient(plan):
    topics = list(plan.topics.values_list("talked_about", "to_do"))
    assert topics == [("Advil can hurt your kidneys.", "Stop taking Advil. Use Tylenol for pain.")]


def test_the_snapshot_holds_medications_allergies_and_topics(completed, plan, today):
    snapshot = summary_snapshot(review=completed, plan=plan, today=today)
    medications = {m["name"]: m for m in snapshot["medications"]}
    assert medications["lisinopril 40 mg"]["how"] == "1 tablet every morning"
    assert medications["lisinopril 40 mg"]["prescriber"].startswith("Alan Hartman")
    assert medications["Advil 200 mg"]["why"] == "knee pain"  # from the CMR answers
    assert medications["Advil 200 mg"]["why_stopped"] == "Kidneys"  # stopped during the review
    assert snapshot["allergies"] == ["penicillin: hives (allergy)"]
    assert snapshot["topics"][0]["to_do"] == "Stop taking Advil. Use Tylenol for pain."
    assert snapshot["prepared_on"] == today.strftime("%m/%d/%Y") and snapshot["patient"]["date_of_birth"]


def test_the_issued_pdf_has_every_cms_heading_and_each_medication(plan, by, today):
    document = services.document_issue(plan=plan, by=by, today=today)
    pdf = bytes(document.pdf)
    assert pdf.startswith(b"%PDF") and document.sha256 == hashlib.sha256(pdf).hexdigest()
    text = text_of(pdf)
    for heading in [
        "Medication Action Plan for Walter Brennan", "What we talked about:", "What I need to do:",
        "What I did and when I did it:", "My follow-up plan", "Questions I want to ask",
        "Personal Medication List for Walter Brennan", "Allergies or side effects:", "Medication:", "How I use it:",
        "Why I use it:", "Prescriber:", "Date I started using it:", "Date I stopped using it:",
        "Why I stopped using it:", "Other information:", f"DATE PREPARED: {today:%m/%d/%Y}",
    ]:  # fmt: skip
        assert heading in text, heading
    assert "Advil 200 mg" in text and "lisinopril 40 mg" in text and "Page 1 of" in text


def test_long_parts_continue_with_running_titles_and_page_numbers(plan, by, today):
    for number in range(6):
        services.topic_add(
            plan=plan, data={"talked_about": f"Topic {number}", "to_do": "A step to take."}, by=by
        )
    text = text_of(bytes(services.document_issue(plan=plan, by=by, today=today).pdf))
    assert "Medication Action Plan for Walter Brennan, DOB:" in text and "(Continued)" in text
    pages = len(PdfReader(io.BytesIO(bytes(IssuedDocument.objects.get().pdf))).pages)
    assert f"Page {pages} of {pages}" in text


# --- About my medicines ----------------------------------------------------------------------------------


def test_about_my_medicines_is_drawn_from_the_knowledge_base_with_its_sources(plan):
    entries = {e.name: e for e in plan.education.all()}
    assert set(entries) == {"lisinopril 40 mg", "Tylenol 500 mg"}  # the active medications; Advil was stopped
    tylenol, lisinopril = entries["Tylenol 500 mg"], entries["lisinopril 40 mg"]
    assert "pain" in tylenol.purpose.lower() and "liver" in tylenol.side_effects
    assert "blood pressure" in lisinopril.purpose.lower()
    assert any("Drug Facts" in source for source in tylenol.sources)
    assert any("lisinopril" in source.lower() for source in lisinopril.sources)
    # Printed by default: what was started or changed during the review, and what the patient's
    # recommendations are about; the rest the pharmacist ticks.
    assert tylenol.included and not lisinopril.included


def test_a_combination_product_shows_each_ingredient(completed, by):
    patient_services.medication_add(patient=completed.patient, data={"name": "Bactrim DS"}, by=by)
    plan = services.plan_prepare(review=completed, by=by)
    bactrim = plan.education.get(name="Bactrim DS")
    assert bactrim.purpose.startswith("Sulfamethoxazole: ") and "Trimethoprim: " in bactrim.purpose


def test_edited_education_is_printed_and_frozen(plan, by, today):
    lisinopril = plan.education.get(name="lisinopril 40 mg")
    services.education_update(
        entry=lisinopril, data={"included": True, "how_to_take": "Take it every morning, even when you feel well."},
        version=lisinopril.version, by=by,
    )  # fmt: skip
    document = services.document_issue(plan=plan, by=by, today=today)
    text = text_of(bytes(document.pdf))
    assert "About my medicines" in text and "Take it every morning, even when you feel well." in text
    assert "What it is for:" in text and "Get medical help if:" in text
    assert "Sources:" not in text and "Drug Facts" not in text  # citations stay in the staff view
    assert document.snapshot["education_sources"]  # and with the frozen version, for the record
    assert [e["name"] for e in document.snapshot["education"]] == [
        "lisinopril 40 mg",
        "Tylenol 500 mg",
    ]  # A to Z
    with pytest.raises(EditConflict):  # a colleague's newer save is not overwritten
        services.education_update(
            entry=lisinopril, data={"purpose": "x"}, version=lisinopril.version - 1, by=by
        )


def test_medicines_added_to_the_list_later_get_an_entry_once(plan, by):
    patient_services.medication_add(patient=plan.patient, data={"name": "metformin 500 mg"}, by=by)
    assert services.education_sync(plan=plan, by=by) == 1
    assert services.education_sync(plan=plan, by=by) == 0
    assert "blood sugar" in plan.education.get(name="metformin 500 mg").purpose


def test_the_pharmacist_edits_education_on_the_page(plan, pharmacist_client):
    page = pharmacist_client.get(reverse("plan_edit", args=[plan.review_id])).content.decode()
    assert "About my medicines" in page and "Tylenol 500 mg" in page
    assert "Drug Facts" in page  # the sources, in the staff view only
    entry = plan.education.get(name="lisinopril 40 mg")
    prefix = f"e-{entry.pk}"
    form = editor_form(pharmacist_client, plan.review)
    form |= {f"{prefix}-included": ["on"], f"{prefix}-purpose": ["Lowers blood pressure."]}
    assert editor_post(pharmacist_client, plan.review, form, action="save").status_code == 302
    entry.refresh_from_db()
    assert entry.included and entry.purpose == "Lowers blood pressure."
    stale = editor_post(
        pharmacist_client, plan.review, {**form, f"{prefix}-purpose": ["Older text"]}, action="save"
    )
    assert stale.status_code == 409
    entry.refresh_from_db()
    assert entry.purpose == "Lowers blood pressure."


def test_a_reissue_makes_a_new_version_and_keeps_the_old(plan, by, today):
    first = services.document_issue(plan=plan, by=by, today=today)
    topic = plan.topics.get()
    services.topic_update(topic=topic, data={"to_do": "Stop Advil today."}, version=topic.version, by=by)
    with pytest.raises(ValidationError) as error:
        services.document_issue(plan=plan, by=by, today=today)
    assert "reason" in error.value.message_dict
    second = services.document_issue(plan=plan, by=by, today=today, reason="Corrected the Advil step")
    first.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert first.superseded_at is not None and second.is_current
    assert "Stop Advil today." in text_of(bytes(second.pdf)) and "Stop Advil today." not in text_of(
        bytes(first.pdf)
    )
    assert first.snapshot["topics"][0]["to_do"] == "Stop taking Advil. Use Tylenol for pain."  # frozen


def test_issuing_records_the_summary_delivery(plan, completed, by, today):
    services.document_issue(plan=plan, by=by, today=today)
    completed.refresh_from_db()
    assert completed.summary_delivered_on == today


def test_only_a_completed_cmr_has_a_written_summary(patient, by):
    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    with pytest.raises(ValidationError):
        services.plan_prepare(review=review, by=by)


# --- Pages and the portal -----------------------------------------------------------------------------


def test_the_completed_review_prepares_the_written_summary_in_one_click(completed, pharmacist_client):
    workspace = reverse("review_workspace", args=[completed.pk])
    page = pharmacist_client.get(workspace).content.decode()
    assert (
        "Prepare the written summary" in page
        and "Written summary: action plan and medication list" not in page
    )
    response = pharmacist_client.post(reverse("plan_edit", args=[completed.pk]), {"action": "prepare"})
    assert response.status_code == 302 and response["Location"] == reverse("plan_edit", args=[completed.pk])
    assert ActionPlan.objects.filter(review=completed).count() == 1
    page = pharmacist_client.get(workspace).content.decode()
    assert (
        "Written summary: action plan and medication list" in page
        and "Prepare the written summary" not in page
    )


def test_the_pharmacist_prepares_edits_and_issues_from_the_page(completed, pharmacist_client):
    target = reverse("plan_edit", args=[completed.pk])
    assert "Prepare the action plan" in pharmacist_client.get(target).content.decode()
    assert pharmacist_client.post(target, {"action": "prepare"}).status_code == 302
    form = editor_form(pharmacist_client, completed)
    form["plan-follow_up"] = ["Call in 3 months"]
    assert (
        editor_post(pharmacist_client, completed, form, action="issue").status_code == 302
    )  # saved, then issued
    document = IssuedDocument.objects.get()
    assert "Call in 3 months" in text_of(bytes(document.pdf))
    form = editor_form(pharmacist_client, completed)
    form["plan-questions"] = ["Is the knee better?"]
    again = editor_post(pharmacist_client, completed, form, action="issue")
    assert again.status_code == 422 and "Say why the summary is issued again" in again.content.decode()
    assert "Your changes were saved, but the summary was not issued" in again.content.decode()
    assert completed.action_plan.__class__.objects.get().questions == "Is the knee better?"


def test_the_patient_downloads_their_summary_and_nobody_elses(plan, by, patient_user, org, completed, today):
    document = services.document_issue(plan=plan, by=by, today=today)
    client = client_for(patient_user)
    home = client.get(reverse("portal")).content.decode()
    assert reverse("portal_download", args=[document.pk]) in home
    response = client.get(reverse("portal_download", args=[document.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(object_id=str(document.pk), actor=patient_user).exists()
    other_patient = factories.make_patient(org, first_name="Nosy", last_name="Neighbour")
    other_user = factories.make_user(org, Role.PATIENT, username="nosy")
    other_patient.portal_user = other_user
    other_patient.save()
    assert client_for(other_user).get(reverse("portal_download", args=[document.pk])).status_code == 404
    assert (
        reverse("portal_download", args=[document.pk])
        not in client_for(other_user).get(reverse("portal")).content.decode()
    )
    assert (
        client.get(reverse("document_download", args=[document.pk])).status_code == 403
    )  # the staff download


def test_the_print_view_shows_the_issued_version_as_frozen(plan, by, staff_client, other_pharmacist, today):
    document = services.document_issue(plan=plan, by=by, today=today)
    topic = plan.topics.get()
    services.topic_update(topic=topic, data={"to_do": "Changed after issuing."}, version=topic.version, by=by)
    page = staff_client.get(reverse("document_print", args=[document.pk])).content.decode()
    assert "Stop taking Advil. Use Tylenol for pain." in page and "Changed after issuing." not in page
    assert "Personal Medication List for Walter Brennan" in page and "data-print" in page
    assert AuditEvent.objects.filter(object_id=str(document.pk), changes__has_key="print view").exists()
    assert client_for(other_pharmacist).get(reverse("document_print", args=[document.pk])).status_code == 404


def test_staff_download_is_scoped_to_the_organisation(plan, by, staff_client, other_pharmacist, today):
    document = services.document_issue(plan=plan, by=by, today=today)
    assert staff_client.get(reverse("document_download", args=[document.pk])).status_code == 200
    assert (
        client_for(other_pharmacist).get(reverse("document_download", args=[document.pk])).status_code == 404
    )


def test_a_spanish_speaking_patient_gets_the_fixed_text_in_spanish(completed, plan, by, patient, today):
    patient.preferred_language = "es"
    patient.save()
    for number in range(6):  # enough for the plan to continue on a second page
        services.topic_add(plan=plan, data={"talked_about": f"Tema {number}", "to_do": "Un paso."}, by=by)
    document = services.document_issue(plan=plan, by=by, today=today)
    text = text_of(bytes(document.pdf))
    assert document.language == "es"
    for spanish in ["Plan de Acción de Medicamentos para Walter Brennan", "De qué hablamos:", "Lo que debo hacer:",
                    "Lista Personal de Medicamentos para Walter Brennan", "Alergias o efectos secundarios:",
                    "Por qué dejé de usarlo:", "(Continuación)", "Página 1 de", "Acerca de mis medicamentos",
                    "Para qué es:", "penicillin: hives (alergia)"]:  # fmt: skip
        assert spanish in text, spanish
    assert "What we talked about" not in text
    assert "Stop taking Advil. Use Tylenol for pain." in text  # the pharmacist's own words stay as written


def test_a_language_without_a_translation_gets_english(completed, plan, patient, today):
    patient.preferred_language = "vi"
    patient.save()
    assert summary_snapshot(review=completed, plan=plan, today=today)["language"] == "en"


# --- Emailed download links ----------------------------------------------------------------------------


def test_an_emailed_link_downloads_the_document_until_it_expires(
    plan, by, patient, today, mailoutbox, client, django_capture_on_commit_callbacks
):
    from actionplans.models import DownloadLink

    patient.email = "walter@example.org"
    patient.save()
    document = services.document_issue(plan=plan, by=by, today=today)
    with django_capture_on_commit_callbacks(execute=True):  # the email goes once the link is committed
        link = services.download_link_send(document=document, by=by, base_url="https://mtm.example.org/")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["walter@example.org"]
    body = mailoutbox[0].body
    assert f"https://mtm.example.org/d/{link.token}/" in body and "Advil" not in body  # nothing clinical
    response = client.get(reverse("download_link", args=[link.token]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "no-store" in response["Cache-Control"]  # kept in no cache on the way
    assert "Content-Security-Policy" not in response  # it would stop the browser's PDF viewer
    assert AuditEvent.objects.filter(
        object_id=str(document.pk), actor_username="emailed download link"
    ).exists()
    DownloadLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    expired = client.get(reverse("download_link", args=[link.token]))
    assert expired.status_code == 410 and b"%PDF" not in expired.content
    assert client.get(reverse("download_link", args=["not-a-real-token"])).status_code == 404


def test_a_link_needs_an_email_address_and_the_current_version(plan, by, patient, today):
    document = services.document_issue(plan=plan, by=by, today=today)
    with pytest.raises(ValidationError) as error:
        services.download_link_send(document=document, by=by, base_url="https://x/")
    assert "email" in error.value.message_dict
    patient.representative_email = "daughter@example.org"
    patient.save()
    plan = services.plan_update(
        plan=plan, data={"questions": "Is the knee better?"}, version=plan.version, by=by
    )
    services.document_issue(plan=plan, by=by, today=today, reason="correction")
    document.refresh_from_db()
    with pytest.raises(ValidationError, match="replaced"):
        services.download_link_send(document=document, by=by, base_url="https://x/")


def test_a_spanish_speaker_gets_the_email_in_spanish(
    plan, by, patient, today, mailoutbox, django_capture_on_commit_callbacks
):
    patient.email, patient.preferred_language = "walter@example.org", "es"
    patient.save()
    document = services.document_issue(plan=plan, by=by, today=today)
    with django_capture_on_commit_callbacks(execute=True):
        services.download_link_send(document=document, by=by, base_url="https://x/")
    assert (
        "revisión de sus medicamentos" in mailoutbox[0].subject and "Descárguelo aquí" in mailoutbox[0].body
    )


def test_a_link_to_a_version_corrected_since_says_so_and_offers_the_current_one(
    plan, by, patient, today, client, django_capture_on_commit_callbacks
):
    patient.email = "walter@example.org"
    patient.save()
    first = services.document_issue(plan=plan, by=by, today=today)
    with django_capture_on_commit_callbacks(execute=True):
        link = services.download_link_send(document=first, by=by, base_url="https://mtm.example.org/")
    second = services.document_issue(
        plan=plan, by=by, today=today, reason="Large print asked for", large_print=True
    )
    url = reverse("download_link", args=[link.token])
    page = client.get(url)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")  # not the old PDF
    text = page.content.decode()
    assert "has since corrected them" in text and "Download the newer version" in text
    newer = client.get(url, {"version": "current"})
    assert newer.status_code == 200 and bytes(newer.content) == bytes(second.pdf)
    assert AuditEvent.objects.filter(
        object_id=str(second.pk), actor_username="emailed download link"
    ).exists()
    assert not AuditEvent.objects.filter(
        object_id=str(first.pk), actor_username="emailed download link"
    ).exists()


def test_staff_send_the_link_from_the_plan_page(
    plan, by, patient, today, pharmacist_client, mailoutbox, django_capture_on_commit_callbacks
):
    patient.email = "walter@example.org"
    patient.save()
    document = services.document_issue(plan=plan, by=by, today=today)
    form = editor_form(pharmacist_client, plan.review)
    with django_capture_on_commit_callbacks(execute=True):
        response = pharmacist_client.post(
            reverse("plan_edit", args=[plan.review_id]),
            {**form, "action": f"email:{document.pk}"},
            follow=True,
        )
    assert "is on its way to walter@example.org" in response.content.decode()
    assert len(mailoutbox) == 1 and "http://testserver/d/" in mailoutbox[0].body
