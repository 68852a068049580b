"""Review workspace, review API and reports: time and SQL queries.

    .venv/bin/python bench/reviews.py [--repeat 20]

Uses the same database and setup as bench/patients.py. Opens a review for a patient with 5 and
one with 40 medications (real drug names, so the screening has findings; every medication with
fills and answered CMR questions; problems and recommendations in proportion), then prints each
request's median time, its ratio to a trivial view (/healthz) timed in the same run, and its SQL
queries. The workspace must issue the same number of queries for 5 and 40 medications.
"""

import argparse
import datetime
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_patients", Path(__file__).with_name("patients.py"))
bench_patients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_patients)  # sets up Django on the bench database

from django.test import Client  # noqa: E402

from mtm.audit import Actor  # noqa: E402
from mtm.models import Organisation, User  # noqa: E402
from patients import services as patient_services  # noqa: E402
from patients.models import Patient, PharmacyFill, Prescriber  # noqa: E402
from reviews import services  # noqa: E402
from reviews.models import Audience, PatientAction, ProblemCategory, Review  # noqa: E402

DRUGS = [
    "Coumadin 5 mg", "Diflucan 150 mg", "Advil 200 mg", "lisinopril 20 mg", "HCTZ 25 mg", "metformin 1000 mg",
    "glipizide 5 mg", "Zoloft 100 mg", "tramadol 50 mg", "Benadryl 25 mg", "omeprazole 20 mg", "simvastatin 40 mg",
    "amlodipine 10 mg", "oxybutynin 5 mg", "calcium + D", "vitamin D3 2000 units", "fish oil", "Xanax 0.5 mg",
    "oxycodone 5 mg", "Flexeril 10 mg", "levothyroxine 88 mcg", "metoprolol succinate 50 mg", "furosemide 40 mg",
    "potassium chloride 20 mEq", "allopurinol 300 mg", "tamsulosin 0.4 mg", "finasteride 5 mg", "donepezil 10 mg",
    "gabapentin 300 mg", "montelukast 10 mg", "albuterol inhaler", "fluticasone nasal spray", "loratadine 10 mg",
    "famotidine 20 mg", "senna 8.6 mg", "docusate 100 mg", "melatonin 3 mg", "cyanocobalamin 1000 mcg",
    "ferrous sulfate 325 mg", "magnesium oxide 400 mg",
]  # fmt: skip


def review_with(org: Organisation, user: User, prescriber: Prescriber, n: int) -> Review:
    name = f"Review{n}"
    existing = Review.objects.filter(patient__organisation=org, patient__last_name=name).first()
    if existing:
        return existing
    by = Actor(user)
    patient = Patient.objects.create(
        organisation=org,
        first_name="Bench",
        last_name=name,
        date_of_birth=datetime.date(1946, 6, 6),
        sex="female",
    )
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = services.review_start(review=review, version=review.version, by=by)
    today = datetime.date.today()
    for i in range(n):
        entry = patient_services.medication_add(
            patient=patient, data={"name": DRUGS[i % len(DRUGS)], "prescriber": prescriber}, by=by
        )
        PharmacyFill.objects.bulk_create(
            PharmacyFill(
                patient=patient,
                medication=entry,
                drug_name=entry.name,
                quantity=30,
                days_supply=30,
                fill_date=today - datetime.timedelta(days=30 * month + i % 7),
            )
            for month in range(12)
        )
        services.assessment_save(
            review=review,
            medication=entry,
            data={"still_needed": "yes", "working": "yes"},
            version=None,
            by=by,
        )
    medications = list(patient.medications.all())
    for i in range(max(1, n // 5)):
        problem = services.problem_add(
            review=review, data={"title": f"problem {i}", "category": ProblemCategory.ADVERSE_REACTION},
            medications=medications[i : i + 3], by=by,
        )  # fmt: skip
        services.recommendation_add(
            problem=problem,
            data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "x"},
            by=by,
        )
        services.recommendation_add(
            problem=problem,
            data={"audience": Audience.PRESCRIBER, "prescriber": prescriber, "text": "y"},
            by=by,
        )
    return review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data = bench_patients.seed(200)
    user = data["user"]
    org = user.organisation
    prescriber = Prescriber.objects.get(organisation=org, npi="1234567893")
    small, large = (review_with(org, user, prescriber, n) for n in (5, 40))
    client = Client()
    client.force_login(user)
    today = datetime.date.today()
    period = {"start": (today - datetime.timedelta(days=365)).isoformat(), "end": today.isoformat()}
    requests = [
        ("trivial view /healthz (baseline)", "/healthz", None),
        ("review workspace, 5 medications", f"/reviews/{small.pk}/", None),
        ("review workspace, 40 medications", f"/reviews/{large.pk}/", None),
        ("review API findings, 5 medications", f"/api/v1/reviews/{small.pk}/findings/", None),
        ("review API findings, 40 medications", f"/api/v1/reviews/{large.pk}/findings/", None),
        ("review list", "/reviews/", None),
        ("outcomes, last 12 months", "/reviews/outcomes/?start={start}&end={end}".format(**period), None),
        (
            "billing CSV, last 12 months",
            "/reviews/billing.csv?start={start}&end={end}".format(**period),
            None,
        ),
    ]
    results = {label: bench_patients.measure(client, url, body, args.repeat) for label, url, body in requests}
    baseline = results[requests[0][0]][0]
    print(f"{'request':42} {'median ms':>10} {'x trivial':>10} {'queries':>8}")
    for label, (seconds, queries) in results.items():
        print(f"{label:42} {seconds * 1000:10.2f} {seconds / baseline:10.1f} {queries:8d}")
    same = results["review workspace, 5 medications"][1] == results["review workspace, 40 medications"][1]
    print("workspace queries equal for 5 and 40 medications:", "yes" if same else "NO")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
