"""Shared fixtures of the written-summary tests: a completed CMR of Walter Brennan (a woman of 76 in
the factories' defaults) whose plan stops Advil (stopped in the record during the review) and starts
Tylenol; and helpers to read PDFs and to post the editor's one form as a browser would."""

import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from actionplans import services
from mtm.audit import Actor
from patients import services as patient_services
from reviews import services as review_services
from reviews.models import Audience, PatientAction, ProblemCategory
from reviews.selectors import review_findings
from tests import factories


@pytest.fixture
def today():
    """Today where the services run in these tests (no organisation time zone is active)."""
    return timezone.localdate()


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def completed(patient, by, org):
    patient.address_line1, patient.city, patient.state, patient.postal_code = (
        "12 Elm St",
        "Madison",
        "WI",
        "53703",
    )
    patient.save()
    factories.make_allergy(patient, substance="penicillin", reaction="hives")
    prescriber = factories.make_prescriber(org, first_name="Alan", last_name="Hartman")
    advil = patient_services.medication_add(patient=patient, data={"name": "Advil 200 mg", "directions": "2 tablets when knee hurts"}, by=by)  # fmt: skip
    patient_services.medication_add(
        patient=patient,
        data={"name": "lisinopril", "strength_dose": "40 mg", "directions": "1 tablet every morning", "prescriber": prescriber},
        by=by,
    )  # fmt: skip
    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = review_services.review_start(review=review, version=review.version, by=by)
    review_services.assessment_save(
        review=review, medication=advil, data={"purpose": "knee pain"}, version=None, by=by
    )
    problem = review_services.problem_add(
        review=review, data={"title": "Ibuprofen with CKD", "category": ProblemCategory.ADVERSE_REACTION}, medications=[advil], by=by
    )  # fmt: skip
    review_services.recommendation_add(
        problem=problem,
        data={"audience": Audience.PATIENT, "action": PatientAction.REPLACE_DRUG, "text": "Stop Advil",
              "talked_about": "Advil can hurt your kidneys.", "to_do": "Stop taking Advil. Use Tylenol for pain."},
        by=by,
    )  # fmt: skip
    review_services.review_medication_stop(review=review, entry=advil, on=factories.today(), reason="Kidneys", version=advil.version, by=by)  # fmt: skip
    review_services.review_medication_start(
        review=review, data={"name": "Tylenol 500 mg", "directions": "1 or 2 tablets every 6 hours if needed for pain"},
        reason="Pain relief that spares the kidneys", by=by,
    )  # fmt: skip
    return review_services.review_complete(review=review, version=review.version, minutes_spent=30, by=by)


@pytest.fixture
def plan(completed, by):
    return services.plan_prepare(review=completed, by=by)


def text_of(pdf: bytes) -> str:
    """The PDF's text with line breaks read as spaces (labels may wrap)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


class _FormFields(HTMLParser):
    """What a browser sends for the editor's form: its inputs, checked boxes, textareas."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea = None
        self._in_form = self._done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "plan-editor" in attrs.get("class", "") and not self._done:
            self._in_form = True
        if not self._in_form or "name" not in attrs:
            return
        if tag == "input" and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append(
                (attrs["name"], attrs.get("value", "on" if attrs.get("type") == "checkbox" else ""))
            )
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            self.fields.append((name, value[1:] if value.startswith("\n") else value))
            self._textarea = None
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def editor_form(client, review) -> dict[str, list[str]]:
    """The editor's one form as the page shows it now, as a browser without JavaScript sends it."""
    page = client.get(reverse("plan_edit", args=[review.pk])).content.decode()
    parser = _FormFields()
    parser.feed(page)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def editor_post(client, review, form: dict[str, list[str]], **buttons):
    """Send the editor's form as it was filled in, with the button pressed (`action=...` or
    `resolve=...`)."""
    return client.post(reverse("plan_edit", args=[review.pk]), {**form, **buttons})


def completed_cmr(patient, by, *, medications: list[str], problems: list[dict]):
    """A completed CMR of `patient` with these medications (by name, added to the list) and problems:
    [{"title", "medications": [names], "patient_wording"?, "action", "talked_about"?, "to_do"?,
    "text"?}], each with one recommendation to the patient. Returns (review, {name: medication})."""
    listed = {
        name: patient_services.medication_add(
            patient=patient, data={"name": name, "directions": "as directed"}, by=by
        )
        for name in medications
    }
    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = review_services.review_start(review=review, version=review.version, by=by)
    for spec in problems:
        problem = review_services.problem_add(
            review=review,
            data={"title": spec["title"], "category": ProblemCategory.ADVERSE_REACTION,
                  "patient_wording": spec.get("patient_wording", "")},
            medications=[listed[name] for name in spec["medications"]], by=by,
        )  # fmt: skip
        review_services.recommendation_add(
            problem=problem,
            data={"audience": Audience.PATIENT, "action": spec["action"], "text": spec.get("text", "See the plan."),
                  "talked_about": spec.get("talked_about", ""), "to_do": spec.get("to_do", "")},
            by=by,
        )  # fmt: skip
    for finding in review_findings(
        review, today=timezone.localdate()
    ):  # decided: these tests are about the plan
        review_services.finding_dismiss(
            review=review, finding=finding, reason="Discussed with the patient", by=by
        )
    review = review_services.review_complete(review=review, version=review.version, minutes_spent=30, by=by)
    return review, listed
