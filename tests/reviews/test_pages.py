import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from mtm.audit import Actor
from patients import services as patient_services
from reviews import selectors, services
from reviews.models import (
    DISMISSAL_PRESETS,
    Audience,
    PatientAction,
    Problem,
    ProblemCategory,
    Recommendation,
    Response,
    Review,
)
from tests import factories
from tests.conftest import client_for

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def review(patient, by):
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return services.review_start(review=review, version=review.version, by=by)


@pytest.fixture
def problem(review, by):
    return services.problem_add(
        review=review, data={"title": "NSAID with lisinopril", "category": ProblemCategory.ADVERSE_REACTION},
        medications=[], by=by,
    )  # fmt: skip


@pytest.fixture
def prescriber(org):
    return factories.make_prescriber(org, first_name="Rachel", last_name="Kim", fax="(608) 555-0199")


@pytest.fixture
def letter_recommendation(problem, prescriber, by):
    return services.recommendation_add(
        problem=problem,
        data={
            "audience": Audience.PRESCRIBER,
            "prescriber": prescriber,
            "text": "Stop ibuprofen; acetaminophen instead",
        },
        prescriber_confirmed=True,
        by=by,
    )


def url(name, *args):
    return reverse(name, args=args)


# --- Who may do what ---------------------------------------------------------------------------------


def test_another_organisations_review_is_a_404(review, other_pharmacist, prescriber, letter_recommendation):
    client = client_for(other_pharmacist)
    assert client.get(url("review_workspace", review.pk)).status_code == 404
    assert client.post(url("review_details", review.pk), {}).status_code == 404
    assert client.get(url("prescriber_letter", review.pk, prescriber.pk)).status_code == 404
    assert client.post(url("response_record", letter_recommendation.pk), {}).status_code == 404
    assert client.get(url("review_new", review.patient_id)).status_code == 404


def test_a_patient_user_is_refused(review, patient_user):
    client = client_for(patient_user)
    assert client.get(url("review_workspace", review.pk)).status_code == 403
    assert client.get(url("review_list")).status_code == 403


def test_staff_see_the_workspace_and_record_answers_but_do_not_conduct(
    review, staff_client, letter_recommendation
):
    page = staff_client.get(url("review_workspace", review.pk))
    assert page.status_code == 200 and "Record the answer" in page.content.decode()
    assert "Complete and lock the review" not in page.content.decode()
    assert staff_client.post(url("problem_add", review.pk), {}).status_code == 403
    response = staff_client.post(
        url("response_record", letter_recommendation.pk),
        {
            "version": letter_recommendation.version,
            "response": "accepted",
            "response_on": factories.today().isoformat(),
        },
    )
    assert response.status_code == 302
    letter_recommendation.refresh_from_db()
    assert letter_recommendation.response == Response.ACCEPTED


def test_opening_a_review_from_the_patient_page(patient, pharmacist_client):
    response = pharmacist_client.post(
        url("review_new", patient.pk),
        {"kind": "cmr", "method": "phone", "participant": "patient", "consent_noted": "on"},
    )
    review = Review.objects.get(patient=patient)
    assert response.status_code == 302 and response.url == url("review_workspace", review.pk)
    assert review.pharmacist.username == "pharmacist" and review.method == "phone"
    refused = pharmacist_client.post(
        url("review_new", patient.pk), {"kind": "cmr", "method": "video", "participant": "patient"}
    )
    assert refused.status_code == 422 and "Add the link for a video review." in refused.content.decode()


def test_starting_the_review_at_once_needs_the_patients_agreement_and_saves_nothing_without_it(
    patient, pharmacist_client
):
    data = {"kind": "cmr", "method": "in_person", "participant": "patient", "start": "1"}
    refused = pharmacist_client.post(url("review_new", patient.pk), data)
    assert refused.status_code == 422
    assert "Note the patient&#x27;s agreement before starting the CMR." in refused.content.decode()
    assert not Review.objects.filter(patient=patient).exists()  # not opened half-way
    token = {"form_token": "3b0f3c1e-8a53-4a0c-9e64-5d3c2b1a0f99"}
    first = pharmacist_client.post(url("review_new", patient.pk), {**data, "consent_noted": "on", **token})
    again = pharmacist_client.post(url("review_new", patient.pk), {**data, "consent_noted": "on", **token})
    review = Review.objects.get(patient=patient)
    assert review.status == "in_progress" and review.started_at
    assert first.url == again.url == url("review_workspace", review.pk)  # a double click opens one


# --- Editing in the workspace ---------------------------------------------------------------------------


def test_editing_a_problem_saves_it(review, problem, pharmacist_client):
    prefix = f"problem-{problem.pk}"
    data = {
        f"{prefix}-title": "NSAID with lisinopril and HCTZ", f"{prefix}-category": "adverse_reaction",
        f"{prefix}-priority": "high", f"{prefix}-status": "open", f"{prefix}-outcome": "unknown",
        f"{prefix}-no_recommendation_reason": "", f"{prefix}-version": problem.version,
    }  # fmt: skip
    response = pharmacist_client.post(url("problem_edit", review.pk, problem.pk), data, **HTMX)
    # only the problem comes back, and what it changes elsewhere out of band: nothing else moves
    html = response.content.decode()
    assert response.status_code == 200 and 'id="workspace"' not in html
    assert html.lstrip().startswith(f'<article class="problem priority-high" id="problem-{problem.pk}"')
    assert '"focus": "#problem-' in response.headers["HX-Trigger-After-Settle"]
    problem.refresh_from_db()
    assert (problem.title, problem.priority, problem.version) == ("NSAID with lisinopril and HCTZ", "high", 2)
    stale = pharmacist_client.post(url("problem_edit", review.pk, problem.pk), data, **HTMX)
    assert stale.status_code == 409 and "Someone else changed this problem" in stale.content.decode()


def test_review_details_save_and_without_javascript_come_back_to_the_page(review, pharmacist_client):
    data = {"review-kind": "cmr", "review-method": "in_person", "review-participant": "representative",
            "review-consent_noted": "on", "review-notes": "Daughter present", "review-version": review.version}  # fmt: skip
    response = pharmacist_client.post(url("review_details", review.pk), data)
    assert response.status_code == 302 and response.url == url("review_workspace", review.pk)
    review.refresh_from_db()
    assert review.participant == "representative" and review.notes == "Daughter present"


AUTOSAVE = {"HTTP_X_MTM_AUTOSAVE": "1"}


def test_answers_to_the_cmr_questions_save_one_field_at_a_time_and_a_stale_answer_is_refused(
    review, patient, by, pharmacist_client
):
    entry = patient_services.medication_add(patient=patient, data={"name": "lisinopril 10 mg"}, by=by)
    target = url("assessment_save", review.pk, entry.pk)
    first = pharmacist_client.post(
        target, {"fields": "purpose,still_needed", "purpose": "blood pressure", "still_needed": "yes", "version": ""},
        **AUTOSAVE,
    )  # fmt: skip
    assert first.status_code == 200
    assert first.json()["version"] == 1 and first.json()["answered"] == 2
    # Only the field sent changes: the others keep their answers.
    second = pharmacist_client.post(
        target, {"fields": "working", "working": "yes", "version": "1"}, **AUTOSAVE
    )
    assert second.status_code == 200 and second.json()["values"]["still_needed"] == "yes"
    stale = pharmacist_client.post(
        target, {"fields": "purpose", "purpose": "kidneys", "version": "1"}, **AUTOSAVE
    )
    assert stale.status_code == 409 and stale.json()["conflict"] is True
    assessment = review.assessments.get()
    assert (assessment.purpose, assessment.still_needed, assessment.working) == (
        "blood pressure",
        "yes",
        "yes",
    )


def test_all_fine_answers_yes_only_where_nothing_was_answered(review, patient, by, pharmacist_client):
    entry = patient_services.medication_add(patient=patient, data={"name": "lisinopril 10 mg"}, by=by)
    target = url("assessment_save", review.pk, entry.pk)
    pharmacist_client.post(target, {"fields": "safe", "safe": "no", "version": ""}, **AUTOSAVE)
    response = pharmacist_client.post(
        target, {"fields": "purpose", "purpose": "blood pressure", "usual": "1", "version": "1"}, **AUTOSAVE
    )
    assert response.status_code == 200 and response.json()["answered"] == 6
    assessment = review.assessments.get()
    assert (assessment.still_needed, assessment.working, assessment.safe) == ("yes", "yes", "no")
    assert (assessment.taken_as_intended, assessment.understands) == ("yes", "yes")


def test_an_answer_that_is_not_a_question_is_refused_by_name(review, patient, by, pharmacist_client):
    entry = patient_services.medication_add(patient=patient, data={"name": "lisinopril 10 mg"}, by=by)
    response = pharmacist_client.post(
        url("assessment_save", review.pk, entry.pk),
        {"fields": "safe,dose", "safe": "no", "dose": "5", "version": ""},
        **AUTOSAVE,
    )
    assert response.status_code == 422
    assert "Not a question of the review: dose." in str(response.json()["errors"])
    assert not review.assessments.exists()


def test_answers_without_javascript_save_the_form_and_come_back_to_the_medication(
    review, patient, by, pharmacist_client
):
    entry = patient_services.medication_add(patient=patient, data={"name": "lisinopril 10 mg"}, by=by)
    response = pharmacist_client.post(
        url("assessment_save", review.pk, entry.pk),
        {"purpose": "blood pressure", "usual": "1", "version": ""},
    )
    assert response.status_code == 302 and response.url.endswith(f"#med-{entry.pk}")
    assert review.assessments.get().answered == 6


def test_confirming_a_finding_the_screening_no_longer_has_is_a_404(review, pharmacist_client):
    response = pharmacist_client.post(
        url("finding_confirm", review.pk), {"finding_id": "interaction:nope:a+b"}, **HTMX
    )
    assert response.status_code == 404
    assert not Problem.objects.exists()


def test_completing_with_a_problem_without_a_plan_shows_why(review, problem, pharmacist_client):
    data = {"complete-version": review.version, "complete-minutes_spent": "20"}
    response = pharmacist_client.post(url("review_complete", review.pk), data, **HTMX)
    assert response.status_code == 422
    assert (
        "Each problem needs a recommendation or a reason for none: NSAID with lisinopril"
        in response.content.decode()
    )
    review.refresh_from_db()
    assert review.status == "in_progress"


# --- The prescriber letter ---------------------------------------------------------------------------------


def test_the_prescriber_letter_is_a_pdf_with_the_recommendations(
    review, prescriber, letter_recommendation, pharmacist_client
):
    response = pharmacist_client.get(url("prescriber_letter", review.pk, prescriber.pk))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in ["Walter Brennan", "Rachel Kim", "Your decision, please, on 1 recommendation", "BACKGROUND",
                     "Stop ibuprofen; acetaminophen instead", "Accept with modification", "Decline", "signature"]:  # fmt: skip
        assert expected in text, expected


def test_a_letter_only_to_a_prescriber_the_review_writes_to(
    review, org, pharmacist_client, letter_recommendation
):
    stranger = factories.make_prescriber(org, npi=factories.valid_npi("198765432"))
    assert pharmacist_client.get(url("prescriber_letter", review.pk, stranger.pk)).status_code == 404


def test_marking_the_letter_faxed_starts_the_wait_for_answers(
    review, prescriber, letter_recommendation, staff_client
):
    response = staff_client.post(url("prescriber_letter_sent", review.pk, prescriber.pk), **HTMX)
    assert response.status_code == 200
    letter_recommendation.refresh_from_db()
    assert letter_recommendation.sent_on == factories.today()


# --- The patient's clinical context in view ------------------------------------------------------------------


def _part(page: str, start: str, end: str) -> str:
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


def test_the_workspace_shows_gene_results_and_pregnancy_diet_and_habits(
    review, patient, by, pharmacist_client
):
    for data in ({"gene": "CYP2C19", "phenotype": "poor metabolizer", "tested_on": factories.today()},
                 {"gene": "HLA-B", "allele": "*57:01", "result": "positive"}):  # fmt: skip
        patient_services.gene_result_add(patient=patient, data=data, by=by)
    wrong = patient_services.gene_result_add(patient=patient, data={"gene": "CYP2D6", "phenotype": "poor metabolizer"}, by=by)  # fmt: skip
    patient_services.gene_result_entered_in_error(
        result=wrong, reason="misread", version=wrong.version, by=by
    )
    for factor, detail in (("grapefruit", ""), ("alcohol", "a beer or two most evenings"), ("pregnant", "")):
        patient_services.factor_add(patient=patient, data={"factor": factor, "detail": detail, "noted_on": factories.today()}, by=by)  # fmt: skip
    smoking = patient_services.factor_add(patient=patient, data={"factor": "smoking", "noted_on": factories.today()}, by=by)  # fmt: skip
    patient_services.factor_end(factor=smoking, on=factories.today(), version=smoking.version, by=by)

    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    nav = _part(page, '<nav id="workspace-nav"', "</nav>")
    assert re.sub(r"<[^>]+>", "", _part(nav, 'aria-label="Key facts"', "</span>\n")).split(" · ")[-5:] == [
        "Pregnant", "Alcohol", "Grapefruit", "CYP2C19 poor metabolizer", "HLA-B*57:01 positive"]  # fmt: skip
    assert '<span class="alert-fact">Pregnant</span>' in nav
    context = _part(page, 'aria-label="Clinical context"', "</section>")
    genes = _part(context, "<dt>Pharmacogenomics</dt>", "</div>")
    assert "CYP2C19 poor metabolizer" in genes and "HLA-B*57:01 positive" in genes and "CYP2D6" not in genes
    habits = re.sub(r"<[^>]+>", "", _part(context, "<dt>Pregnancy, diet and habits</dt>", "</div>"))
    assert habits == "Pregnancy, diet and habitsPregnant; Alcohol: a beer or two most evenings; Grapefruit"

    # As the screening weighs it: a patient recorded as male since is never shown pregnant.
    patient.sex = "male"
    patient.save(update_fields=["sex"])
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    assert "Pregnant" not in _part(page, 'aria-label="Clinical context"', "</section>")


def test_without_gene_results_or_factors_the_context_says_none_recorded(review, pharmacist_client):
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    context = _part(page, 'aria-label="Clinical context"', "</section>")
    for title in ("Pharmacogenomics", "Pregnancy, diet and habits"):
        assert "none recorded" in _part(context, f"<dt>{title}</dt>", "</div>")


# --- Speed ---------------------------------------------------------------------------------------------------


def _workspace_queries(client, review) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("review_workspace", review.pk)).status_code == 200
    return len(queries)


def test_the_workspace_costs_the_same_queries_for_5_and_40_medications(
    org, pharmacist, pharmacist_client, by
):
    counts = []
    for size in (5, 40):
        patient = factories.make_patient(org, first_name=f"P{size}", last_name="Queries")
        review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
        review = services.review_start(review=review, version=review.version, by=by)
        names = [
            "lisinopril",
            "ibuprofen",
            "warfarin",
            "fluconazole",
            "amlodipine",
            "metformin",
            "sertraline",
            "tramadol",
        ]
        for n in range(size):
            entry = patient_services.medication_add(
                patient=patient, data={"name": names[n % len(names)]}, by=by
            )
            factories.make_fill(patient, medication=entry)
            services.assessment_save(
                review=review, medication=entry, data={"still_needed": "yes"}, version=None, by=by
            )
        for n in range(size // 5):  # the clinical context's gene results and factors cost no query each
            patient_services.gene_result_add(patient=patient, data={"gene": GENES[n], "phenotype": "indeterminate"}, by=by)  # fmt: skip
            patient_services.factor_add(patient=patient, data={"factor": HABITS[n], "detail": "daily", "noted_on": factories.today()}, by=by)  # fmt: skip
            problem = services.problem_add(review=review, data={"title": f"problem {n}", "category": "unnecessary"},
                                           medications=list(patient.medications.all()[:3]), by=by)  # fmt: skip
            services.recommendation_add(problem=problem, data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "x"}, by=by)  # fmt: skip
        counts.append(_workspace_queries(pharmacist_client, review))
    assert counts[0] == counts[1], counts


GENES = ["CYP2C19", "CYP2D6", "CYP2C9", "SLCO1B1", "TPMT", "NUDT15", "DPYD", "UGT1A1"]
HABITS = [
    "grapefruit",
    "alcohol",
    "smoking",
    "caffeine",
    "dairy",
    "licorice",
    "pregnant",
    "vitamin k rich diet",
]


def test_recommendations_answered_stay_out_of_the_overdue_list(
    review, letter_recommendation, pharmacist_client, by
):
    services.recommendations_sent(
        recommendations=[letter_recommendation], on=factories.today().replace(year=2025), by=by
    )
    assert "Stop ibuprofen" in pharmacist_client.get(url("review_list")).content.decode()
    letter_recommendation.refresh_from_db()
    services.prescriber_response_record(
        recommendation=letter_recommendation, response=Response.NO_RESPONSE, on=factories.today(), note="",
        version=letter_recommendation.version, by=by,
    )  # fmt: skip
    assert "Stop ibuprofen" not in pharmacist_client.get(url("review_list")).content.decode()
    assert Recommendation.objects.get().response == Response.NO_RESPONSE


# --- Adherence and list changes from the workspace ----------------------------------------------------------


def test_low_adherence_is_offered_as_a_nonadherence_problem(review, patient, by, pharmacist_client):
    import datetime

    entry = patient_services.medication_add(patient=patient, data={"name": "atorvastatin 20 mg"}, by=by)
    today = factories.today()
    for days_ago in (200, 100):  # two 30-day fills over 200 days
        factories.make_fill(patient, medication=entry, fill_date=today - datetime.timedelta(days=days_ago))
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    assert "of days covered" in page and "Confirm as a nonadherence problem" in page
    target = url("adherence_confirm", review.pk, entry.pk)
    refused = pharmacist_client.post(target, {"nonadherence_cause": ""}, **HTMX)
    assert refused.status_code == 422 and not Problem.objects.exists()
    response = pharmacist_client.post(target, {"nonadherence_cause": "forgets"}, **HTMX)
    assert response.status_code == 200
    problem = Problem.objects.get()
    assert problem.category == "nonadherence" and problem.nonadherence_cause == "forgets"
    assert problem.title == "atorvastatin 20 mg: 30% of days covered"
    assert list(problem.medications.all()) == [entry]


def test_well_covered_medication_is_not_offered(review, patient, by, pharmacist_client):
    entry = patient_services.medication_add(patient=patient, data={"name": "atorvastatin 20 mg"}, by=by)
    factories.make_fill(patient, medication=entry)
    response = pharmacist_client.post(
        url("adherence_confirm", review.pk, entry.pk), {"nonadherence_cause": "cost"}, **HTMX
    )
    assert response.status_code == 404


def test_stopping_and_changing_a_medication_from_the_workspace(review, patient, by, pharmacist_client):
    entry = patient_services.medication_add(
        patient=patient, data={"name": "glipizide", "strength_dose": "10 mg"}, by=by
    )
    target = url("review_medication_change", review.pk, entry.pk)
    changed = pharmacist_client.post(
        target, {"action": "change", "version": entry.version, "strength_dose": "5 mg", "directions": "", "reason": "Lows in the morning"}, **HTMX
    )  # fmt: skip
    assert changed.status_code == 200 and "Lows in the morning" in changed.content.decode()
    entry.refresh_from_db()
    assert entry.strength_dose == "5 mg"
    no_reason = pharmacist_client.post(target, {"action": "stop", "version": entry.version, "stop_date": factories.today().isoformat(), "reason": ""}, **HTMX)  # fmt: skip
    assert no_reason.status_code == 422
    stopped = pharmacist_client.post(target, {"action": "stop", "version": entry.version, "stop_date": factories.today().isoformat(), "reason": "A1C 6.1%"}, **HTMX)  # fmt: skip
    assert stopped.status_code == 200
    entry.refresh_from_db()
    assert entry.status == "stopped" and entry.stop_reason == "A1C 6.1%"
    assert list(review.medication_changes.values_list("kind", flat=True)) == ["change", "stop"]


def test_forms_loaded_when_opened_are_scoped_and_work_without_javascript(
    review, problem, patient, by, pharmacist_client, other_pharmacist
):
    entry = patient_services.medication_add(patient=patient, data={"name": "lisinopril"}, by=by)
    for target in [url("problem_form", review.pk, problem.pk, "recommendation"), url("problem_form", review.pk, problem.pk, "problem"),
                   url("problem_new_form", review.pk), url("review_medication_change", review.pk, entry.pk),
                   url("review_details", review.pk), url("review_medication_start", review.pk)]:  # fmt: skip
        fragment = pharmacist_client.get(target, **HTMX)
        assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
        page = pharmacist_client.get(target)
        assert (
            page.status_code == 200
            and "<html" in page.content.decode()
            and "Back to the review" in page.content.decode()
        )
        assert client_for(other_pharmacist).get(target).status_code == 404
    assert pharmacist_client.get(url("problem_form", review.pk, problem.pk, "other")).status_code == 404


def test_the_patient_page_offers_to_continue_the_open_review(
    review, patient, pharmacist_client, staff_client
):
    page = pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Continue the CMR" in page and "Start a review" not in page
    assert url("review_workspace", review.pk) in page
    staff_page = staff_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Continue the CMR" not in staff_page and "Medication reviews" in staff_page


def test_recording_the_summary_delivery_of_a_completed_cmr(review, problem, by, pharmacist_client):
    services.recommendation_add(
        problem=problem,
        data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "x"},
        by=by,
    )
    done = services.review_complete(review=review, version=review.version, minutes_spent=20, by=by)
    page = pharmacist_client.get(url("review_workspace", done.pk)).content.decode()
    assert "The written summary is due within 14 days of the CMR." in page
    day = factories.today().isoformat()
    response = pharmacist_client.post(url("summary_delivered", done.pk), {"summary-version": done.version, "summary-summary_delivered_on": day}, **HTMX)  # fmt: skip
    assert response.status_code == 200 and "CMR summary delivered on" in response.content.decode()


def test_undelivered_cmr_summaries_are_listed_late_first(org, patient, pharmacist, pharmacist_client, by):
    import datetime

    from django.utils import timezone

    from reviews.models import Review as ReviewModel

    def completed_cmr(patient, days_ago):
        review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
        review = services.review_start(review=review, version=review.version, by=by)
        review = services.review_complete(review=review, version=review.version, minutes_spent=20, by=by)
        ReviewModel.objects.filter(pk=review.pk).update(
            completed_at=timezone.now() - datetime.timedelta(days=days_ago)
        )
        return review

    completed_cmr(patient, 16)
    completed_cmr(factories.make_patient(org, first_name="Near", last_name="Deadline"), 12)
    delivered = completed_cmr(factories.make_patient(org, first_name="Done", last_name="Already"), 5)
    ReviewModel.objects.filter(pk=delivered.pk).update(summary_delivered_on=factories.today())
    page = pharmacist_client.get(url("review_list")).content.decode()
    section = page[page.index("CMR summaries to deliver") : page.index("Open reviews")]
    assert section.index("Brennan") < section.index("Deadline")
    assert "late by 2 days" in section and "2 days left" in section and "Already" not in section


# --- A form sent twice runs once ---------------------------------------------------------------------------


def test_a_dismissal_sent_twice_with_its_form_token_is_recorded_once(review, patient, by, pharmacist_client):
    for name in ("warfarin 5 mg", "ibuprofen 400 mg"):
        patient_services.medication_add(patient=patient, data={"name": name}, by=by)
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f-]+)"', page)[1]
    finding_id = re.search(r'name="finding_id" value="([^"]+)"', page)[1]
    data = {"finding_id": finding_id, "reason": "Already monitored", "form_token": token}
    first = pharmacist_client.post(url("finding_dismiss", review.pk), data, **HTMX)
    again = pharmacist_client.post(url("finding_dismiss", review.pk), {**data, "reason": "Other"}, **HTMX)
    assert first.status_code == again.status_code == 200
    assert [d.reason for d in review.dismissals.all()] == ["Already monitored"]


def test_a_problem_added_twice_with_its_form_token_is_added_once(review, pharmacist_client):
    data = {"new-problem-title": "Forgets evening doses", "new-problem-category": "unnecessary",
            "new-problem-priority": "medium", "new-problem-status": "open", "new-problem-outcome": "unknown",
            "form_token": "6f1c1f7e-5a0e-4f57-9d55-3a1f3f0e7a11"}  # fmt: skip
    first = pharmacist_client.post(url("problem_add", review.pk), data, **HTMX)
    again = pharmacist_client.post(url("problem_add", review.pk), data, **HTMX)
    assert first.status_code == again.status_code == 200
    assert review.problems.count() == 1
    assert "mtm:done" in first.headers["HX-Trigger-After-Settle"]
    assert "HX-Trigger-After-Settle" not in again.headers  # nothing new to announce
    # a refused form frees its token: corrected, it goes through
    fresh = {**data, "form_token": "0b8a6a3c-0d65-4a0d-8f1e-3f4d2b6c9e01", "new-problem-title": ""}
    assert pharmacist_client.post(url("problem_add", review.pk), fresh, **HTMX).status_code == 422
    fixed = {**fresh, "new-problem-title": "Cannot open the bottle"}
    assert pharmacist_client.post(url("problem_add", review.pk), fixed, **HTMX).status_code == 200
    assert review.problems.count() == 2


def test_the_workspace_offers_its_folded_forms_loaded_when_opened(review, patient, by, pharmacist_client):
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    for summary, target in [("Review details", url("review_details", review.pk)),
                            ("Start a medication", url("review_medication_start", review.pk))]:  # fmt: skip
        assert f"<summary>{summary}</summary>" in page
        assert f'hx-get="{target}" hx-trigger="toggle once"' in page  # loaded when opened
        assert f'<noscript><a href="{target}">Open the form</a></noscript>' in page  # or on a page of its own
    assert 'name="review-notes"' not in page and 'name="start-name"' not in page
    fragment = pharmacist_client.get(url("review_medication_start", review.pk), **HTMX).content.decode()
    assert 'name="start-name"' in fragment and 'name="form_token"' in fragment
    assert 'name="csrfmiddlewaretoken"' in fragment  # it also posts without JavaScript
    details = pharmacist_client.get(url("review_details", review.pk), **HTMX).content.decode()
    assert 'name="review-notes"' in details and 'name="form_token"' in details


def test_a_planned_reviews_details_and_a_form_sent_back_with_errors_are_on_the_page_open(
    patient, by, pharmacist_client
):
    planned = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    page = pharmacist_client.get(url("review_workspace", planned.pk)).content.decode()
    assert 'name="review-notes"' in page
    started = services.review_start(review=planned, version=planned.version, by=by)
    response = pharmacist_client.post(
        url("review_medication_start", started.pk), {"start-name": "melatonin 3 mg", "start-source": "otc"}
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert 'value="melatonin 3 mg"' in body and 'name="start-reason"' in body  # nothing typed is lost


def test_the_workspace_offers_each_medication_its_questions_and_each_finding_its_decisions(
    review, patient, by, pharmacist_client
):
    warfarin = patient_services.medication_add(patient=patient, data={"name": "warfarin 5 mg"}, by=by)
    patient_services.medication_add(patient=patient, data={"name": "ibuprofen 200 mg"}, by=by)
    pharmacist_client.post(
        url("assessment_save", review.pk, warfarin.pk),
        {"fields": "safe", "safe": "unsure", "version": ""},
        **AUTOSAVE,
    )
    page = pharmacist_client.get(url("review_workspace", review.pk)).content.decode()
    form = page[page.index(f'id="med-{warfarin.pk}"') :]
    form = form[: form.index("</form>")]
    for question in ["still_needed", "working", "safe", "taken_as_intended", "understands"]:
        assert f'<select name="{question}" >' in form
    safe = form[form.index('<select name="safe"') :]
    assert (
        safe[: safe.index("</select>")].count(" selected") == 1 and '<option value="unsure" selected>' in safe
    )
    working = form[form.index('<select name="working"') :]
    assert '<option value="" selected>' in working[: working.index("</select>")]
    findings = page.count('<li class="finding ')
    assert findings >= 1
    assert page.count(f'action="{url("finding_confirm", review.pk)}"') == findings
    assert page.count(f'action="{url("finding_dismiss", review.pk)}"') == findings
    for preset in DISMISSAL_PRESETS:  # each undecided finding offers the preset reasons, its group labelled
        assert page.count(f'name="reason" value="{preset}"') == findings
    assert page.count('<span class="presets" role="group" aria-labelledby="f-') == findings
    tokens = re.findall(r'name="form_token" value="([^"]+)"', page)
    assert len(tokens) == len(set(tokens))  # every form its own one-time token


def test_a_completed_review_shows_its_addenda_and_earlier_dismissals_show_again(
    review, problem, patient, by, pharmacist_client
):
    services.recommendation_add(
        problem=problem,
        data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "x"},
        by=by,
    )
    patient_services.medication_add(patient=patient, data={"name": "warfarin 5 mg"}, by=by)
    patient_services.medication_add(patient=patient, data={"name": "ibuprofen 200 mg"}, by=by)
    finding = next(f for f in selectors.review_findings(review, today=factories.today()))
    services.finding_dismiss(review=review, finding=finding, reason="Already monitored", by=by)
    done = services.review_complete(
        review=Review.objects.get(pk=review.pk), version=Review.objects.get(pk=review.pk).version,
        minutes_spent=20, by=by, acknowledge_undecided=True,
    )  # fmt: skip
    services.addendum_add(review=done, text="Called the patient back", by=by)
    page = pharmacist_client.get(url("review_workspace", done.pk)).content.decode()
    assert "Called the patient back" in page and "Dismissed: Already monitored" in page
    later = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    page = pharmacist_client.get(url("review_workspace", later.pk)).content.decode()
    assert (
        "Called the patient back" not in page and "“Already monitored”" in page
    )  # shown again, from the earlier review
