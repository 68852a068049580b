"""What the screening personalises on, recorded on the patient's record: pharmacogenomic results
(a phenotype, or an HLA allele positive or negative), pregnancy, breastfeeding and lifestyle, and
QTc; sent to the screening, kept through the pages and the API, imported from FHIR genomics
Observations."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from interactions.engine.request import GENES, LIFESTYLE_FACTORS
from mtm.audit import Actor
from mtm.models import AuditAction, AuditEvent
from patients import selectors, services
from patients.interop.fhir_import import fhir_import_request, import_lines_apply, import_plan
from patients.interop.fhir_read import LOINC, RXNORM
from patients.models import (
    HLA_GENES,
    PHENOTYPES_OF_GENE,
    Factor,
    FactorStatus,
    Gene,
    GeneResult,
    GeneResultStatus,
    LineAction,
    LineDecision,
    PatientFactor,
)
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


def errors_of(raised) -> dict:
    return raised.value.message_dict


def _tomorrow() -> datetime.date:
    """Tomorrow in the active time zone, which the model validators use (UTC outside a request)."""
    return timezone.localdate() + datetime.timedelta(days=1)


# --- The record's rules -----------------------------------------------------------------------------


def test_the_factors_offered_are_pregnancy_breastfeeding_and_the_screenings_lifestyle_words():
    assert set(Factor.values) - {"pregnant", "breastfeeding"} == set(LIFESTYLE_FACTORS)


def test_every_gene_the_screening_reads_can_be_recorded():
    assert Gene.values == list(GENES)
    for gene in set(GENES) - set(HLA_GENES):
        assert PHENOTYPES_OF_GENE[gene], gene


def test_a_male_patient_is_never_recorded_pregnant_or_breastfeeding(org, by):
    harold = factories.make_patient(org, sex="male")
    for factor in ("pregnant", "breastfeeding"):
        with pytest.raises(ValidationError) as raised:
            services.factor_add(patient=harold, data={"factor": factor, "noted_on": factories.today()}, by=by)
        assert "male patient" in errors_of(raised)["factor"][0]
    assert not harold.factors.exists()
    services.factor_add(patient=harold, data={"factor": "alcohol", "noted_on": factories.today()}, by=by)


def test_the_same_factor_is_active_once_and_may_be_noted_again_after_it_ended(patient, by):
    today = factories.today()
    drinks = services.factor_add(
        patient=patient,
        data={"factor": "alcohol", "detail": "2 glasses of wine a day", "noted_on": today},
        by=by,
    )
    with pytest.raises(ValidationError) as raised:
        services.factor_add(patient=patient, data={"factor": "alcohol", "noted_on": today}, by=by)
    assert "already recorded" in errors_of(raised)["factor"][0]

    services.factor_end(factor=drinks, on=today, version=drinks.version, by=by)
    assert drinks.status == FactorStatus.ENDED and drinks.ended_on == today
    assert AuditEvent.objects.filter(action=AuditAction.STOP, object_id=str(drinks.pk)).exists()
    with pytest.raises(ValidationError):
        services.factor_end(factor=drinks, on=today, version=drinks.version, by=by)
    services.factor_add(patient=patient, data={"factor": "alcohol", "noted_on": today}, by=by)
    assert patient.factors.filter(status=FactorStatus.ACTIVE).count() == 1


def test_a_factor_cannot_end_before_it_was_noted_nor_be_noted_in_the_future(patient, by):
    today = factories.today()
    with pytest.raises(ValidationError) as raised:
        services.factor_add(patient=patient, data={"factor": "smoking", "noted_on": _tomorrow()}, by=by)
    assert "noted_on" in errors_of(raised)
    smokes = services.factor_add(patient=patient, data={"factor": "smoking", "noted_on": today}, by=by)
    with pytest.raises(ValidationError) as raised:
        services.factor_end(
            factor=smokes, on=today - datetime.timedelta(days=1), version=smokes.version, by=by
        )
    assert "ended_on" in errors_of(raised)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"gene": "HLA-B", "result": "positive"}, "allele"),
        ({"gene": "HLA-B", "allele": "*57:01"}, "result"),
        (
            {"gene": "HLA-B", "allele": "*57:01", "result": "positive", "phenotype": "poor metabolizer"},
            "phenotype",
        ),
        ({"gene": "HLA-B", "allele": "B57", "result": "positive"}, "allele"),
        ({"gene": "CYP2C19"}, "phenotype"),
        ({"gene": "CYP2C19", "phenotype": "poor metabolizer", "allele": "*57:01"}, "allele"),
        ({"gene": "CYP2C19", "phenotype": "poor metabolizer", "result": "positive"}, "result"),
        ({"gene": "CYP2C19", "phenotype": "decreased function"}, "phenotype"),  # a transporter's word
        ({"gene": "SLCO1B1", "phenotype": "poor metabolizer"}, "phenotype"),
        ({"gene": "BRCA1", "phenotype": "poor metabolizer"}, "gene"),
        ({"gene": "CYP2C19", "phenotype": "poor metabolizer", "tested_on": "tomorrow"}, "tested_on"),
    ],
)
def test_an_inconsistent_gene_result_is_refused_naming_the_field(patient, by, data, field):
    if data.get("tested_on") == "tomorrow":
        data = {**data, "tested_on": _tomorrow()}
    with pytest.raises(ValidationError) as raised:
        services.gene_result_add(patient=patient, data=data, by=by)
    assert field in errors_of(raised), errors_of(raised)
    assert not GeneResult.objects.exists()


def test_one_active_result_per_gene_and_per_hla_allele(patient, by):
    services.gene_result_add(
        patient=patient, data={"gene": "CYP2C19", "phenotype": "poor metabolizer"}, by=by
    )
    with pytest.raises(ValidationError) as raised:
        services.gene_result_add(
            patient=patient, data={"gene": "CYP2C19", "phenotype": "intermediate metabolizer"}, by=by
        )
    assert "already has a CYP2C19 result (CYP2C19 poor metabolizer)" in errors_of(raised)["gene"][0]
    services.gene_result_add(
        patient=patient, data={"gene": "HLA-B", "allele": "*57:01", "result": "negative"}, by=by
    )
    services.gene_result_add(
        patient=patient, data={"gene": "HLA-B", "allele": "*15:02", "result": "negative"}, by=by
    )
    with pytest.raises(ValidationError) as raised:
        services.gene_result_add(
            patient=patient, data={"gene": "HLA-B", "allele": "*57:01", "result": "positive"}, by=by
        )
    assert "allele" in errors_of(raised)


def test_alleles_are_kept_as_star_two_fields(patient, by):
    for typed in ("B*57:01", "5701", "*57:01:01"):
        result = services.gene_result_add(
            patient=patient, data={"gene": "HLA-B", "allele": typed, "result": "positive"}, by=by
        )
        assert result.allele == "*57:01" and str(result) == "HLA-B*57:01 positive"
        services.gene_result_entered_in_error(result=result, reason="test", version=result.version, by=by)


def test_a_result_entered_in_error_needs_a_reason_and_is_no_longer_screened(patient, by):
    result = services.gene_result_add(
        patient=patient, data={"gene": "CYP2D6", "phenotype": "ultrarapid metabolizer"}, by=by
    )
    with pytest.raises(ValidationError) as raised:
        services.gene_result_entered_in_error(result=result, reason=" ", version=result.version, by=by)
    assert "error_reason" in errors_of(raised)
    services.gene_result_entered_in_error(
        result=result, reason="another patient's report", version=result.version, by=by
    )
    assert result.status == GeneResultStatus.ENTERED_IN_ERROR
    record = selectors.patient_record(patient=patient)
    assert "pharmacogenomics" not in selectors.screening_request(record, today=factories.today())["patient"]
    # The gene may be recorded again, correctly.
    services.gene_result_add(
        patient=patient, data={"gene": "CYP2D6", "phenotype": "normal metabolizer"}, by=by
    )


def test_a_qtc_is_a_measurement_in_milliseconds(patient, by):
    qtc = services.measurement_record(
        patient=patient,
        data={"kind": "qtc", "value": Decimal("452"), "measured_on": factories.today()},
        by=by,
    )
    assert qtc.display_value == "452 ms" and str(qtc) == "QTc 452 ms"
    with pytest.raises(ValidationError) as raised:
        services.measurement_record(
            patient=patient,
            data={"kind": "qtc", "value": Decimal("0.45"), "measured_on": factories.today()},
            by=by,
        )
    assert "outside the possible range (250 to 700 ms)" in errors_of(raised)["value"][0]


# --- Sent to the screening ---------------------------------------------------------------------------


def test_the_screening_request_carries_genes_pregnancy_lifestyle_and_qtc(org, by):
    ada = factories.make_patient(org, sex="female", date_of_birth=datetime.date(1994, 5, 1))
    today = factories.today()
    services.gene_result_add(patient=ada, data={"gene": "CYP2C19", "phenotype": "poor metabolizer"}, by=by)
    services.gene_result_add(
        patient=ada, data={"gene": "HLA-B", "allele": "*57:01", "result": "negative"}, by=by
    )
    wrong = services.gene_result_add(
        patient=ada, data={"gene": "TPMT", "phenotype": "poor metabolizer"}, by=by
    )
    services.gene_result_entered_in_error(result=wrong, reason="misread", version=wrong.version, by=by)
    for factor in ("pregnant", "grapefruit", "alcohol"):
        services.factor_add(patient=ada, data={"factor": factor, "noted_on": today}, by=by)
    smoked = services.factor_add(patient=ada, data={"factor": "smoking", "noted_on": today}, by=by)
    services.factor_end(factor=smoked, on=today, version=smoked.version, by=by)
    for value, days in (("430", 40), ("488", 2)):
        factories.make_measurement(ada, "qtc", value, measured_on=today - datetime.timedelta(days=days))

    facts = selectors.screening_request(selectors.patient_record(patient=ada), today=today)["patient"]
    assert facts["pregnant"] is True and facts["lactating"] is False
    assert facts["lifestyle"] == ["alcohol", "grapefruit"]
    assert facts["pharmacogenomics"] == [
        {"gene": "CYP2C19", "phenotype": "poor metabolizer"},
        {"gene": "HLA-B", "allele": "*57:01", "result": "negative"},
    ]
    assert facts["qtc_ms"] == 488.0


def test_a_male_patient_is_never_screened_as_pregnant(org, by):
    # Recorded when the record said female; the sex was corrected since.
    walter = factories.make_patient(org, sex="female")
    services.factor_add(
        patient=walter, data={"factor": "breastfeeding", "noted_on": factories.today()}, by=by
    )
    walter.sex = "male"
    walter.save()
    facts = selectors.screening_request(selectors.patient_record(patient=walter), today=factories.today())[
        "patient"
    ]
    assert "pregnant" not in facts and "lactating" not in facts


def test_clopidogrel_in_a_cyp2c19_poor_metabolizer_is_a_pharmacogenomic_finding(patient, by):
    factories.make_medication(patient, "Plavix 75 mg", strength_dose="75 mg")
    record = selectors.patient_record(patient=patient)
    findings = selectors.patient_screening(record, today=factories.today()).findings
    assert not [f for f in findings if f["kind"] == "pharmacogenomic"]
    services.gene_result_add(
        patient=patient, data={"gene": "CYP2C19", "phenotype": "poor metabolizer"}, by=by
    )
    record = selectors.patient_record(patient=patient)
    findings = selectors.patient_screening(record, today=factories.today()).findings
    [finding] = [f for f in findings if f["kind"] == "pharmacogenomic"]
    assert finding["drugs"] == ["clopidogrel"] and "CYP2C19" in finding["title"]


def test_the_record_is_read_in_the_same_number_of_queries_however_many_results(org, by):
    def queries_for(n):
        patient = factories.make_patient(org)
        for gene in GENES[:n]:
            if gene not in HLA_GENES:
                GeneResult.objects.create(patient=patient, gene=gene, phenotype="indeterminate")
        for factor in list(LIFESTYLE_FACTORS)[:n]:
            PatientFactor.objects.create(patient=patient, factor=factor, noted_on=factories.today())
        with CaptureQueriesContext(connection) as queries:
            record = selectors.patient_record(patient=patient)
            selectors.screening_request(record, today=factories.today())
        return len(queries)

    assert queries_for(2) == queries_for(8)


# --- The patient page ----------------------------------------------------------------------------------


def section_url(name, patient, section, *extra):
    return reverse(name, args=[patient.pk, section, *extra])


def test_a_gene_result_is_added_in_place_and_the_screening_refreshes(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "genomics"),
        {"gene": "CYP2C19", "phenotype": "poor metabolizer", "tested_on": "", "lab": "Four Lakes Genomics"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200, body
    assert body.startswith('<section id="section-genomics"') and "Saved." in body
    assert "<strong>CYP2C19</strong> poor metabolizer" in body
    assert response["HX-Trigger"] == "record-changed"
    assert patient.gene_results.get().lab == "Four Lakes Genomics"


def test_without_javascript_a_save_goes_back_to_the_section_on_the_patient_page(pharmacist_client, patient):
    form_page = pharmacist_client.get(section_url("section_add", patient, "factors"))
    assert form_page.status_code == 200 and "<html" in form_page.content.decode()
    response = pharmacist_client.post(
        section_url("section_add", patient, "factors"),
        {"factor": "caffeine", "detail": "6 cups of coffee a day", "noted_on": factories.today().isoformat()},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[patient.pk]) + "#section-factors"
    body = pharmacist_client.get(response["Location"]).content.decode()
    assert "6 cups of coffee a day" in body and "Saved." in body


def test_an_hla_result_without_its_allele_comes_back_with_the_field_marked(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "genomics"), {"gene": "HLA-B", "result": "positive"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "Enter the HLA-B allele tested" in body
    assert 'name="allele"' in body and 'aria-invalid="true"' in body
    # Focus goes to the field to correct, not to the form's first field.
    allele_input = body[body.index('name="allele"') - 300 : body.index('name="allele"') + 300]
    assert "autofocus" in allele_input
    assert not GeneResult.objects.exists()


def test_factors_are_added_ended_and_a_male_patient_is_told_why_not(pharmacist_client, org):
    harold = factories.make_patient(org, sex="male")
    response = pharmacist_client.post(
        section_url("section_add", harold, "factors"),
        {"factor": "pregnant", "noted_on": factories.today().isoformat()},
        **HTMX,
    )
    assert response.status_code == 422
    assert "cannot be recorded for a male patient" in response.content.decode()
    response = pharmacist_client.post(
        section_url("section_add", harold, "factors"),
        {
            "factor": "grapefruit",
            "detail": "a glass of juice every morning",
            "noted_on": factories.today().isoformat(),
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Eats grapefruit or drinks grapefruit juice" in body
    factor = harold.factors.get()
    response = pharmacist_client.post(
        section_url("section_end", harold, "factors", factor.pk),
        {"ended_on": factories.today().isoformat(), "version": factor.version},
        **HTMX,
    )
    assert response.status_code == 200 and "No longer applies since" in response.content.decode()
    factor.refresh_from_db()
    assert factor.status == FactorStatus.ENDED


def test_the_patient_page_shows_both_sections_and_a_pregnancy_badge(pharmacist_client, patient, by):
    services.factor_add(
        patient=patient,
        data={"factor": "pregnant", "detail": "due 03/2027", "noted_on": factories.today()},
        by=by,
    )
    services.gene_result_add(
        patient=patient, data={"gene": "HLA-B", "allele": "*57:01", "result": "positive"}, by=by
    )
    body = pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert 'id="section-genomics"' in body and 'id="section-factors"' in body
    assert '<span class="badge alert">Pregnant</span>' in body
    assert "<strong>HLA-B*57:01</strong> positive (carrier)" in body and "due 03/2027" in body
    assert "+ Add gene result" in body and "+ Add pregnancy, diet or habit" in body


def test_both_sections_are_read_only_for_an_organisation_admin(admin_client_org, patient, by):
    services.gene_result_add(
        patient=patient, data={"gene": "CYP2C19", "phenotype": "poor metabolizer"}, by=by
    )
    services.factor_add(patient=patient, data={"factor": "alcohol", "noted_on": factories.today()}, by=by)
    body = admin_client_org.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "<strong>CYP2C19</strong> poor metabolizer" in body and "Drinks alcohol" in body
    for text in (
        "+ Add gene result",
        "+ Add pregnancy, diet or habit",
        "Entered in error: CYP2C19",
        "Edit Drinks alcohol",
    ):
        assert text not in body, text
    response = admin_client_org.post(
        section_url("section_add", patient, "factors"),
        {"factor": "smoking", "noted_on": factories.today()},
        **HTMX,
    )
    assert response.status_code == 403
    assert patient.factors.count() == 1


# --- The API ----------------------------------------------------------------------------------------------


@pytest.fixture
def api(pharmacist):
    client = APIClient()
    client.force_authenticate(pharmacist)
    return client


def api_url(patient, section, item=None, action=None):
    parts = ["/api/v1/patients", str(patient.pk), section]
    if item is not None:
        parts.append(str(item))
    if action:
        parts.append(action)
    return "/".join(parts) + "/"


def test_gene_results_through_the_api(api, patient):
    created = api.post(
        api_url(patient, "gene-results"),
        {"gene": "CYP2C19", "phenotype": "intermediate metabolizer", "tested_on": "2024-03-01"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["gene"], body["phenotype"], body["status"], body["version"]) == (
        "CYP2C19", "intermediate metabolizer", "active", 1)  # fmt: skip
    changed = api.patch(
        api_url(patient, "gene-results", body["id"]),
        {"phenotype": "poor metabolizer", "version": 1},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = api.patch(
        api_url(patient, "gene-results", body["id"]),
        {"phenotype": "normal metabolizer", "version": 1},
        format="json",
    )
    assert stale.status_code == 409
    listed = api.get(api_url(patient, "gene-results")).json()
    assert [r["phenotype"] for r in listed["results"]] == ["poor metabolizer"]
    ended = api.post(
        api_url(patient, "gene-results", body["id"], "entered-in-error"),
        {"reason": "another patient's report", "version": 2},
        format="json",
    )
    assert ended.status_code == 200 and ended.json()["status"] == "entered_in_error"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gene": "HLA-B", "result": "positive"}, "allele"),
        ({"gene": "HLA-B", "allele": "*57:01", "result": "maybe"}, "result"),
        ({"gene": "CYP2C19"}, "phenotype"),
        ({"gene": "cyp9z9", "phenotype": "poor metabolizer"}, "gene"),
        ({"gene": "CYP2C19", "phenotype": "very poor"}, "phenotype"),
    ],
)
def test_a_bad_gene_result_is_a_400_naming_the_field(api, patient, body, field):
    response = api.post(api_url(patient, "gene-results"), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not GeneResult.objects.exists()


def test_factors_through_the_api(api, org):
    harold = factories.make_patient(org, sex="male")
    today = factories.today().isoformat()
    refused = api.post(api_url(harold, "factors"), {"factor": "pregnant", "noted_on": today}, format="json")
    assert refused.status_code == 400 and "male patient" in refused.json()["factor"][0]
    created = api.post(
        api_url(harold, "factors"),
        {"factor": "vitamin k rich diet", "detail": "spinach salad daily", "noted_on": today},
        format="json",
    )
    assert created.status_code == 201, created.json()
    twice = api.post(
        api_url(harold, "factors"), {"factor": "vitamin k rich diet", "noted_on": today}, format="json"
    )
    assert twice.status_code == 400 and "factor" in twice.json()
    factor_id = created.json()["id"]
    ended = api.post(
        api_url(harold, "factors", factor_id, "end"), {"ended_on": today, "version": 1}, format="json"
    )
    assert ended.status_code == 200 and (ended.json()["status"], ended.json()["ended_on"]) == ("ended", today)
    assert api.get(api_url(harold, "factors")).json()["count"] == 1


def test_another_organisations_patient_is_a_404(api, other_patient, other_pharmacist):
    result = GeneResult.objects.create(patient=other_patient, gene="CYP2C19", phenotype="poor metabolizer")
    for section in ("gene-results", "factors"):
        assert api.get(api_url(other_patient, section)).status_code == 404
        response = api.post(
            api_url(other_patient, section), {"factor": "alcohol", "gene": "CYP2D6"}, format="json"
        )
        assert response.status_code == 404
    assert api.patch(
        api_url(other_patient, "gene-results", result.pk), {"phenotype": "normal metabolizer", "version": 1}, format="json"
    ).status_code == 404  # fmt: skip
    assert not PatientFactor.objects.exists()


# --- FHIR import ------------------------------------------------------------------------------------------

HGNC = "http://www.genenames.org/geneId"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes"
GR = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"


def concept(system, code, display=None, text=None):
    value = {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}
    return {**value, **({"text": text} if text else {})}


def gene_studied(symbol, hgnc):
    return {
        "code": concept(LOINC, "48018-6", "Gene studied [ID]"),
        "valueCodeableConcept": concept(HGNC, hgnc, symbol),
    }


def observation(id, **fields):
    return {"resourceType": "Observation", "id": id, "status": "final", "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-03-06", **fields}  # fmt: skip


def genomics_bundle(*, cyp2c19="Poor metabolizer"):
    """A lab's pharmacogenomic report as the HL7 Genomics Reporting IG writes it, with FHIR R4's own
    phenotype example shape and a few results MTM cannot keep."""
    resources = [
        {"resourceType": "Patient", "id": "p1", "name": [{"family": "Kowal", "given": ["Wanda"]}],
         "identifier": [{"system": "http://lab.example.org/mrn", "value": "W-1"}],
         "birthDate": "1950-01-02", "gender": "female"},
        {"resourceType": "Organization", "id": "lab", "name": "Four Lakes Genomics"},
        # The genotype (diplotype) of CYP2C19, and the lab's therapeutic implications derived from it,
        # one per drug assessed: one phenotype.
        observation("genotype-2c19", meta={"profile": [GR + "genotype"]}, code=concept(LOINC, "84413-4", "Genotype display name"),
                    valueCodeableConcept=concept("http://www.pharmvar.org", "CYP2C19 *2/*2", "CYP2C19 *2/*2"),
                    component=[gene_studied("CYP2C19", "HGNC:2621")]),
        *[observation(f"implication-{drug}", meta={"profile": [GR + "therapeutic-implication"]},
                      code=concept(TBD, "therapeutic-implication", "Therapeutic Implication"),
                      performer=[{"reference": "Organization/lab"}],
                      derivedFrom=[{"reference": "Observation/genotype-2c19"}],
                      component=[{"code": concept(LOINC, "53040-2", "Genetic variation's effect on drug metabolism"),
                                  "valueCodeableConcept": {"text": cyp2c19}},
                                 {"code": concept(LOINC, "51963-7", "Medication assessed"),
                                  "valueCodeableConcept": concept(RXNORM, rxcui, drug)}])
          for drug, rxcui in (("clopidogrel", "32968"), ("citalopram", "2556"))],
        # FHIR R4's phenotype example: a gene-specific code, the phenotype as a LOINC answer.
        observation("cyp2c9", code=concept(LOINC, "79716-7", "CYP2C9 gene product metabolic activity interpretation"),
                    valueCodeableConcept=concept(LOINC, "LA25391-6")),
        # FHIR R4's observation-geneticsGene extension names the gene.
        observation("slco1b1", code=concept(LOINC, "53040-2"), valueCodeableConcept={"text": "Decreased function"},
                    extension=[{"url": "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene",
                                "valueCodeableConcept": concept(HGNC, "HGNC:10959", "SLCO1B1")}]),
        # An HLA-B genotype (the allele found) and an HLA-A test that was negative.
        observation("hla-b", code=concept(LOINC, "84413-4", "Genotype display name"),
                    valueCodeableConcept=concept("http://www.ncbi.nlm.nih.gov/clinvar", "14909", "HLA-B*57:01"),
                    component=[gene_studied("HLA-B", "HGNC:4932")]),
        observation("hla-a", code=concept(LOINC, "48018-6", "Gene studied [ID]"),
                    valueCodeableConcept=concept(HGNC, "HGNC:4931", "HLA-A"),
                    interpretation=[concept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "NEG", "Negative")],
                    component=[{"code": concept(LOINC, "84413-4"), "valueCodeableConcept": {"text": "HLA-A*31:01"}}]),
        # What MTM cannot keep: a gene the screening does not use, a phenotype that is not CPIC's.
        observation("brca1", code=concept(LOINC, "53040-2"), valueCodeableConcept={"text": "Poor metabolizer"},
                    component=[gene_studied("BRCA1", "HGNC:1100")]),
        observation("cyp2d6", code=concept(LOINC, "53040-2"), valueCodeableConcept={"text": "Super metabolizer"},
                    component=[gene_studied("CYP2D6", "HGNC:2625")]),
    ]  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def run_import(user, bundle, *, target=None):
    job = fhir_import_request(user=user, files=[("report.json", json.dumps(bundle).encode())],
                              source_system="Genomics lab", by=Actor(user), target_patient=target, queue=False)  # fmt: skip
    return import_plan(job)


def test_pharmacogenomic_observations_are_imported_as_gene_results(org, pharmacist):
    job = run_import(pharmacist, genomics_bundle())
    lines = {line.summary: line for line in job.lines.filter(category="gene")}
    assert sorted(lines) == [
        "Add pharmacogenomic result CYP2C19 poor metabolizer (tested 03/06/2024, Four Lakes Genomics)",
        "Add pharmacogenomic result CYP2C9 normal metabolizer (tested 03/06/2024)",
        "Add pharmacogenomic result HLA-A*31:01 negative (tested 03/06/2024)",
        "Add pharmacogenomic result HLA-B*57:01 positive (tested 03/06/2024)",
        "Add pharmacogenomic result SLCO1B1 decreased function (tested 03/06/2024)",
    ]
    skipped = {item["why"] for item in job.report["skipped"]["Observation"]}
    assert "a result for BRCA1, a gene the screening does not use" in skipped
    assert "CYP2D6 phenotype “super metabolizer” is not one of CPIC's terms for CYP2D6" in skipped
    assert any(why.startswith("a genotype, haplotype or variant without the phenotype") for why in skipped)
    assert job.report["problems"] == []

    result = import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert result["refused"] == 0, result
    wanda = job.patients.get().patient
    assert sorted(str(r) for r in wanda.gene_results.all()) == [
        "CYP2C19 poor metabolizer", "CYP2C9 normal metabolizer", "HLA-A*31:01 negative", "HLA-B*57:01 positive",
        "SLCO1B1 decreased function",
    ]  # fmt: skip
    cyp2c19 = wanda.gene_results.get(gene="CYP2C19")
    assert (cyp2c19.source_system, cyp2c19.tested_on, cyp2c19.lab) == (
        "Genomics lab", datetime.date(2024, 3, 6), "Four Lakes Genomics")  # fmt: skip
    assert cyp2c19.source_record.startswith("Observation/implication-")
    facts = selectors.screening_request(selectors.patient_record(patient=wanda), today=factories.today())
    assert {"gene": "CYP2C19", "phenotype": "poor metabolizer"} in facts["patient"]["pharmacogenomics"]

    # The same report again proposes nothing; a newer one changes the phenotype.
    again = run_import(pharmacist, genomics_bundle())
    assert not again.lines.filter(decision=LineDecision.PENDING, category="gene").exists()
    newer = run_import(pharmacist, genomics_bundle(cyp2c19="Intermediate metabolizer"))
    [change] = newer.lines.filter(decision=LineDecision.PENDING, category="gene")
    assert change.action == LineAction.CHANGE
    assert change.summary.startswith("Change CYP2C19: poor metabolizer → intermediate metabolizer")
    import_lines_apply(job=newer, line_ids=[change.pk], by=Actor(pharmacist))
    cyp2c19.refresh_from_db()
    assert (cyp2c19.phenotype, cyp2c19.version) == ("intermediate metabolizer", 2)


def test_results_that_disagree_in_the_files_are_reported_not_imported(org, pharmacist):
    bundle = genomics_bundle()
    bundle["entry"].append({"resource": observation(
        "cyp2c19-again", code=concept(LOINC, "79714-2", "CYP2C19 gene product metabolic activity interpretation"),
        valueCodeableConcept={"text": "Rapid metaboliser"})})  # fmt: skip
    job = run_import(pharmacist, bundle)
    assert not job.lines.filter(summary__contains="CYP2C19").exists()
    [problem] = job.report["problems"]
    assert (
        problem["reason"]
        == "CYP2C19: the files disagree (poor metabolizer, rapid metabolizer); none imported"
    )


def test_a_result_for_the_patient_an_import_was_started_from(patient, pharmacist):
    """A lab file without a Patient of its own, imported from the patient's page."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation(
        "hla", code={"text": "HLA-B*15:02 [Presence] in Blood or Tissue by Molecular genetics method"},
        valueCodeableConcept={"text": "Positive"})}]}  # fmt: skip
    del bundle["entry"][0]["resource"]["subject"]
    job = run_import(pharmacist, bundle, target=patient)
    import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert [str(r) for r in patient.gene_results.all()] == ["HLA-B*15:02 positive"]


def test_a_due_date_gives_screening_the_week_of_pregnancy(org, pharmacist):
    from patients.selectors import patient_record, screening_request

    patient = factories.make_patient(org, sex="female")
    today = factories.today()
    due = today + datetime.timedelta(weeks=14)  # 26 weeks today
    services.factor_add(
        patient=patient, data={"factor": "pregnant", "noted_on": today, "due_on": due}, by=Actor(pharmacist)
    )
    facts = screening_request(patient_record(patient=patient, history=False), today=today)["patient"]
    assert facts["pregnant"] is True and facts["gestational_weeks"] == 26
    with pytest.raises(ValidationError) as error:
        services.factor_add(
            patient=patient,
            data={"factor": "alcohol", "noted_on": today, "due_on": due},
            by=Actor(pharmacist),
        )
    assert "due_on" in error.value.message_dict
