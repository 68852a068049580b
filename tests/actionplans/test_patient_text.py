"""What the patient reads is written for the patient: the plan starts from the patient words, never the
clinical problem title, and issuing refuses missing words or the title copied over."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actionplans import services
from actionplans.models import IssuedDocument
from reviews.models import PatientAction
from tests.actionplans.conftest import completed_cmr, editor_form, editor_post


def topics_of(plan):
    return list(plan.topics.values_list("talked_about", "to_do"))


def test_the_plan_takes_the_problems_patient_wording_then_the_recommendations_never_the_title(patient, by):
    review, _ = completed_cmr(patient, by, medications=["metformin 500 mg", "Lipitor 20 mg"], problems=[
        {"title": "Metformin: CrCl 30-45, dose review", "medications": ["metformin 500 mg"],
         "patient_wording": "Your kidneys clear metformin more slowly now.", "talked_about": "Older words.",
         "action": PatientAction.MONITORING, "to_do": "Get your kidney blood test in June."},
        {"title": "Statin adherence", "medications": ["Lipitor 20 mg"], "action": PatientAction.EDUCATION,
         "talked_about": "Lipitor works only when you take it every day."},
        {"title": "Hypoglycaemia risk", "medications": ["metformin 500 mg"], "action": PatientAction.EDUCATION,
         "text": "Learn the signs of low blood sugar."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    assert topics_of(plan) == [
        ("Your kidneys clear metformin more slowly now.", "Get your kidney blood test in June."),
        ("Lipitor works only when you take it every day.", "See the plan."),
        ("", "Learn the signs of low blood sugar."),  # nothing written for the patient: left to write
    ]


def test_issuing_refuses_missing_patient_words_naming_each_topic(patient, by, today):
    review, _ = completed_cmr(patient, by, medications=["metformin 500 mg"], problems=[
        {"title": "Hypoglycaemia risk", "medications": ["metformin 500 mg"], "action": PatientAction.EDUCATION,
         "talked_about": "Metformin rarely makes blood sugar too low.", "to_do": "Eat regular meals."},
        {"title": "Kidney function", "medications": ["metformin 500 mg"], "action": PatientAction.MONITORING},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    second = plan.topics.get(position=1)
    services.topic_update(topic=second, data={"to_do": ""}, version=second.version, by=by)
    with pytest.raises(ValidationError) as refused:
        services.document_issue(plan=plan, by=by, today=today)
    assert refused.value.messages == [
        "Topic 2: write “What we talked about” for the patient.",
        "Topic 2: write “What I need to do” for the patient.",
    ]
    assert not IssuedDocument.objects.exists()


def test_issuing_refuses_the_clinical_title_copied_over_even_with_other_case_and_punctuation(
    patient, by, today
):
    review, _ = completed_cmr(patient, by, medications=["Advil", "lisinopril 10 mg"], problems=[
        {"title": "Ibuprofen with CKD", "medications": ["Advil"], "action": PatientAction.EDUCATION,
         "talked_about": "Advil can hurt your kidneys.", "to_do": "Use Tylenol for pain instead."},
        {"title": "ACE inhibitor: check potassium", "medications": ["lisinopril 10 mg"],
         "action": PatientAction.MONITORING, "talked_about": "Lisinopril can raise potassium.", "to_do": "Get a blood test."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    first, second = plan.topics.order_by("position")
    services.topic_update(
        topic=first, data={"talked_about": "ibuprofen with ckd."}, version=first.version, by=by
    )
    services.topic_update(
        topic=second, data={"to_do": "ACE INHIBITOR - check potassium"}, version=second.version, by=by
    )
    with pytest.raises(ValidationError) as refused:
        services.document_issue(plan=plan, by=by, today=today)
    assert refused.value.messages == [
        "Topic 1: “What we talked about” is still the problem's clinical title (“Ibuprofen with CKD”): "
        "write it in plain words for the patient.",
        "Topic 2: “What I need to do” is still the problem's clinical title (“ACE inhibitor: check potassium”): "
        "write it in plain words for the patient.",
    ]
    services.topic_update(
        topic=first, data={"talked_about": "Advil can hurt your kidneys."}, version=first.version, by=by
    )
    services.topic_update(
        topic=second, data={"to_do": "Get a blood test in a week."}, version=second.version, by=by
    )
    assert services.document_issue(plan=plan, by=by, today=today).number == 1


def test_the_editor_shows_each_topics_reading_grade_and_what_blocks_issuing(patient, by, pharmacist_client):
    review, _ = completed_cmr(patient, by, medications=["Advil"], problems=[
        {"title": "Ibuprofen with CKD", "medications": ["Advil"], "action": PatientAction.EDUCATION,
         "talked_about": "Advil can hurt your kidneys.", "to_do": "Use Tylenol for pain instead."},
        {"title": "NSAID use", "medications": ["Advil"], "action": PatientAction.EDUCATION,
         "talked_about": "Concomitant nonsteroidal anti-inflammatory administration precipitates nephrotoxicity "
                         "in individuals with diminished glomerular filtration.", "to_do": "Discuss alternatives."},
        {"title": "Kidney function", "medications": ["Advil"], "action": PatientAction.MONITORING},
    ])  # fmt: skip
    services.plan_prepare(review=review, by=by)
    page = pharmacist_client.get(reverse("plan_edit", args=[review.pk])).content.decode()
    assert page.count("Reading level: <strong>grade") == 3
    assert (
        page.count("harder than grade 8: shorter sentences and everyday words help") == 1
    )  # topic 2: a hint
    assert (
        page.count("Topic 3: write “What we talked about” for the patient.") == 2
    )  # above, and next to the field
    assert 'href="#id_t-' in page  # the list above links to the box to write in
    assert "from the problem “Ibuprofen with CKD” (staff only, never printed)" in page


def test_issuing_from_the_page_is_refused_with_each_topic_named_and_the_edits_kept(
    patient, by, pharmacist_client
):
    review, _ = completed_cmr(patient, by, medications=["Advil"], problems=[
        {"title": "Kidney function", "medications": ["Advil"], "action": PatientAction.MONITORING,
         "to_do": "Get a blood test."},
    ])  # fmt: skip
    plan = services.plan_prepare(review=review, by=by)
    topic = plan.topics.get()
    form = editor_form(pharmacist_client, review)
    form[f"t-{topic.pk}-to_do"] = ["Get your kidney blood test next week."]
    refused = editor_post(pharmacist_client, review, form, action="issue")
    page = refused.content.decode()
    assert refused.status_code == 422 and not IssuedDocument.objects.exists()
    assert "Your changes were saved, but the summary was not issued" in page
    assert "Topic 1: write “What we talked about” for the patient." in page
    topic.refresh_from_db()
    assert topic.to_do == "Get your kidney blood test next week."  # saved first
    form = editor_form(pharmacist_client, review)
    form[f"t-{topic.pk}-talked_about"] = ["Your kidneys work less well than before."]
    assert editor_post(pharmacist_client, review, form, action="issue").status_code == 302
    assert IssuedDocument.objects.get().snapshot["topics"] == [
        {
            "talked_about": "Your kidneys work less well than before.",
            "to_do": "Get your kidney blood test next week.",
        }
    ]


def test_the_patient_wording_written_on_the_problem_in_the_workspace_is_what_the_plan_says(
    patient, by, pharmacist_client
):
    from reviews import services as review_services

    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = review_services.review_start(review=review, version=review.version, by=by)
    added = pharmacist_client.post(reverse("problem_add", args=[review.pk]), {
        "new-problem-title": "Ibuprofen with CKD stage 4", "new-problem-category": "adverse_reaction",
        "new-problem-priority": "high", "new-problem-status": "open", "new-problem-outcome": "unknown",
        "new-problem-patient_wording": "Advil can hurt your kidneys.",
    })  # fmt: skip
    assert added.status_code in (200, 302)
    problem = review.problems.get()
    assert problem.patient_wording == "Advil can hurt your kidneys."
    review_services.recommendation_add(
        problem=problem, data={"audience": "patient", "action": PatientAction.EDUCATION, "text": "Use Tylenol for pain."}, by=by
    )  # fmt: skip
    review.refresh_from_db()
    review = review_services.review_complete(review=review, version=review.version, minutes_spent=20, by=by)
    plan = services.plan_prepare(review=review, by=by)
    assert topics_of(plan) == [("Advil can hurt your kidneys.", "Use Tylenol for pain.")]
