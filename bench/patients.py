"""Patient list search, patient page and patient API: time and SQL queries.

    .venv/bin/python bench/patients.py [--patients 5000] [--repeat 30]

Seeds an organisation with N patients into its own database (var/bench.sqlite3, or DATABASE_URL
if set, e.g. postgres://postgres@127.0.0.1:5432/mtm_bench), then requests each page through
Django's test client and prints the median time, the ratio to a trivial view (/healthz) timed in
the same run, and the number of SQL queries. The patient page and API must issue the same number
of queries for a patient with 5 and with 40 medications.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings")
(ROOT / "var").mkdir(exist_ok=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from mtm.models import Organisation, User  # noqa: E402
from mtm.permissions import Role  # noqa: E402
from patients.models import (  # noqa: E402
    Allergy,
    Condition,
    Measurement,
    MedicationEntry,
    Patient,
    PharmacyFill,
    Prescriber,
)

FIRST = [
    "Ada",
    "Ben",
    "Cora",
    "Dev",
    "Elena",
    "Frank",
    "Grace",
    "Hugo",
    "Iris",
    "Jon",
    "Kay",
    "Luis",
    "Mae",
    "Ned",
]
LAST = [
    "Smith",
    "Johnson",
    "Okafor",
    "Nguyen",
    "Garcia",
    "Kowalski",
    "Smithers",
    "Brown",
    "Lee",
    "Patel",
    "Moreno",
]


def seed(n_patients: int) -> dict:
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production static files, as served
    org, _ = Organisation.objects.get_or_create(slug="bench", defaults={"name": "Bench Pharmacy"})
    user = User.objects.filter(username="bench-pharmacist").first() or User.objects.create_user(
        "bench-pharmacist", organisation=org, role=Role.PHARMACIST
    )
    have = Patient.objects.filter(organisation=org).count()
    rng = random.Random(42)
    Patient.objects.bulk_create(
        [
            Patient(
                organisation=org,
                first_name=rng.choice(FIRST),
                last_name=f"{rng.choice(LAST)}{i}" if i % 3 else rng.choice(LAST),
                date_of_birth=datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(25000)),
                sex=rng.choice(["female", "male"]),
            )
            for i in range(have, n_patients)
        ],
        batch_size=1000,
    )
    prescriber, _ = Prescriber.objects.get_or_create(
        organisation=org, npi="1234567893", defaults={"first_name": "Rita", "last_name": "Moreno"}
    )
    return {
        "user": user,
        "small": _patient_with(org, prescriber, 5),
        "large": _patient_with(org, prescriber, 40),
    }


def _patient_with(org, prescriber, n: int) -> Patient:
    """A patient with n medications and, alongside, n of each other record."""
    name = f"Record{n}"
    patient = Patient.objects.filter(organisation=org, last_name=name).first()
    if patient:
        return patient
    patient = Patient.objects.create(
        organisation=org,
        first_name="Bench",
        last_name=name,
        date_of_birth=datetime.date(1944, 4, 4),
        sex="female",
    )
    today = datetime.date.today()
    for i in range(n):
        entry = MedicationEntry.objects.create(
            patient=patient,
            name=f"drug {i}",
            strength_dose="10 mg",
            prescriber=prescriber,
            source="prescription",
        )
        PharmacyFill.objects.create(
            patient=patient,
            medication=entry,
            drug_name=f"drug {i}",
            fill_date=today,
            days_supply=30,
            quantity=30,
        )
        Allergy.objects.create(patient=patient, substance=f"substance {i}")
        Measurement.objects.create(patient=patient, kind="weight", value=60 + i, measured_on=today)
    Condition.objects.create(
        patient=patient, icd10_code="I10", description="Essential (primary) hypertension"
    )
    return patient


def measure(client: Client, url: str, data: dict | None, repeat: int) -> tuple[float, int]:
    """Median time and query count of a GET (or, with data, a POST: searches are POSTs)."""

    def request():
        if data is None:
            return client.get(url)
        if url.startswith("/api/"):
            return client.post(url, data, content_type="application/json")
        return client.post(url, data)

    request()  # warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        request()
    return statistics.median(times), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    started = time.perf_counter()
    data = seed(args.patients)
    print(
        f"database: {connection.vendor}; {Patient.objects.count()} patients (seeded in {time.perf_counter() - started:.1f} s)"
    )
    client = Client(enforce_csrf_checks=False)
    client.force_login(data["user"])
    small, large = data["small"], data["large"]
    requests = [
        ("trivial view /healthz (baseline)", "/healthz", None),
        ("patient list, first page", "/patients/", None),
        ("patient list, search 'smi ad'", "/patients/", {"q": "smi ad"}),
        ("patient list, search by birth date", "/patients/", {"q": "04/04/1944"}),
        ("patient API search 'okafor'", "/api/v1/patients/search/", {"query": "okafor"}),
        ("patient page, 5 medications", f"/patients/{small.pk}/", None),
        ("patient page, 40 medications", f"/patients/{large.pk}/", None),
        ("patient API, 5 medications", f"/api/v1/patients/{small.pk}/", None),
        ("patient API, 40 medications", f"/api/v1/patients/{large.pk}/", None),
        ("medications API, 5 medications", f"/api/v1/patients/{small.pk}/medications/", None),
        ("medications API, 40 medications", f"/api/v1/patients/{large.pk}/medications/", None),
    ]
    results = {label: measure(client, url, data, args.repeat) for label, url, data in requests}
    baseline = results[requests[0][0]][0]
    print(f"{'request':42} {'median ms':>10} {'x trivial':>10} {'queries':>8}")
    for label, (seconds, queries) in results.items():
        print(f"{label:42} {seconds * 1000:10.2f} {seconds / baseline:10.1f} {queries:8d}")
    same = [
        results["patient page, 5 medications"][1] == results["patient page, 40 medications"][1],
        results["patient API, 5 medications"][1] == results["patient API, 40 medications"][1],
        results["medications API, 5 medications"][1] == results["medications API, 40 medications"][1],
    ]
    print("queries equal for 5 and 40 medications:", "yes" if all(same) else "NO")


if __name__ == "__main__":
    main()
