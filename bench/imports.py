"""Importing pharmacy fill files at scale: 100,000 and 1,000,000 rows for 50,000 patients.

    createdb -h 127.0.0.1 -U postgres mtm_imports
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtm_imports .venv/bin/python bench/imports.py [--rows 100000,1000000]

PostgreSQL only. Builds an organisation of 50,000 patients, each with a pharmacy identifier and
three medications (bulk inserts; reused by later runs), writes each fill file (seeded random:
patients, drugs among the medications' and others, dates in the past year, 5% of rows with an
error to refuse), then imports each file into an empty fill table with the service the page and
`manage.py import_fills` use (patients/interop/fills.py), each in a fresh process, and prints rows
per second, the peak memory the import added (maximum resident set size) and the ratio of the
rates: the per-row cost must not grow with the file (budget: the larger file's rate >= 0.8 x the
smaller's), and memory must stay flat.
"""

import argparse
import csv
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    sys.exit(
        "bench/imports.py measures on PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/mtm_imports)"
    )
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("MTM_VAR_DIR", tempfile.mkdtemp(prefix="mtm-imports-"))
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from mtm.models import Organisation  # noqa: E402
from patients.models import MedicationEntry, Patient, PatientIdentifier, PharmacyFill  # noqa: E402

SLUG, SYSTEM, PATIENTS = "bench-imports", "Bench Pharmacy", 50_000
DRUGS = ["metformin 500 mg", "lisinopril 10 mg", "atorvastatin 20 mg", "amlodipine 5 mg", "levothyroxine 50 mcg",
         "omeprazole 20 mg", "sertraline 50 mg", "losartan 50 mg", "gabapentin 300 mg", "hydrochlorothiazide 25 mg"]  # fmt: skip


def organisation() -> Organisation:
    call_command("migrate", verbosity=0)
    found = Organisation.objects.filter(slug=SLUG).first()
    if found is not None and Patient.objects.filter(organisation=found).count() == PATIENTS:
        return found
    started = time.perf_counter()
    found = found or Organisation.objects.create(name="Bench imports", slug=SLUG)
    Patient.objects.filter(organisation=found).delete()
    random.seed(7)
    patients = Patient.objects.bulk_create(
        (Patient(organisation=found, first_name=f"First{i}", last_name=f"Last{i}", sex="female",
                 date_of_birth=datetime.date(1940 + i % 50, 1 + i % 12, 1 + i % 28)) for i in range(PATIENTS)),
        batch_size=5000,
    )  # fmt: skip
    PatientIdentifier.objects.bulk_create(
        (PatientIdentifier(organisation=found, patient=p, system=SYSTEM, value=f"P{i:06d}") for i, p in enumerate(patients)),
        batch_size=5000,
    )  # fmt: skip
    MedicationEntry.objects.bulk_create(
        (MedicationEntry(patient=p, name=DRUGS[(i + k) % len(DRUGS)].split(" ")[0],
                         ingredients=[{"rxcui": "", "name": DRUGS[(i + k) % len(DRUGS)].split(" ")[0]}])
         for i, p in enumerate(patients) for k in range(3)),
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"built {PATIENTS:,} patients with identifiers and 3 medications each in {time.perf_counter() - started:.0f} s"
    )
    return found


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    today = datetime.date.today()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "patient_id",
                "drug_name",
                "fill_date",
                "days_supply",
                "quantity",
                "sig",
                "pharmacy",
                "rx_number",
            ]
        )
        for n in range(rows):
            patient = rng.randrange(PATIENTS)
            days = rng.choice((30, 30, 30, 90))
            row = [f"P{patient:06d}", rng.choice(DRUGS), (today - datetime.timedelta(days=rng.randrange(1, 365))).isoformat(),
                   days, days * rng.choice((1, 2)), "1 tablet daily", "Bench Pharmacy", f"RX{n}"]  # fmt: skip
            if rng.random() < 0.05:  # a row to refuse
                row[3] = 0
            writer.writerow(row)


def child(path: Path) -> None:
    """In a fresh process: import the file, print the figures as JSON."""
    from patients.interop.fills import fills_import

    found = Organisation.objects.get(slug=SLUG)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with path.open(newline="") as lines, open(os.devnull, "w") as errors:
        report = fills_import(
            organisation=found, lines=lines, mapping={}, identifier_system=SYSTEM, errors_to=errors
        )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": report.rows_read, "imported": report.imported, "refused": report.refused,
                      "duplicates": report.duplicates, "seconds": seconds, "rss_added_mb": (after - before) / 1024,
                      "rss_peak_mb": after / 1024}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    found = organisation()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(r) for r in args.rows.split(",")):
            path = Path(folder) / f"fills-{rows}.csv"
            write_file(path, rows)
            PharmacyFill.objects.filter(patient__organisation=found).delete()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE patients_pharmacyfill")
            output = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True, capture_output=True,
                                    text=True, env=os.environ).stdout  # fmt: skip
            result = json.loads(output.strip().splitlines()[-1])
            results[rows] = result
            print(f"{rows:>9,} rows: {result['rows'] / result['seconds']:8,.0f} rows/s ({result['seconds']:.1f} s); "
                  f"{result['imported']:,} imported, {result['refused']:,} refused, {result['duplicates']:,} duplicates; "
                  f"peak memory {result['rss_peak_mb']:.0f} MB (the import added {result['rss_added_mb']:.1f} MB); "
                  f"file {path.stat().st_size / 1e6:.0f} MB")  # fmt: skip
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        ratio = (large["rows"] / large["seconds"]) / (small["rows"] / small["seconds"])
        print(
            f"rate at {sizes[-1]:,} / rate at {sizes[0]:,}: {ratio:.2f} ({'ok' if ratio >= 0.8 else 'OVER'}, budget >= 0.8)"
        )


if __name__ == "__main__":
    main()
