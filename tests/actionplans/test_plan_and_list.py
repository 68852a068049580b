"""The plan and the medication list say one thing: what the plan tells the patient to stop is shown
stopped, or "Stop as agreed with your doctor", and leaves "About my medicines"; issuing lists every
contradiction left, and each has one-click ways to resolve it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actionplans import services
from actionplans.documents import summary_snapshot
from actionplans.selectors import plan_issue_check
from patients.models import MedicationStatus
from reviews.models import PatientAction
from tests.actionplans.conftest import completed_cmr, editor_form, editor_post, text_of

WARFARIN_AND_ADVIL = {
    "title": "Warfarin with ibuprofen: bleeding risk", "medications": ["Advil", "Coumadin 5 mg"],
    "action": PatientAction.STOP_DRUG, "talked_about": "Advil can make you bleed more while you take Coumadin.",
    "to_do": "Stop taking Advil. Use Tylenol for back pain.",
}  # fmt: skip


@pytest.fixture
def bleeding(patient, by):
    """A plan whose one topic stops Advil (and, of course, not the warfarin it is about too)."""
    review, meds = completed_cmr(
        patient, by, medications=["Advil", "Coumadin 5 mg"], problems=[WARFARIN_AND_ADVIL]
    )
    return services.plan_prepare(review=review, by=by), meds


def names(medications) -> set[str]:
    return {m.name for m in medications}


def test_a_stop_recommendation_stops_the_medication_its_words_name(bleeding):
    plan, _ = bleeding
    assert names(plan.topics.get().stops.all()) == {"Advil"}


def test_a_replacement_stops_the_problems_medication_that_is_replaced(patient, by):
    review, _ = completed_cmr(patient, by, medications=["lisinopril 40 mg", "HCTZ 25", "Advil", "Tylenol PM", "Zocor 40 mg", "amlodipine"], problems=[
        {"title": "Triple whammy", "medications": ["lisinopril 40 mg", "HCTZ 25", "Advil"], "action": PatientAction.REPLACE_DRUG,
         "talked_about": "Advil with your blood pressure pills can hurt your kidneys.", "to_do": "Use Tylenol instead of Advil."},
        {"title": "Diphenhydramine at 82", "medications": ["Tylenol PM"], "action": PatientAction.REPLACE_DRUG,
         "talked_about": "The sleep part can cause falls.", "to_do": "Use plain Tylenol at night."},
        {"title": "Simvastatin with amlodipine", "medications": ["Zocor 40 mg", "amlodipine"], "action": PatientAction.REPLACE_DRUG,
         "talked_about": "Two of your pills together can hurt your muscles.", "to_do": "Your doctor will change one of them."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    triple, sleep, statin = plan.topics.order_by("position")
    assert names(triple.stops.all()) == {"Advil"}  # named in the words, not the blood pressure pills
    assert names(sleep.stops.all()) == {"Tylenol PM"}  # the problem's only medication
    assert names(statin.stops.all()) == set()  # which one is replaced is the pharmacist's to say


def test_issuing_lists_the_contradiction_and_refuses_until_it_is_resolved(bleeding, by, today):
    plan, meds = bleeding
    with pytest.raises(ValidationError) as refused:
        services.document_issue(plan=plan, by=by, today=today)
    assert refused.value.messages == [
        "Topic 1 tells the patient to stop Advil, but the medication list still shows it as taken."
    ]
    [contradiction] = plan_issue_check(plan=plan).contradictions
    assert [fix.label for fix in contradiction.fixes] == [
        "Show “Stop as agreed with your doctor” on the list", "Record Advil as stopped today", "Topic 1 does not stop Advil",
    ]  # fmt: skip
    services.plan_stop_agree(plan=plan, medication=meds["Advil"], by=by)
    document = services.document_issue(plan=plan, by=by, today=today)
    listed = {m["name"]: m for m in document.snapshot["medications"]}
    assert (
        listed["Advil"]["stopped"] == "Stop as agreed with your doctor" and listed["Advil"]["stop_as_agreed"]
    )
    assert listed["Advil"]["why_stopped"] == "See my Medication Action Plan."
    assert listed["Coumadin 5 mg"]["stopped"] == "" and not listed["Coumadin 5 mg"]["stop_as_agreed"]
    assert [m["name"] for m in document.snapshot["medications"]] == [
        "Coumadin 5 mg",
        "Advil",
    ]  # taken, then to stop


def test_the_pdf_shows_the_stop_and_about_my_medicines_leaves_the_stopped_medicine_out(bleeding, by, today):
    plan, meds = bleeding
    for entry in plan.education.all():  # the pharmacist ticked both to print
        services.education_update(entry=entry, data={"included": True}, version=entry.version, by=by)
    services.plan_stop_agree(plan=plan, medication=meds["Advil"], by=by)
    text = text_of(bytes(services.document_issue(plan=plan, by=by, today=today).pdf))
    advil_on_the_list = text[text.index("Medication: Advil") :]
    assert advil_on_the_list.index("Date I stopped using it: Stop as agreed with your doctor") < 120
    about = text[text.index("About my medicines") :]
    assert "Coumadin 5 mg" in about and "Advil" not in about


def test_untick_the_stop_then_the_words_still_say_stop_until_they_are_edited(patient, by, today):
    review, meds = completed_cmr(patient, by, medications=["Benadryl at night", "lisinopril 10 mg"], problems=[
        {"title": "Takes Benadryl nightly for sleep", "medications": ["Benadryl at night"], "action": PatientAction.LIFESTYLE,
         "talked_about": "Benadryl can cause confusion and falls.", "to_do": "Stop Benadryl. Go to bed at the same time."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    topic = plan.topics.get()
    assert names(topic.stops.all()) == {"Benadryl at night"}  # from the words, whatever the kind of action
    services.topic_stop_remove(plan=plan, topic_id=topic.pk, medication=meds["Benadryl at night"], by=by)
    assert plan_issue_check(plan=plan).messages == [
        "Topic 1 says to stop Benadryl at night, but the medication list still shows it as taken."
    ]
    topic.refresh_from_db()
    services.topic_update(
        topic=topic, data={"to_do": "Take Benadryl only when you cannot sleep."}, version=topic.version, by=by
    )
    assert plan_issue_check(plan=plan).messages == []
    assert services.document_issue(plan=plan, by=by, today=today).number == 1


def test_recording_the_stop_shows_it_stopped_on_the_list_with_date_and_reason(bleeding, by, today):
    plan, meds = bleeding
    services.plan_medication_stop(plan=plan, medication=meds["Advil"], on=today, by=by)
    meds["Advil"].refresh_from_db()
    assert meds["Advil"].status == MedicationStatus.STOPPED and meds["Advil"].stop_date == today
    listed = {
        m["name"]: m for m in summary_snapshot(review=plan.review, plan=plan, today=today)["medications"]
    }
    assert listed["Advil"]["stopped"] == today.strftime("%m/%d/%Y")
    assert listed["Advil"]["why_stopped"].startswith("As agreed in the medication review of")
    assert services.document_issue(plan=plan, by=by, today=today).number == 1


def test_a_mark_on_the_list_that_no_topic_backs_is_a_contradiction_too(patient, by):
    review, meds = completed_cmr(patient, by, medications=["Advil", "lisinopril 10 mg"], problems=[
        {"title": "Blood pressure", "medications": ["lisinopril 10 mg"], "action": PatientAction.MONITORING,
         "talked_about": "Your blood pressure is a bit high.", "to_do": "Check it at home twice a week."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    services.plan_stop_agree(plan=plan, medication=meds["lisinopril 10 mg"], by=by)
    [contradiction] = plan_issue_check(plan=plan).contradictions
    assert contradiction.message == (
        "The medication list shows lisinopril 10 mg as “Stop as agreed with your doctor”, but no topic of the "
        "action plan tells the patient to stop it."
    )
    services.plan_stop_unagree(plan=plan, medication=meds["lisinopril 10 mg"], by=by)
    assert plan_issue_check(plan=plan).blockers == []


def test_a_spanish_list_says_stop_as_agreed_in_spanish(bleeding, by, today, patient):
    patient.preferred_language = "es"
    patient.save()
    plan, meds = bleeding
    services.plan_stop_agree(plan=plan, medication=meds["Advil"], by=by)
    text = text_of(bytes(services.document_issue(plan=plan, by=by, today=today).pdf))
    assert (
        "Deje de usarlo según lo acordado con su médico" in text
        and "Vea mi Plan de Acción de Medicamentos." in text
    )


def test_each_contradiction_is_resolved_in_one_click_that_saves_the_page_first(bleeding, pharmacist_client):
    plan, meds = bleeding
    page = pharmacist_client.get(reverse("plan_edit", args=[plan.review_id])).content.decode()
    assert f'name="resolve" value="agree:{meds["Advil"].pk}"' in page and "1 to resolve" in page
    form = editor_form(pharmacist_client, plan.review)
    form["plan-questions"] = ["Can I take Tylenol with Coumadin?"]
    response = editor_post(pharmacist_client, plan.review, form, resolve=f"agree:{meds['Advil'].pk}")
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.questions == "Can I take Tylenol with Coumadin?" and names(plan.stop_as_agreed.all()) == {
        "Advil"
    }
    page = pharmacist_client.get(response.url).content.decode()
    assert "ready to issue" in page and "Stop as agreed with your doctor" in page
    form = editor_form(pharmacist_client, plan.review)
    topic = plan.topics.get()
    response = editor_post(
        pharmacist_client, plan.review, form, resolve=f"unstop:{meds['Advil'].pk}:{topic.pk}"
    )
    assert response.status_code == 302 and names(topic.stops.all()) == set()
    assert editor_post(pharmacist_client, plan.review, editor_form(pharmacist_client, plan.review),
                       resolve=f"record-stop:{meds['Coumadin 5 mg'].pk}:{topic.pk}").status_code == 302  # fmt: skip
    meds["Coumadin 5 mg"].refresh_from_db()
    assert meds["Coumadin 5 mg"].status == MedicationStatus.STOPPED and names(topic.stops.all()) == {
        "Coumadin 5 mg"
    }


def test_a_fix_for_another_patients_medication_is_a_404(bleeding, pharmacist_client, org, by):
    plan, _ = bleeding
    from tests import factories

    elsewhere = factories.make_medication(factories.make_patient(org), name="warfarin")
    form = editor_form(pharmacist_client, plan.review)
    assert (
        editor_post(pharmacist_client, plan.review, form, resolve=f"agree:{elsewhere.pk}").status_code == 404
    )
    assert editor_post(pharmacist_client, plan.review, form, resolve="agree:not-an-id").status_code == 404
