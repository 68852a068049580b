"""Eligibility and quality measures for a whole organisation: 10,000 and 100,000 patients.

    createdb -h 127.0.0.1 -U postgres mtm_measures
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtm_measures .venv/bin/python bench/measures.py [--patients 10000,100000]

PostgreSQL only. Builds one organisation per size (reused by later runs): its patients (bulk insert),
two or three chronic conditions each, and 50 fills per patient (5,000,000 for 100,000 patients)
written by one INSERT ... SELECT: four of twelve chronic drugs per patient, refilled every 30 days
from November of the year before with a patient's own delay (so some fall below 80% and some
are at risk), opioids and benzodiazepines among them. Then, in a fresh process each (peak memory
is the process's), a program run for measurement year 2025 computes every patient's eligibility and
seven measures (reviews/program.py, as the worker does) and a second run after 100 patients got a
new fill (only those recomputed). Prints the time, the time per patient, the ratio of the per-patient
times (budget: the larger at most 1.25 x the smaller), the worker's peak memory, and the queries and
time of the worklist pages at each size (they must not grow with the organisation).
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    sys.exit(
        "bench/measures.py measures on PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/mtm_measures)"
    )
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("MTM_VAR_DIR", tempfile.mkdtemp(prefix="mtm-measures-"))
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from mtm.models import Organisation, User  # noqa: E402
from mtm.permissions import Role  # noqa: E402
from patients.models import Condition, Patient, PharmacyFill  # noqa: E402
from reviews import program  # noqa: E402
from reviews.models import Enrollment, MtmProgram, PatientYear, ProgramRun  # noqa: E402

YEAR = 2025
TODAY = datetime.date(2026, 2, 1)  # the year is over: every result is final
FILLS_PER_PATIENT = 50
DRUGS = [
    "metformin 500 mg", "glipizide 5 mg", "lisinopril 10 mg", "losartan 50 mg", "atorvastatin 20 mg",
    "simvastatin 40 mg", "amlodipine 5 mg", "sertraline 50 mg", "oxycodone 5 mg", "alprazolam 0.5 mg",
    "amitriptyline 25 mg", "oxybutynin 5 mg",
]  # fmt: skip
CONDITIONS = [("E11.9", "Type 2 diabetes"), ("I10", "Hypertension"), ("E78.5", "Hyperlipidemia"),
              ("F32.9", "Depression"), ("M17.11", "Osteoarthritis of knee")]  # fmt: skip


def slug(patients: int) -> str:
    return f"bench-measures-{patients}"


def build(patients: int) -> Organisation:
    found = Organisation.objects.filter(slug=slug(patients)).first()
    if (
        found is not None
        and PharmacyFill.objects.filter(patient__organisation=found).count() == patients * FILLS_PER_PATIENT
    ):
        return found
    started = time.perf_counter()
    found = found or Organisation.objects.create(name=f"Bench measures {patients}", slug=slug(patients))
    Patient.objects.filter(organisation=found).delete()
    made = Patient.objects.bulk_create(
        (Patient(organisation=found, first_name=f"First{i}", last_name=f"Last{i:06d}", sex="female",
                 date_of_birth=datetime.date(1935 + i % 50, 1 + i % 12, 1 + i % 28)) for i in range(patients)),
        batch_size=5000,
    )  # fmt: skip
    Condition.objects.bulk_create(
        (Condition(patient=p, icd10_code=CONDITIONS[(i + k) % 5][0], description=CONDITIONS[(i + k) % 5][1],
                   onset_date=datetime.date(2020, 1, 1)) for i, p in enumerate(made) for k in range(2 + i % 2)),
        batch_size=5000,
    )  # fmt: skip
    _insert_fills(found)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"  built {patients:,} patients, {patients * FILLS_PER_PATIENT:,} fills in {time.perf_counter() - started:.0f} s"
    )
    return found


def _insert_fills(organisation: Organisation) -> None:
    """50 fills per patient in one statement: 4 drugs, about 12 fills each, every 30 days plus the
    patient's delay (0-9 days), from 1 November 2024."""
    values = {
        "id": "gen_random_uuid()", "patient_id": "p.id", "medication_id": "NULL",
        "drug_name": f"(ARRAY[{', '.join(repr(d) for d in DRUGS)}])[1 + (p.n * 5 + f.k % 4 * 3) % {len(DRUGS)}]",
        "fill_date": "DATE '2024-11-01' + ((f.k / 4) * (30 + p.n % 10) + f.k % 4)::integer",
        "days_supply": "30", "quantity": "30", "total_cost": "(20 + p.n % 40)::numeric", "version": "1",
        "created_at": "now()", "updated_at": "now()", "source_updated": "NULL",
    }  # fmt: skip
    columns, expressions = [], []
    for field in PharmacyFill._meta.concrete_fields:
        columns.append(field.column)
        if field.attname in values:
            expressions.append(values[field.attname])
        elif isinstance(field, models.CharField):
            expressions.append("''")
        else:
            raise RuntimeError(f"bench/measures.py: give a value for PharmacyFill.{field.attname}")
    expressions = [e.replace("%", "%%") for e in expressions]  # "%" is the placeholder's sign
    # The model's own names and this file's constants: nothing anyone typed.
    into, select = f"{PharmacyFill._meta.db_table} ({', '.join(columns)})", ", ".join(expressions)
    patients = f"(SELECT id, row_number() OVER (ORDER BY id) AS n FROM {Patient._meta.db_table} WHERE organisation_id = %s) p"  # noqa: S608
    sql = f"INSERT INTO {into} SELECT {select} FROM {patients} CROSS JOIN generate_series(0, {FILLS_PER_PATIENT - 1}) AS f(k)"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk])


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(patients: int) -> None:
    """One program run over the organisation, then one after 100 patients changed; JSON out."""
    organisation = Organisation.objects.get(slug=slug(patients))
    MtmProgram.objects.get_or_create(
        organisation=organisation, contract_number="H1234", year=YEAR,
        defaults={"min_diseases": 2, "min_drugs": 3, "cost_threshold": Decimal("1623")},
    )  # fmt: skip
    with connection.cursor() as cursor:  # every patient recomputed (raw: Django's delete collects rows)
        cursor.execute(
            f"DELETE FROM {PatientYear._meta.db_table} WHERE patient_id IN "  # noqa: S608
            f"(SELECT id FROM {Patient._meta.db_table} WHERE organisation_id = %s)",
            [organisation.pk],
        )
    before = _peak_kb()
    started = time.perf_counter()
    run = program.run_compute(ProgramRun.objects.create(organisation=organisation, year=YEAR), today=TODAY)
    seconds = time.perf_counter() - started
    changed = list(
        Patient.objects.filter(organisation=organisation).order_by("?").values_list("pk", flat=True)[:100]
    )
    PharmacyFill.objects.bulk_create(
        PharmacyFill(patient_id=pk, drug_name="atorvastatin 20 mg", fill_date=datetime.date(2025, 12, 30), days_supply=30,
                     quantity=30) for pk in changed
    )  # fmt: skip
    started = time.perf_counter()
    again = program.run_compute(ProgramRun.objects.create(organisation=organisation, year=YEAR), today=TODAY)
    again_seconds = time.perf_counter() - started
    PharmacyFill.objects.filter(patient_id__in=changed, fill_date=datetime.date(2025, 12, 30)).delete()
    peak = _peak_kb()
    print(json.dumps({
        "seconds": seconds, "computed": run.patients_computed, "again_seconds": again_seconds,
        "again_computed": again.patients_computed, "peak_mb": peak / 1024, "added_mb": (peak - before) / 1024,
        "enrolled": Enrollment.objects.filter(program__organisation=organisation).count(),
    }))  # fmt: skip


def pages(patients: int) -> dict:
    organisation = Organisation.objects.get(slug=slug(patients))
    user = User.objects.filter(organisation=organisation, username=f"bench-{patients}").first() or User.objects.create_user(
        username=f"bench-{patients}", password="bench-password-123", organisation=organisation, role=Role.PHARMACIST
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    chosen = MtmProgram.objects.get(organisation=organisation, year=YEAR)
    results = {}
    for name, path in (("program", f"/program/?year={YEAR}"), ("eligible", f"/program/programs/{chosen.pk}/eligible/"),
                       ("at risk", f"/program/at-risk/?year={YEAR}"), ("eligible p.3", f"/program/programs/{chosen.pk}/eligible/?page=3")):  # fmt: skip
        client.get(path, secure=True)  # warm
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path, secure=True)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)
        results[name] = (sorted(times)[2] * 1000, len(queries))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", default="10000,100000")
    parser.add_argument("--child", type=int)
    parser.add_argument("--build-only", action="store_true", help="Make the organisations, measure nothing")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production static files, as served
    sizes = [int(n) for n in args.patients.split(",")]
    figures = {}
    for size in sizes:
        print(f"{size:,} patients")
        build(size)
        if args.build_only:
            continue
        output = subprocess.run([sys.executable, __file__, "--child", str(size)], check=True, capture_output=True,
                                text=True, env=os.environ).stdout  # fmt: skip
        figures[size] = json.loads(output.strip().splitlines()[-1])
        f = figures[size]
        print(f"  run: {f['seconds']:.1f} s for {f['computed']:,} patients = {1000 * f['seconds'] / f['computed']:.2f} ms a patient;"
              f" peak memory {f['peak_mb']:.0f} MB (+{f['added_mb']:.0f} MB during the run)")  # fmt: skip
        print(f"  enrolled: {f['enrolled']:,}")
        print(f"  after 100 patients changed: {f['again_seconds']:.1f} s, {f['again_computed']} recomputed")
        for name, (ms, queries) in pages(size).items():
            print(f"  page {name:13} {ms:7.1f} ms, {queries} queries")
    if len(sizes) > 1 and not args.build_only:
        small, large = (figures[s] for s in (sizes[0], sizes[-1]))
        ratio = (large["seconds"] / large["computed"]) / (small["seconds"] / small["computed"])
        print(f"per-patient time {sizes[-1]:,} vs {sizes[0]:,}: ratio {ratio:.2f} (budget <= 1.25)")


if __name__ == "__main__":
    main()
