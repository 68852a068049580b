"""Patient education chosen for the patient: pregnancy, breastfeeding and birth-control text only for
a patient who could become pregnant; no citation lines on anything the patient gets."""

import datetime

import pytest
from django.urls import reverse

from actionplans import services
from reviews.models import PatientAction
from tests import factories
from tests.actionplans.conftest import completed_cmr, text_of

# --- Drawn for the patient -----------------------------------------------------------------------------


def born_years_ago(years: int, today: datetime.date) -> datetime.date:
    return today.replace(year=today.year - years) - datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("sex", "age", "gets_it"),
    [("female", 30, True), ("female", 50, True), ("female", 51, False), ("female", 74, False),
     ("female", 11, False), ("female", 12, True), ("male", 30, False), ("other", 30, True)],
)  # fmt: skip
def test_pregnancy_text_is_drawn_only_for_a_patient_who_could_become_pregnant(
    org, by, today, sex, age, gets_it
):
    patient = factories.make_patient(org, sex=sex, date_of_birth=born_years_ago(age, today))
    review, _ = completed_cmr(patient, by, medications=["lisinopril 10 mg"], problems=[
        {"title": "Blood pressure", "medications": ["lisinopril 10 mg"], "action": PatientAction.MONITORING,
         "talked_about": "Your blood pressure is high.", "to_do": "Check it at home."},
    ])  # fmt: skip
    entry = services.plan_prepare(review=review, by=by).education.get()
    assert bool(entry.pregnancy) is gets_it
    assert "pregnan" not in entry.get_help  # never hidden in the text every patient gets
    assert entry.sources  # the citations stay with the entry, for the staff view


def test_a_74_year_old_woman_and_a_man_get_no_pregnancy_text_and_no_citations_in_print(
    org, by, today, staff_client
):
    margaret = factories.make_patient(
        org, first_name="Margaret", sex="female", date_of_birth=born_years_ago(74, today)
    )
    harold = factories.make_patient(
        org, first_name="Harold", sex="male", date_of_birth=born_years_ago(82, today)
    )
    young = factories.make_patient(
        org, first_name="Rosa", sex="female", date_of_birth=born_years_ago(34, today)
    )
    texts = {}
    for patient in (margaret, harold, young):
        review, _ = completed_cmr(patient, by, medications=["lisinopril 10 mg", "losartan 50 mg", "melatonin 3 mg"], problems=[
            {"title": "Blood pressure", "medications": ["lisinopril 10 mg"], "action": PatientAction.MONITORING,
             "talked_about": "Your blood pressure is high.", "to_do": "Check it at home."},
        ])  # fmt: skip
        plan = services.plan_prepare(review=review, by=by)
        for entry in plan.education.all():
            services.education_update(entry=entry, data={"included": True}, version=entry.version, by=by)
        document = services.document_issue(plan=plan, by=by, today=today)
        texts[patient.first_name] = text_of(bytes(document.pdf))
        print_view = staff_client.get(reverse("document_print", args=[document.pk])).content.decode()
        for printed in (texts[patient.first_name], print_view):
            assert "Sources:" not in printed and "prescribing information" not in printed
            assert "Drug Facts" not in printed and "Office of Dietary Supplements" not in printed
    for name in ("Margaret", "Harold"):
        assert "pregnan" not in texts[name].lower() and "breastfe" not in texts[name].lower(), name
        assert "birth control" not in texts[name].lower(), name
    assert "Pregnancy, breastfeeding and birth control: Stop and call your doctor" in texts["Rosa"]
