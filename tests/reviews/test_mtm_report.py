"""The beneficiary-level CMS MTM report (reviews/report.py, manage.py mtm_report, its page)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from mtm.models import AuditEvent
from patients.models import Prescriber
from reviews import report
from reviews.models import (
    Audience,
    CmrOffer,
    Enrollment,
    MtmProgram,
    Problem,
    Recommendation,
    Review,
    ReviewKind,
    ReviewStatus,
)
from tests import factories
from tests.conftest import client_for

D = datetime.date
UTC = datetime.UTC


@pytest.fixture
def program(org):
    return MtmProgram.objects.create(organisation=org, contract_number="H1234", year=2025, min_diseases=3,
                                     min_drugs=8, cost_threshold=Decimal("1623"))  # fmt: skip


def enrol(program, patient, **fields) -> Enrollment:
    fields = {"met_on": D(2025, 1, 15), "enrolled_on": D(2025, 1, 20), **fields}
    return Enrollment.objects.create(
        organisation=program.organisation, program=program, patient=patient, **fields
    )


def completed(patient, pharmacist, kind, when, **fields) -> Review:
    return Review.objects.create(organisation=patient.organisation, patient=patient, pharmacist=pharmacist, kind=kind,
                                 status=ReviewStatus.COMPLETED, completed_at=when, **fields)  # fmt: skip


def to_prescriber(review, response):
    problem = Problem.objects.create(review=review, patient=review.patient, title="x", category="unnecessary")
    prescriber = Prescriber.objects.filter(
        organisation=review.organisation
    ).first() or factories.make_prescriber(review.organisation)
    return Recommendation.objects.create(problem=problem, patient=review.patient, audience=Audience.PRESCRIBER,
                                         prescriber=prescriber, text="Stop it", response=response)  # fmt: skip


def lines(program) -> dict[str, dict]:
    out = io.StringIO()
    report.report_csv(program, out)
    return {row["last_name"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


@pytest.mark.django_db
def test_every_field_of_a_member_with_two_cmrs_tmrs_and_recommendations(org, program, pharmacist, staff):
    patient = factories.make_patient(org, first_name="Ada", last_name="Moss", date_of_birth=D(1950, 4, 2),
                                     member_id="1EG4TE5MK73")  # fmt: skip
    enrollment = enrol(program, patient)
    CmrOffer.objects.create(enrollment=enrollment, offered_on=D(2025, 2, 3), method="mail", recipient="caregiver",
                            offered_by=staff)  # fmt: skip
    CmrOffer.objects.create(enrollment=enrollment, offered_on=D(2025, 3, 1), method="phone", recipient="member",
                            offered_by=staff)  # fmt: skip
    first = completed(patient, pharmacist, ReviewKind.CMR, datetime.datetime(2025, 3, 10, 15, tzinfo=UTC),
                      method="phone", long_term_care="N", cognitive_impairment="Y", recipient="caregiver",
                      provider_type="local_pharmacist", summary_delivered_on=D(2025, 3, 12))  # fmt: skip
    completed(patient, pharmacist, ReviewKind.CMR, datetime.datetime(2025, 11, 2, 15, tzinfo=UTC), method="video",
              video_link="https://example.org/v")  # fmt: skip
    tmr = completed(patient, pharmacist, ReviewKind.TMR, datetime.datetime(2025, 6, 5, 15, tzinfo=UTC))
    completed(patient, pharmacist, ReviewKind.TMR, datetime.datetime(2025, 9, 5, 15, tzinfo=UTC))
    completed(
        patient, pharmacist, ReviewKind.CMR, datetime.datetime(2024, 12, 1, 15, tzinfo=UTC)
    )  # another year
    # 1 January 2026 01:00 UTC is still 31 December 2025 in New York: the organisation's calendar decides.
    late = completed(patient, pharmacist, ReviewKind.TMR, datetime.datetime(2026, 1, 1, 1, tzinfo=UTC))
    for response in ("accepted", "modified", "declined", "pending"):
        to_prescriber(first, response)
    to_prescriber(tmr, "accepted")
    to_prescriber(late, "accepted")

    line = lines(program)["Moss"]

    assert line == {
        "contract_number": "H1234", "member_id": "1EG4TE5MK73", "first_name": "Ada", "middle_initial": "",
        "last_name": "Moss", "date_of_birth": "1950-04-02", "targeting_reason": "01",
        "date_met_criteria": "2025-01-15", "date_enrolled": "2025-01-20", "date_opted_out": "", "opt_out_reason": "",
        "offered_cmr": "Y", "date_cmr_offered": "2025-02-03", "cmr_offer_recipient": "03",
        "received_cmr": "Y", "number_of_cmrs": "2", "cmr_dates": "2025-03-10;2025-11-02",
        "ltc_at_cmr": "N", "cognitive_impairment_at_cmr": "Y", "cmr_method": "02", "cmr_provider": "03",
        "cmr_recipient": "03", "date_summary_sent": "2025-03-12",
        "number_of_tmrs": "3", "date_first_tmr": "2025-06-05",
        "prescriber_recommendations": "6", "recommendations_changed": "4",
    }  # fmt: skip


@pytest.mark.django_db
def test_an_opted_out_member_without_a_cmr(org, program):
    patient = factories.make_patient(org, last_name="Lane", member_id="2AB3CD4EF56")
    enrol(program, patient, opted_out_on=D(2025, 4, 1), opt_out_reason="03", targeting_reason="04")
    line = lines(program)["Lane"]
    assert (line["date_opted_out"], line["opt_out_reason"], line["targeting_reason"]) == (
        "2025-04-01",
        "03",
        "04",
    )
    assert (line["offered_cmr"], line["received_cmr"], line["number_of_cmrs"], line["cmr_method"]) == (
        "N",
        "N",
        "0",
        "",
    )
    assert (
        line["ltc_at_cmr"] == ""
        and line["number_of_tmrs"] == "0"
        and line["prescriber_recommendations"] == "0"
    )


@pytest.mark.django_db
def test_what_a_line_lacks_is_listed_with_where_to_record_it(org, program, pharmacist):
    patient = factories.make_patient(org, first_name="Ada", last_name="Moss", date_of_birth=D(1950, 4, 2))
    enrol(program, patient)
    cmr = completed(patient, pharmacist, ReviewKind.CMR, datetime.datetime(2025, 3, 10, 15, tzinfo=UTC))
    missing = {m.column: m for m in report.report_missing(program)}
    assert set(missing) == {"member_id", "ltc_at_cmr", "cognitive_impairment_at_cmr", "date_summary_sent"}
    assert missing["member_id"].fix_at == f"/patients/{patient.pk}/"
    assert missing["ltc_at_cmr"].fix_at == f"/reviews/{cmr.pk}/"
    assert missing["ltc_at_cmr"].member == "Moss, Ada (born 04/02/1950)"


@pytest.mark.django_db
def test_the_same_records_give_the_same_bytes_and_the_command_writes_them(org, program, tmp_path):
    for name in ("Young", "Adams", "Moss"):
        enrol(program, factories.make_patient(org, last_name=name, member_id=f"ID{name}"))
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    errors = io.StringIO()
    call_command("mtm_report", "--year", "2025", "--contract", "h1234", "--output", str(first),
                 "--dictionary", str(tmp_path / "dict.csv"), stderr=errors)  # fmt: skip
    call_command(
        "mtm_report", "--year", "2025", "--contract", "H1234", "--output", str(second), stderr=io.StringIO()
    )
    assert first.read_bytes() == second.read_bytes()
    rows = first.read_bytes().split(b"\r\n")
    assert rows[0].startswith(b"contract_number,member_id,first_name")
    assert [row.split(b",")[4] for row in rows[1:4]] == [b"Adams", b"Moss", b"Young"]  # in name order
    assert "record it at" not in errors.getvalue()  # nobody has a CMR: nothing about one is missing
    dictionary = list(csv.reader((tmp_path / "dict.csv").open()))
    assert [row[0] for row in dictionary[1:]] == [c.name for c in report.COLUMNS]
    with pytest.raises(CommandError, match="No MTM program for contract H9999 in 2025"):
        call_command("mtm_report", "--year", "2025", "--contract", "H9999")


@pytest.mark.django_db
def test_the_page_lists_what_is_missing_and_the_download_is_audited(org, program, pharmacist, staff):
    enrol(program, factories.make_patient(org, last_name="Moss"))
    page = client_for(pharmacist).get(f"/program/programs/{program.pk}/report/")
    assert page.status_code == 200 and "member_id" in page.content.decode()
    download = client_for(pharmacist).get(f"/program/programs/{program.pk}/report.csv")
    body = b"".join(download.streaming_content)
    assert download["Content-Disposition"] == 'attachment; filename="mtm-report-H1234-2025.csv"'
    assert body.count(b"\r\n") == 2
    assert AuditEvent.objects.filter(
        object_id=str(program.pk), changes__export__1__startswith="CMS MTM report"
    ).exists()
    assert client_for(staff).get(f"/program/programs/{program.pk}/report/").status_code == 403


@pytest.mark.django_db
def test_another_organisations_report_is_404(other_org, pharmacist):
    theirs = MtmProgram.objects.create(organisation=other_org, contract_number="H5555", year=2025,
                                       cost_threshold=Decimal("1623"))  # fmt: skip
    assert client_for(pharmacist).get(f"/program/programs/{theirs.pk}/report/").status_code == 404
    assert client_for(pharmacist).get(f"/program/programs/{theirs.pk}/report.csv").status_code == 404
