"""The MTM program of an organisation (reviews/program.py): the run that works out eligibility and
measures in chunks, enrolment, the worklists and what is done from them."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mtm.models import AuditEvent
from patients.interop import fills
from patients.models import FillImport, ImportStatus, PatientIdentifier, PharmacyFill
from reviews import program
from reviews.models import (
    CmrOffer,
    Enrollment,
    MeasureValueSet,
    MtmProgram,
    PatientEligibility,
    PatientMeasure,
    ProgramRun,
    ProgramRunStatus,
    Review,
    ReviewKind,
    ReviewStatus,
)
from tests import factories
from tests.conftest import client_for

D = datetime.date
YEAR = 2025


def qualifying_patient(org, last_name="Moss", *, statin_fills=12, cost="150.00"):
    """Diabetes and hypertension since 2020; metformin, lisinopril and a statin filled monthly."""
    patient = factories.make_patient(org, first_name="Ada", last_name=last_name, date_of_birth=D(1950, 4, 2))
    factories.make_condition(
        patient, "E11.9", "Type 2 diabetes mellitus without complications", onset_date=D(2020, 1, 1)
    )
    factories.make_condition(patient, "I10", onset_date=D(2020, 1, 1))
    for n in range(12):
        day = D(YEAR, 1, 6) + datetime.timedelta(days=30 * n)
        factories.make_fill(patient, "metformin 500 mg", fill_date=day, total_cost=Decimal(cost))
        factories.make_fill(patient, "lisinopril 10 mg", fill_date=day, total_cost=Decimal(cost))
        if n < statin_fills:
            factories.make_fill(patient, "atorvastatin 20 mg", fill_date=day, total_cost=Decimal(cost))
    return patient


def make_program(org, **fields) -> MtmProgram:
    fields = {"contract_number": "H1234", "year": YEAR, "min_diseases": 2, "min_drugs": 3,
              "cost_threshold": Decimal("1623.00"), **fields}  # fmt: skip
    return MtmProgram.objects.create(organisation=org, **fields)


def run_now(org, year=YEAR, **kwargs) -> ProgramRun:
    run = ProgramRun.objects.create(organisation=org, year=year)
    return program.run_compute(run, **kwargs)


@pytest.mark.django_db
def test_a_run_enrols_who_meets_the_criteria_and_stores_every_measure(org):
    make_program(org)
    met = qualifying_patient(org, "Moss")
    short = qualifying_patient(org, "Lane", cost="10.00")  # 36 fills at $10: $360 a year

    run = run_now(org)

    assert run.status == ProgramRunStatus.DONE and run.patients_done == 2 and run.patients_computed == 2
    enrollment = Enrollment.objects.get()
    assert enrollment.patient == met and enrollment.targeting_reason == "01"
    # The year's running cost reached $1,623 with the fourth month's fills: 3 x $150 x 4 = $1,800.
    assert enrollment.met_on == enrollment.enrolled_on == D(YEAR, 4, 6)
    lane = PatientEligibility.objects.get(patient=short)
    assert (
        lane.met is False and lane.missing == ["$1,263.00 more annual drug cost"] and lane.missing_count == 1
    )
    codes = set(PatientMeasure.objects.filter(patient=met, year=YEAR).values_list("code", flat=True))
    assert codes == {"PDC-DR", "PDC-RASA", "PDC-STA", "SUPD", "POLY-ACH", "POLY-CNS", "COB"}
    statin = PatientMeasure.objects.get(patient=met, year=YEAR, code="PDC-STA")
    assert (statin.in_denominator, statin.met, statin.days_covered, statin.days_in_period) == (
        True,
        True,
        360,
        360,
    )
    assert AuditEvent.objects.filter(object_id=str(enrollment.pk), actor_username=program.RUN_BY).exists()


@pytest.mark.django_db
def test_a_second_run_recomputes_only_the_patients_whose_data_changed(org):
    make_program(org)
    patients = [qualifying_patient(org, f"P{n}") for n in range(4)]
    assert run_now(org).patients_computed == 4

    again = run_now(org)
    assert again.patients_done == 4 and again.patients_computed == 0

    factories.make_fill(patients[2], "atorvastatin 20 mg", fill_date=D(YEAR, 12, 20))
    third = run_now(org)
    assert third.patients_computed == 1
    PharmacyFill.objects.filter(patient=patients[0]).first().delete()  # a deletion is a change too
    assert run_now(org).patients_computed == 1


@pytest.mark.django_db
def test_a_stopped_run_goes_on_from_its_cursor(org):
    make_program(org)
    for n in range(5):
        qualifying_patient(org, f"P{n}")
    run = ProgramRun.objects.create(organisation=org, year=YEAR)

    program.run_compute(run, chunk=2, stop_after=1)  # the worker stopped after one chunk
    run.refresh_from_db()
    assert run.status == ProgramRunStatus.RUNNING and run.patients_done == 2 and run.cursor is not None
    assert PatientMeasure.objects.values("patient").distinct().count() == 2

    program.run_compute(run, chunk=2)
    run.refresh_from_db()
    assert run.status == ProgramRunStatus.DONE and run.patients_done == 5 and run.patients_computed == 5
    assert Enrollment.objects.count() == 5


@pytest.mark.django_db
def test_one_run_at_a_time_per_year(org):
    first = program.run_request(organisation=org, year=YEAR)
    assert program.run_request(organisation=org, year=YEAR) == first
    assert program.run_request(organisation=org, year=YEAR - 1) != first


@pytest.mark.django_db
def test_a_program_is_refused_outside_the_years_limits_naming_the_field(org, org_admin):
    client = client_for(org_admin)
    response = client.post("/program/programs/new/", {
        "contract_number": "H12345", "year": 2025, "min_diseases": 4, "min_drugs": 9, "cost_threshold": "2000",
    })  # fmt: skip
    assert response.status_code == 422
    form = response.context["form"]
    assert "contract_number" in form.errors and "min_diseases" in form.errors
    assert "from 1 to 3 chronic diseases in 2025" in form.errors["min_diseases"][0]
    assert not MtmProgram.objects.exists()

    response = client.post("/program/programs/new/", {
        "contract_number": "H1234", "year": 2025, "min_diseases": 3, "min_drugs": 8, "cost_threshold": "2000",
    })  # fmt: skip
    assert response.status_code == 422
    assert "may not be above $1,623" in response.context["form"].errors["cost_threshold"][0]

    response = client.post("/program/programs/new/", {
        "contract_number": "H1234", "year": 2025, "min_diseases": 3, "min_drugs": 8, "cost_threshold": "1623",
    })  # fmt: skip
    assert response.status_code == 302
    saved = MtmProgram.objects.get()
    assert (saved.min_diseases, saved.min_drugs, saved.cost_threshold) == (3, 8, Decimal("1623.00"))
    assert ProgramRun.objects.filter(organisation=org, year=2025).exists()  # its patients worked out


@pytest.mark.django_db
def test_the_worklist_offers_opts_out_and_opens_the_cmr(org, pharmacist, staff):
    chosen = make_program(org)
    offered, leaving, seen = (qualifying_patient(org, name) for name in ("Adams", "Baker", "Clark"))
    run_now(org)
    Review.objects.create(organisation=org, patient=seen, pharmacist=pharmacist, kind=ReviewKind.CMR,
                          status=ReviewStatus.COMPLETED, completed_at=datetime.datetime(2025, 6, 1, 15, tzinfo=datetime.UTC))  # fmt: skip
    url = f"/program/programs/{chosen.pk}/eligible/"
    page = client_for(staff).get(url)
    assert page.status_code == 200
    listed = {row["enrollment"].patient for row in page.context["rows"]}
    assert listed == {offered, leaving}  # Clark had the year's CMR

    enrollment = Enrollment.objects.get(patient=offered)
    staff_client = client_for(staff)
    answer = staff_client.post(f"/program/enrollments/{enrollment.pk}/offer/",
                               {"offered_on": "2025-07-01", "method": "phone", "recipient": "member"})  # fmt: skip
    assert answer.status_code == 302
    offer = CmrOffer.objects.get()
    assert (offer.offered_on, offer.method, offer.recipient, offer.offered_by) == (
        D(2025, 7, 1),
        "phone",
        "member",
        staff,
    )
    bad = staff_client.post(f"/program/enrollments/{enrollment.pk}/offer/",
                            {"offered_on": "2024-01-01", "method": "phone", "recipient": "member"}, follow=True)  # fmt: skip
    assert "cannot be before the enrolment" in bad.content.decode() and CmrOffer.objects.count() == 1
    tomorrow = staff_client.post(f"/program/enrollments/{enrollment.pk}/offer/", {
        "offered_on": factories.tomorrow().isoformat(), "method": "phone", "recipient": "member"}, follow=True)  # fmt: skip
    assert "This date is in the future." in tomorrow.content.decode() and CmrOffer.objects.count() == 1

    leaving_enrollment = Enrollment.objects.get(patient=leaving)
    staff_client.post(f"/program/enrollments/{leaving_enrollment.pk}/opt-out/",
                      {"opted_out_on": "2025-08-01", "opt_out_reason": "03", "version": leaving_enrollment.version})  # fmt: skip
    leaving_enrollment.refresh_from_db()
    assert (leaving_enrollment.opted_out_on, leaving_enrollment.opt_out_reason) == (D(2025, 8, 1), "03")
    assert [row["enrollment"].patient for row in staff_client.get(url).context["rows"]] == [offered]

    assert client_for(staff).post(f"/program/enrollments/{enrollment.pk}/cmr/").status_code == 403
    opened = client_for(pharmacist).post(f"/program/enrollments/{enrollment.pk}/cmr/")
    review = Review.objects.get(patient=offered)
    assert opened.status_code == 302 and opened["Location"] == f"/reviews/{review.pk}/"
    assert review.kind == ReviewKind.CMR
    again = client_for(pharmacist).post(f"/program/enrollments/{enrollment.pk}/cmr/")  # a second click
    assert (
        again["Location"] == f"/reviews/{review.pk}/" and Review.objects.filter(patient=offered).count() == 1
    )


@pytest.mark.django_db
def test_the_at_risk_list_opens_a_targeted_review_with_its_reason(org, pharmacist):
    savable = factories.make_patient(org, first_name="Ada", last_name="Moss")
    lost = factories.make_patient(org, first_name="Bea", last_name="Lane")
    # On 1 September: Moss's statin covered 1 March - 27 August (5 days missed), Lane's 1 March - 29 April.
    for n in range(6):
        factories.make_fill(
            savable, "atorvastatin 20 mg", fill_date=D(YEAR, 3, 1) + datetime.timedelta(days=30 * n)
        )
    for n in range(2):
        factories.make_fill(
            lost, "atorvastatin 20 mg", fill_date=D(YEAR, 3, 1) + datetime.timedelta(days=30 * n)
        )
    run_now(org, today=D(YEAR, 9, 1))
    row = PatientMeasure.objects.get(patient=savable, code="PDC-STA")
    # 306 days from 1 March to 31 December: 80% needs 245 covered, so 61 may be missed; 5 are.
    assert (row.met, row.days_covered, row.days_in_period, row.days_can_miss) == (False, 180, 306, 56)
    assert PatientMeasure.objects.get(patient=lost, code="PDC-STA").days_can_miss == 61 - 125

    page = client_for(pharmacist).get(f"/program/at-risk/?year={YEAR}")
    assert page.status_code == 200
    assert [m.patient for m in page.context["at_risk"].object_list] == [savable]
    assert [m.patient for m in page.context["lost"].object_list] == [lost]
    answer = client_for(pharmacist).post(f"/program/measures/{row.pk}/tmr/")
    review = Review.objects.get(patient=savable)
    assert answer["Location"] == f"/reviews/{review.pk}/"
    assert review.kind == ReviewKind.TMR and review.reason_source == "measure:PDC-STA"
    assert review.reason == (
        "Adherence to statins: at most 56 more days without medication keep 80% within reach "
        "(180 of 306 days covered so far)"
    )
    assert client_for(pharmacist).post(f"/program/measures/{row.pk}/tmr/")["Location"] == answer["Location"]
    counted = (
        client_for(pharmacist).get(f"/program/?year={org.today().year}").context["targeted"]
    )  # opened today
    assert counted["total"] == 1 and counted["by_source"] == [("measure:PDC-STA", 1)]


@pytest.mark.django_db
def test_another_organisations_program_rows_are_404(org, other_org, pharmacist):
    theirs = make_program(other_org)
    qualifying_patient(other_org, "Elsewhere")
    run_now(other_org)
    enrollment = Enrollment.objects.get()
    measure = PatientMeasure.objects.filter(patient__organisation=other_org).first()
    client = client_for(pharmacist)
    assert client.get(f"/program/programs/{theirs.pk}/eligible/").status_code == 404
    assert client.post(f"/program/enrollments/{enrollment.pk}/cmr/").status_code == 404
    assert (
        client.post(f"/program/enrollments/{enrollment.pk}/offer/", {"offered_on": "2025-07-01"}).status_code
        == 404
    )
    assert client.post(f"/program/measures/{measure.pk}/tmr/").status_code == 404
    assert not Review.objects.exists() and not CmrOffer.objects.exists()


@pytest.mark.django_db
def test_a_bad_year_is_a_clear_400(pharmacist):
    response = client_for(pharmacist).get("/program/?year=twenty")
    assert response.status_code == 400 and "year" in response.content.decode()


@pytest.mark.django_db
def test_worklist_queries_do_not_grow_with_the_list(org, pharmacist):
    chosen = make_program(org, min_drugs=1, min_diseases=1, cost_threshold=Decimal("0"))

    def queries() -> int:
        run = ProgramRun.objects.create(organisation=org, year=YEAR)
        program.run_compute(run)
        client = client_for(pharmacist)
        with CaptureQueriesContext(connection) as eligible:
            assert client.get(f"/program/programs/{chosen.pk}/eligible/").status_code == 200
        with CaptureQueriesContext(connection) as at_risk:
            assert client.get(f"/program/at-risk/?year={YEAR}").status_code == 200
        with CaptureQueriesContext(connection) as home:
            assert client.get(f"/program/?year={YEAR}").status_code == 200
        return len(eligible), len(at_risk), len(home)

    for n in range(3):
        qualifying_patient(org, f"A{n}")
    few = queries()
    for n in range(12):
        qualifying_patient(org, f"B{n}")
    assert queries() == few


@pytest.mark.django_db
def test_the_api_gives_the_organisations_rates(org, pharmacist):
    make_program(org)
    qualifying_patient(org, "Moss")
    qualifying_patient(org, "Lane", statin_fills=5)
    run_now(org)
    api = APIClient()
    api.force_authenticate(pharmacist)
    body = api.get(f"/api/v1/measures/?year={YEAR}").json()
    rates = {m["code"]: m for m in body["measures"]}
    assert body["year"] == YEAR and body["run_status"] == "done" and body["computed_at"]
    assert rates["PDC-STA"]["denominator"] == 2 and rates["PDC-STA"]["numerator"] == 1
    assert rates["PDC-STA"]["rate"] == "0.5000"
    assert api.get("/api/v1/measures/?year=1850").status_code == 400
    assert api.get("/api/v1/measures/").json()["year"]  # the year is required: named in the error


@pytest.mark.django_db
def test_a_fill_import_brings_the_running_year_up_to_date(
    org, pharmacist, django_capture_on_commit_callbacks
):
    patient = factories.make_patient(org, first_name="Ada", last_name="Moss")
    PatientIdentifier.objects.create(organisation=org, patient=patient, system="Main St", value="P1")
    day = (factories.today() - datetime.timedelta(days=3)).isoformat()
    job = FillImport.objects.create(
        organisation=org, requested_by=pharmacist, file_name="f.csv", identifier_system="Main St",
        content=f"patient_id,drug_name,fill_date,days_supply,quantity\nP1,atorvastatin 20 mg,{day},30,30\n".encode(),
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        assert fills.run_fill_import(str(job.pk)) == ImportStatus.READY
    run = ProgramRun.objects.get(organisation=org)
    run.refresh_from_db()
    assert (
        run.year == org.today().year and run.status == ProgramRunStatus.DONE
    )  # run by the worker (eager here)
    assert PatientMeasure.objects.filter(patient=patient, code="PDC-STA").exists()

    job.pk, job.status = None, ImportStatus.QUEUED
    job.save()
    with django_capture_on_commit_callbacks(execute=True):
        fills.run_fill_import(str(job.pk))  # the same rows again: nothing imported, no run
    assert ProgramRun.objects.count() == 1


@pytest.mark.django_db
def test_licensed_value_sets_replace_the_knowledge_bases_drug_lists(org, pharmacist, tmp_path):
    patient = qualifying_patient(org, "Moss")  # atorvastatin monthly: in PDC-STA's denominator
    run_now(org)
    assert PatientMeasure.objects.get(patient=patient, code="PDC-STA").in_denominator is True

    bad = tmp_path / "bad.csv"
    bad.write_text("measure,role,code_system,code\nPDC-XX,drugs,INGREDIENT,rosuvastatin\n"
                   "PDC-STA,dose,INGREDIENT,rosuvastatin\nPDC-STA,drugs,SNOMED,1\nPDC-STA,drugs,INGREDIENT,unobtainium\n")  # fmt: skip
    with pytest.raises(CommandError) as refused:
        call_command("load_value_sets", str(bad), "--organisation", org.slug)
    message = str(refused.value)
    assert "line 2, measure: PDC-XX" in message and "line 3, role: dose" in message
    assert "line 4, code_system: SNOMED" in message and "line 5, code: unobtainium" in message
    assert not MeasureValueSet.objects.exists()  # nothing of a bad file

    good = tmp_path / "statins.csv"
    good.write_text("measure,role,code_system,code\nPDC-STA,drugs,INGREDIENT,rosuvastatin\n"
                    "PDC-STA,drugs,INGREDIENT,pravastatin\n")  # fmt: skip
    out = io.StringIO()
    call_command("load_value_sets", str(good), "--organisation", org.slug, "--user", "pharmacist", stdout=out)
    assert "PDC-STA drugs: 2 rows" in out.getvalue()
    assert MeasureValueSet.objects.get().ingredients == ["pravastatin", "rosuvastatin"]

    assert run_now(org).patients_computed == 1  # the rules changed: recomputed
    statin = PatientMeasure.objects.get(patient=patient, code="PDC-STA")
    assert statin.in_denominator is False  # atorvastatin is not in the licensed list
    api = APIClient()
    api.force_authenticate(pharmacist)
    live = api.get(f"/api/v1/patients/{patient.pk}/measures/?year={YEAR}").json()["measures"]
    assert next(m for m in live if m["code"] == "PDC-STA")["in_denominator"] is False


@pytest.mark.django_db
def test_a_major_screening_finding_opens_a_targeted_review(org, pharmacist, staff):
    from patients import selectors as patient_selectors

    patient = factories.make_patient(org, first_name="Ada", last_name="Moss")
    for name in ("warfarin", "ibuprofen"):
        factories.make_medication(patient, name, ingredients=[{"rxcui": "", "name": name}])
    screening = patient_selectors.patient_screening(
        patient_selectors.patient_record(patient=patient), today=org.today()
    )
    finding = next(f for f in screening.findings if f["severity"] in ("major", "contraindicated"))
    page = client_for(pharmacist).get(f"/patients/{patient.pk}/")
    assert "Open a TMR for this" in page.content.decode()
    assert "Open a TMR for this" not in client_for(staff).get(f"/patients/{patient.pk}/").content.decode()

    answer = client_for(pharmacist).post(f"/program/patients/{patient.pk}/tmr/", {"finding": finding["id"]})
    review = Review.objects.get(patient=patient)
    assert answer["Location"] == f"/reviews/{review.pk}/" and review.kind == ReviewKind.TMR
    assert review.reason == f"Safety signal ({finding['severity']}): {finding['title']}"
    assert review.reason_source == f"finding:{finding['id']}"
    assert (
        client_for(pharmacist).post(f"/program/patients/{patient.pk}/tmr/", {"finding": "nope"}).status_code
        == 404
    )
    counted = client_for(pharmacist).get(f"/program/?year={org.today().year}").context["targeted"]
    assert counted["by_source"] == [("screening finding", 1)]


@pytest.mark.django_db
def test_a_long_run_is_a_chain_of_short_tasks_each_going_on_from_the_cursor(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    from mtm.models import QueuedTask

    make_program(org)
    for n in range(3):
        qualifying_patient(org, f"P{n}")
    monkeypatch.setattr(program, "CHUNK", 1)
    monkeypatch.setattr(program, "TASK_SECONDS", 0)  # each task: one chunk, then the next task
    with django_capture_on_commit_callbacks(execute=True):
        run = program.run_request(organisation=org, year=YEAR)
    run.refresh_from_db()
    assert run.status == ProgramRunStatus.DONE and run.patients_done == 3 and run.patients_computed == 3
    # three tasks of one chunk each, and a fourth that finds nobody left and closes the run
    assert QueuedTask.objects.filter(task="reviews.program.compute_run").count() == 4
