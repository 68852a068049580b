"""Fill files (patients/interop/fills.py): rows checked one by one with the column named, patients
found by identifier or by name and birth date, duplicates skipped, fills linked to the medication
list so adherence counts them, a constant number of queries per batch, and the same file twice
adding nothing."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mtm.audit import Actor
from patients import services
from patients.interop import fills
from patients.interop.fills import fills_import, parse_mapping
from patients.models import PatientIdentifier, PharmacyFill
from tests import factories

SYSTEM = "Main St Pharmacy"
HEADER = "patient_id,ndc,rxcui,drug_name,fill_date,days_supply,quantity,strength,sig,prescriber_npi,pharmacy,rx_number"


@pytest.fixture
def ada(org, pharmacist):
    patient = factories.make_patient(
        org, first_name="Ada", last_name="Okafor", date_of_birth=datetime.date(1948, 2, 3)
    )
    PatientIdentifier.objects.create(organisation=org, patient=patient, system=SYSTEM, value="P100")
    services.medication_add(
        patient=patient, data={"name": "metformin", "strength_dose": "500 mg"}, by=Actor(pharmacist)
    )
    return patient


def run(org, text, mapping=None, **kwargs):
    errors = io.StringIO()
    report = fills_import(organisation=org, lines=io.StringIO(text), mapping=mapping or {}, identifier_system=SYSTEM,
                          errors_to=errors, **kwargs)  # fmt: skip
    return report, errors.getvalue()


def day(days_ago):
    return (factories.today() - datetime.timedelta(days=days_ago)).isoformat()


def test_rows_import_and_link_to_the_medication_list(org, ada):
    npi = factories.valid_npi("123456789")
    text = "\n".join([
        HEADER,
        f"P100,,,metformin 500 mg tab,{day(60)},30,60,500 mg,1 tab twice a day,{npi},Main St,RX1",
        f"P100,,,metformin 500 mg tab,{day(30)},30,60,500 mg,1 tab twice a day,{npi},Main St,RX1",
        f"P100,00093-1048-01,,,{day(10)},30,30,,,,Main St,RX2",
    ])  # fmt: skip
    report, _ = run(org, text)
    assert (report.rows_read, report.imported, report.duplicates, report.refused) == (3, 3, 0, 0)
    metformin = ada.medications.get()
    linked = PharmacyFill.objects.filter(medication=metformin)
    assert linked.count() == 2 and {f.sig for f in linked} == {"1 tab twice a day"}
    ndc_only = PharmacyFill.objects.get(rx_number="RX2")
    assert (ndc_only.drug_name, ndc_only.ndc, ndc_only.medication) == ("NDC 00093104801", "00093104801", None)
    from reviews.selectors import adherence

    per_medication, _ = adherence(ada, today=factories.today())
    assert [line.label for line in per_medication] == [metformin.display_name]  # the file's fills count


def test_the_same_file_twice_adds_nothing_and_duplicates_in_a_file_are_skipped(org, ada):
    row = f"P100,,,lisinopril 10 mg,{day(5)},30,30,,,,,"
    report, _ = run(org, "\n".join([HEADER, row, row]))
    assert (report.imported, report.duplicates) == (1, 1)
    report, _ = run(org, "\n".join([HEADER, row, row]))
    assert (report.imported, report.duplicates) == (0, 2)
    assert PharmacyFill.objects.count() == 1


@pytest.mark.parametrize(
    "row, column, reason",
    [
        (f"P999,,,lisinopril,{day(1)},30,30,,,,,", "patient_id", "no patient with this identifier (Main St Pharmacy)"),
        ("P100,,,lisinopril,2026-13-40,30,30,,,,,", "fill_date", "not a date: write YYYY-MM-DD or MM/DD/YYYY"),
        (f"P100,,,lisinopril,{(factories.today() + datetime.timedelta(days=2)).isoformat()},30,30,,,,,", "fill_date", "in the future"),
        (f"P100,,,lisinopril,{day(1)},0,30,,,,,", "days_supply", "must be from 1 to 365 days"),
        (f"P100,,,lisinopril,{day(1)},thirty,30,,,,,", "days_supply", "not a whole number of days"),
        (f"P100,,,lisinopril,{day(1)},30,-5,,,,,", "quantity", "must be more than 0, below 1,000,000, with at most 2 decimals"),
        (f"P100,,,,{day(1)},30,30,,,,,", "drug_name", "no drug: give drug_name, ndc or rxcui"),
        (f"P100,123,,,{day(1)},30,30,,,,,", "ndc", "an NDC has 10 or 11 digits"),
        (f"P100,,,lisinopril,{day(1)},30,30,,,1234567890,,", "prescriber_npi", "not a valid NPI (10 digits with a check digit)"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_alone_naming_the_column(org, ada, row, column, reason):
    good = f"P100,,,atorvastatin 20 mg,{day(3)},30,30,,,,,"
    report, errors = run(org, "\n".join([HEADER, row, good]))
    assert (report.imported, report.refused) == (1, 1)
    [error] = report.errors
    assert (error.line, error.column, error.reason) == (2, column, reason)
    assert errors.splitlines()[0] == "line,column,value,reason" and errors.splitlines()[1].startswith(
        f"2,{column},"
    )


def test_other_column_names_and_the_name_and_birth_date_fallback(org, ada, other_org):
    factories.make_patient(
        other_org, first_name="Ada", last_name="Okafor", date_of_birth=datetime.date(1948, 2, 3)
    )
    text = "\n".join(
        ["Last,First,DOB,Drug,Rx Date,Days,Qty", f"Okafor,Ada,02/03/1948,metformin 500 mg,{day(2)},30,60"]
    )
    mapping = parse_mapping(
        "Last=last_name,First=first_name,DOB=birth_date,Drug=drug_name,Rx Date=fill_date,Days=days_supply,Qty=quantity"
    )
    report, _ = run(org, text, mapping)
    assert (
        report.imported == 1 and PharmacyFill.objects.get().patient == ada
    )  # never the other organisation's Ada
    with pytest.raises(ValidationError, match="fill_date"):
        parse_mapping("Rx Date=when")
    with pytest.raises(ValidationError, match="no column fill_date"):
        run(org, "patient_id,drug_name,days_supply,quantity\nP100,x,30,30")


def test_queries_per_batch_do_not_grow_with_the_rows(org, ada, monkeypatch):
    monkeypatch.setattr(fills, "BATCH", 50)

    def queries(rows: int) -> int:
        PharmacyFill.objects.all().delete()
        text = "\n".join([HEADER, *(f"P100,,,drug {i},{day(i % 300)},30,{i + 1},,,,," for i in range(rows))])
        with CaptureQueriesContext(connection) as captured:
            report, _ = run(org, text)
        assert report.imported == rows
        return len(captured)

    small, large = queries(50), queries(500)  # one batch, ten batches
    assert large == small * 10


def test_the_cli_imports_and_writes_the_refused_rows(org, ada, pharmacist, tmp_path):
    path = tmp_path / "fills.csv"
    path.write_text(
        "\n".join([HEADER, f"P100,,,metformin,{day(1)},30,60,,,,,", f"P404,,,metformin,{day(1)},30,60,,,,,"])
    )
    out = io.StringIO()
    call_command(
        "import_fills",
        str(path),
        organisation=org.slug,
        user=pharmacist.username,
        identifier_system=SYSTEM,
        stdout=out,
    )
    assert "Imported 1 fills; 0 already recorded (skipped); 1 refused." in out.getvalue()
    assert (tmp_path / "fills.errors.csv").read_text().splitlines()[1].startswith("3,patient_id,P404,")
    with pytest.raises(CommandError, match="--user"):
        call_command(
            "import_fills", str(path), organisation=org.slug, user="nobody", identifier_system=SYSTEM
        )


def test_the_page_imports_in_the_background_and_offers_the_refused_rows(
    org, ada, pharmacist_client, other_pharmacist, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from patients.models import FillImport
    from tests.conftest import client_for

    content = "\n".join(
        [
            "Patient,Drug,Date,Days,Qty",
            f"P100,metformin 500 mg,{day(3)},30,60",
            f"P100,metformin,{day(3)},0,60",
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = pharmacist_client.post(reverse("fill_import_list"), {
            "file": SimpleUploadedFile("fills.csv", content.encode()), "identifier_system": SYSTEM,
            "mapping": "Patient=patient_id,Drug=drug_name,Date=fill_date,Days=days_supply,Qty=quantity",
        })  # fmt: skip
    job = FillImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "fill_import_detail", args=[job.pk]
    )
    page = pharmacist_client.get(response["Location"]).content.decode()
    assert "2 rows read: 1 fills imported, 0 already recorded (skipped), 1 refused." in page
    errors = pharmacist_client.get(reverse("fill_import_errors", args=[job.pk])).content.decode()
    assert errors.splitlines()[1].startswith("3,days_supply,0,must be from 1 to 365 days")
    assert job.content is None or FillImport.objects.get().content is None  # the file is not kept once read
    other = client_for(other_pharmacist)
    assert other.get(reverse("fill_import_detail", args=[job.pk])).status_code == 404
    assert other.get(reverse("fill_import_errors", args=[job.pk])).status_code == 404
    bad = pharmacist_client.post(
        reverse("fill_import_list"),
        {"file": SimpleUploadedFile("fills.xlsx", b"x"), "identifier_system": SYSTEM},
    )
    assert bad.status_code == 400 and "fills.xlsx: a fill file is a CSV" in bad.content.decode()


def test_an_ndc_only_row_is_linked_once_an_rxnorm_release_is_imported(
    org, ada, pharmacist, tmp_path, settings
):
    from pathlib import Path

    settings.KNOWLEDGE_EXTRA_DIRS = [str(tmp_path / "knowledge")]
    call_command("import_rxnorm", str(Path(__file__).resolve().parents[1] / "interactions" / "rxnorm_sample"))
    fills.ingredients_of.cache_clear()
    lisinopril = services.medication_add(patient=ada, data={"name": "lisinopril 10 mg"}, by=Actor(pharmacist))
    report, _ = run(
        org, "\n".join([HEADER, f"P100,0310-0130-10,,,{day(4)},30,30,,,,,"])
    )  # 4-4-2, padded to 5-4-2
    fill = PharmacyFill.objects.get()
    assert report.imported == 1 and (fill.ndc, fill.medication) == ("00310013010", lisinopril)
    fills.ingredients_of.cache_clear()


def test_an_unexpected_error_ends_the_job_as_failed_not_stuck(org, pharmacist, monkeypatch):
    from patients.models import FillImport, ImportStatus

    job = FillImport.objects.create(organisation=org, requested_by=pharmacist, file_name="f.csv",
                                    identifier_system=SYSTEM, content=b"x")  # fmt: skip

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(fills, "fills_import", broken)
    with pytest.raises(RuntimeError):
        fills.run_fill_import(str(job.pk))
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "Import the file again" in job.error
    assert (
        fills.run_fill_import(str(job.pk)) == ImportStatus.FAILED
    )  # a retry of the queued task does nothing


def test_the_fill_cost_is_kept_and_a_bad_one_refused_naming_the_column(org, ada):
    header = HEADER + ",total_cost"
    text = "\n".join([
        header,
        f'P100,,,atorvastatin 20 mg,{day(3)},30,30,,,,,RX7,"$1,204.50"',
        f"P100,,,lisinopril 10 mg,{day(3)},30,30,,,,,RX8,",
        f"P100,,,metformin 500 mg,{day(3)},30,30,,,,,RX9,twelve",
        f"P100,,,metformin 500 mg,{day(4)},30,30,,,,,RX10,-3",
    ])  # fmt: skip
    report, _ = run(org, text)
    assert (report.imported, report.refused) == (2, 2)
    assert PharmacyFill.objects.get(rx_number="RX7").total_cost == Decimal("1204.50")
    assert PharmacyFill.objects.get(rx_number="RX8").total_cost is None
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (4, "total_cost", "not a number"),
        (5, "total_cost", "must be from 0 to 99,999,999.99 with at most 2 decimals"),
    ]
