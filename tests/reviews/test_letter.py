"""The prescriber letter as a prescriber reads it: page 1 holds the questions and the boxes to tick;
the fax-back number and the patient's name and date of birth are on every page."""

import datetime
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from mtm.audit import Actor
from reviews import letters, services
from reviews.letters import prescriber_letter_pdf
from reviews.models import Audience, PrescriberLetter, ProblemCategory, Recommendation
from tests import factories

FAX_BACK = "(608) 555-0100"
ASSESSMENT = (
    "Ibuprofen with lisinopril and hydrochlorothiazide raises the risk of acute kidney injury, above all in "
    "the first month. For Walter: 76-year-old man; creatinine clearance 38 mL/min (Cockcroft-Gault with actual "
    "body weight 70 kg, serum creatinine 1.6 mg/dL on 11/02/2026); blood pressure 148/86 mmHg on 11/02/2026. "
    "Takes Advil 200 mg, 2 tablets three times a day for knee pain, most days for the last three months."
)
QUESTIONS = [
    "Stop ibuprofen; acetaminophen 1 g three times a day and diclofenac gel for the knee.",
    "Reduce simvastatin to 20 mg at bedtime, or change to atorvastatin 40 mg.",
    "Taper diazepam 5 mg by a quarter every two weeks, then stop.",
    "Replace Tylenol PM with plain acetaminophen at bedtime.",
]


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def letter_org(org):
    org.fax = FAX_BACK
    org.phone = "(608) 555-0101"
    org.save()
    return org


@pytest.fixture
def prescriber(letter_org):
    return factories.make_prescriber(letter_org, first_name="Rachel", last_name="Kim", fax="(608) 555-0199")


@pytest.fixture
def review(letter_org, patient, by):
    for n in range(14):  # a full list: the background runs onto page 2
        factories.make_medication(
            patient, f"medication number {n}", directions="1 tablet by mouth every morning"
        )
    factories.make_condition(patient)
    factories.make_allergy(patient, reaction="hives")
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return services.review_start(review=review, version=review.version, by=by)


def with_questions(review, prescriber, by, questions):
    for n, text in enumerate(questions, 1):
        problem = services.problem_add(
            review=review, data={"title": f"Problem {n}", "category": ProblemCategory.ADVERSE_REACTION,
                                 "details": ASSESSMENT}, medications=[], by=by,
        )  # fmt: skip
        services.recommendation_add(
            problem=problem, data={"audience": Audience.PRESCRIBER, "prescriber": prescriber, "text": text},
            prescriber_confirmed=True, by=by,
        )  # fmt: skip


def pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def assert_on_every_page(texts, patient):
    for number, text in enumerate(texts, 1):
        assert f"Fax back to {FAX_BACK}" in text, number
        assert f"{patient.first_name} {patient.last_name} · DOB {patient.date_of_birth:%m/%d/%Y}" in text, (
            number
        )


def test_one_question_page_1_holds_it_with_its_assessment_and_the_boxes(
    review, prescriber, patient, by, pharmacist_client
):
    with_questions(review, prescriber, by, QUESTIONS[:1])
    response = pharmacist_client.get(reverse("prescriber_letter", args=[review.pk, prescriber.pk]))
    texts = pages(response.content)
    assert len(texts) >= 2
    first = texts[0]
    assert "Your decision, please, on 1 recommendation" in first
    assert "1. Problem 1" in first and QUESTIONS[0] in first
    assert "ASSESSMENT " + ASSESSMENT[:60] in first  # beside its question
    for label in ("Accept", "Accept with modification", "Decline", "Modification or reason for declining",
                  "Prescriber signature", "Date", "Rachel Kim"):  # fmt: skip
        assert label in first, label
    assert "BACKGROUND" in " ".join(texts)
    assert_on_every_page(texts, patient)


def test_four_questions_all_fit_on_page_1_and_their_assessments_follow(review, prescriber, patient, by):
    with_questions(review, prescriber, by, QUESTIONS)
    texts = pages(prescriber_letter_pdf(review=review, prescriber=prescriber, today=factories.today()))
    first = texts[0]
    assert "Your decision, please, on 4 recommendations" in first
    for n, question in enumerate(QUESTIONS, 1):
        assert f"{n}. Problem {n}" in first and question in first
    assert first.count("Accept with modification") == 4 and first.count("Decline") == 4
    assert "Prescriber signature" in first
    assert ASSESSMENT[:60] not in first  # compact: the details follow
    rest = " ".join(texts[1:])
    assert rest.count(ASSESSMENT[:60]) == 4 and "BACKGROUND" in rest
    assert_on_every_page(texts, patient)


def test_margins_print_names_as_written(letter_org, by, pharmacist):
    patient = factories.make_patient(letter_org, first_name="Seán", last_name="O'Brien")
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    prescriber = factories.make_prescriber(letter_org, first_name="Rachel", last_name="Kim")
    with_questions(review, prescriber, by, QUESTIONS[:1])
    texts = pages(prescriber_letter_pdf(review=review, prescriber=prescriber, today=factories.today()))
    assert "Seán O'Brien · DOB 05/17/1950" in texts[0] and "&#x27;" not in texts[0]


def test_without_a_fax_number_the_letter_asks_for_a_call_back(review, letter_org, prescriber, by):
    letter_org.fax = ""
    letter_org.save()
    with_questions(review, prescriber, by, QUESTIONS[:1])
    review.refresh_from_db()
    texts = pages(prescriber_letter_pdf(review=review, prescriber=prescriber, today=factories.today()))
    assert all("Reply by phone to (608) 555-0101" in text for text in texts)


def test_the_background_gives_kidney_function_with_its_method(review, prescriber, patient, by):
    factories.make_measurement(patient, "weight", "70")
    factories.make_measurement(patient, "serum_creatinine", "1.6", measured_on=datetime.date(2026, 11, 2))
    with_questions(review, prescriber, by, QUESTIONS[:1])
    text = " ".join(
        pages(prescriber_letter_pdf(review=review, prescriber=prescriber, today=factories.today()))
    )
    assert "Creatinine clearance" in text and "Cockcroft-Gault with actual body weight 70 kg" in text


def test_a_letter_is_rendered_once_for_what_it_says_and_again_when_that_changes(
    review, prescriber, by, pharmacist_client, monkeypatch
):
    """Downloading the letter again (to fax it once more, a colleague opening it) serves the PDF
    kept for its content; a changed question makes a new one."""
    with_questions(review, prescriber, by, QUESTIONS[:1])
    renders = []
    real_render = letters.render_letter
    monkeypatch.setattr(letters, "render_letter", lambda *a: renders.append(1) or real_render(*a))
    url = reverse("prescriber_letter", args=[review.pk, prescriber.pk])
    first = pharmacist_client.get(url).content
    assert pharmacist_client.get(url).content == first
    assert len(renders) == 1 and PrescriberLetter.objects.filter(review=review).count() == 1

    recommendation = Recommendation.objects.get(problem__review=review)
    services.recommendation_update(
        recommendation=recommendation, data={"text": QUESTIONS[1]}, version=recommendation.version, by=by
    )
    changed = pharmacist_client.get(url).content
    assert len(renders) == 2 and QUESTIONS[1] in " ".join(pages(changed))
    assert pharmacist_client.get(url).content == changed and len(renders) == 2


def test_completing_a_review_prepares_its_letters(review, prescriber, by, django_capture_on_commit_callbacks):
    with_questions(review, prescriber, by, QUESTIONS[:2])
    with django_capture_on_commit_callbacks(execute=True):
        services.review_complete(review=review, version=review.version, minutes_spent=30, by=by)
    kept = PrescriberLetter.objects.get(review=review, prescriber=prescriber)
    assert pages(bytes(kept.pdf))[0].startswith(pages(prescriber_letter_pdf(
        review=review, prescriber=prescriber, today=factories.today()))[0][:200])  # fmt: skip
    assert PrescriberLetter.objects.filter(review=review).count() == 1  # the download used the kept one
