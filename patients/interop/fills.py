"""Importing a pharmacy's fill file (CSV of dispensing records) into patients' fill histories.

The file is read a row at a time and written in batches of BATCH rows (one transaction each, a
fixed number of queries each: the batch's patients, the fills already recorded for them on those
dates, their medication lists); memory does not grow with the file. A row is refused alone, with
its line, column, value and reason; the other rows of its batch are written. A fill already
recorded (same patient, drug, fill date and quantity), or twice in the file, is skipped: importing
the same file again adds nothing. Each fill is linked to the patient's medication-list entry with
the same ingredients when there is exactly one, so that adherence (PDC) counts it as it counts the
fills typed in. The columns are documented in the README ("Importing fill files").
"""

import csv
import datetime
import functools
import io
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from interactions.selectors import medication_resolve, product_ingredients
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction, Organisation
from mtm.outbox import enqueue
from mtm.scoping import scope_to_organisation
from patients.models import (
    FillImport,
    ImportStatus,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PatientIdentifier,
    PharmacyFill,
)
from patients.signals import clinical_data_imported
from patients.validators import npi_check_digit_ok

BATCH = 2000
ERRORS_KEPT = 100  # in memory, to show; the error CSV has them all
COLUMNS = (
    "patient_id", "ndc", "rxcui", "drug_name", "fill_date", "days_supply", "quantity", "strength", "sig",
    "prescriber_npi", "pharmacy", "rx_number", "last_name", "first_name", "birth_date", "total_cost",
)  # fmt: skip
MAX_LENGTHS = {
    "drug_name": 200,
    "strength": 100,
    "sig": 300,
    "pharmacy": 200,
    "rx_number": 40,
    "patient_id": 200,
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    reason: str


@dataclass
class FillImportReport:
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ERRORS_KEPT


def parse_mapping(text: str) -> dict[str, str]:
    """ "Rx Date=fill_date,Qty=quantity" -> {"Rx Date": "fill_date", "Qty": "quantity"}."""
    mapping = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        theirs, _, ours = part.partition("=")
        if not ours.strip() or ours.strip() not in COLUMNS:
            raise ValidationError({"mapping": f"“{part}”: write “their column=one of {', '.join(COLUMNS)}”."})
        mapping[theirs.strip()] = ours.strip()
    return mapping


# --- The service --------------------------------------------------------------------------------------


def fills_import(
    *,
    organisation: Organisation,
    lines: Iterable[str],
    mapping: dict[str, str],
    identifier_system: str,
    errors_to=None,
    dry_run: bool = False,
    today: datetime.date | None = None,
) -> FillImportReport:
    """Import the rows of a fill file (an iterable of its text lines, header first). Refused rows
    are written to `errors_to` (a text file) as CSV: line, column, value, reason."""
    today = today or organisation.today()
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
        raise ValidationError({"file": "The file is empty."})
    columns = [mapping.get(name.strip(), name.strip().lower()) for name in header]
    missing = [name for name in ("fill_date", "days_supply", "quantity") if name not in columns]
    if not {"ndc", "rxcui", "drug_name"} & set(columns):
        missing.append("drug_name (or ndc, or rxcui)")
    if "patient_id" not in columns and not {"last_name", "first_name", "birth_date"} <= set(columns):
        missing.append("patient_id (or last_name, first_name and birth_date)")
    if missing:
        raise ValidationError(
            {"file": f"The file has no column {', '.join(missing)} (its columns: {', '.join(header)})."}
        )
    report = FillImportReport()
    writer = csv.writer(errors_to) if errors_to is not None else None
    if writer:
        writer.writerow(["line", "column", "value", "reason"])

    def refuse(error: RowError) -> None:
        report.refused += 1
        if len(report.errors) < ERRORS_KEPT:
            report.errors.append(error)
        if writer:
            writer.writerow([error.line, error.column, error.value, error.reason])

    for batch in _batches(_parsed(rows, columns, today, refuse, report), BATCH):
        _write(organisation, identifier_system, batch, refuse, report, dry_run)
    return report


@dataclass
class _Row:
    line: int
    values: dict


def _parsed(rows, columns: list[str], today: datetime.date, refuse, report) -> Iterator[_Row]:
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        report.rows_read += 1
        values = {name: cell.strip() for name, cell in zip(columns, row, strict=False) if name in COLUMNS}
        try:
            yield _Row(line, _checked(values, today))
        except _Refusal as refusal:
            refuse(RowError(line, refusal.column, values.get(refusal.column, "")[:200], refusal.reason))


class _Refusal(Exception):
    def __init__(self, column: str, reason: str):
        self.column, self.reason = column, reason


def _date(value: str, column: str) -> datetime.date:
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise _Refusal(column, "not a date: write YYYY-MM-DD or MM/DD/YYYY")


def _amount(values: dict, column: str, *, zero: bool, below: Decimal, rule: str) -> Decimal:
    """A column's number, not negative (zero only when `zero`), with at most 2 decimals; a "$" and
    thousands commas are allowed."""
    try:
        amount = Decimal(values.get(column, "").replace("$", "").replace(",", ""))
    except InvalidOperation:
        raise _Refusal(column, "not a number") from None
    if (
        not amount.is_finite()
        or amount < 0
        or (amount == 0 and not zero)
        or amount >= below
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise _Refusal(column, rule)
    return amount


def _checked(values: dict, today: datetime.date) -> dict:
    """The row's values as the database keeps them, or the first refusal (naming the column)."""
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            raise _Refusal(name, f"longer than {limit} characters")
    if not (values.get("drug_name") or values.get("ndc") or values.get("rxcui")):
        raise _Refusal("drug_name", "no drug: give drug_name, ndc or rxcui")
    ndc = ndc_11(values.get("ndc", ""))
    if values.get("ndc") and len(ndc) not in (10, 11):
        raise _Refusal("ndc", "an NDC has 10 or 11 digits")
    if values.get("rxcui") and not values["rxcui"].isdigit():
        raise _Refusal("rxcui", "an RxCUI is a number")
    fill_date = _date(values.get("fill_date", ""), "fill_date")
    if fill_date > today:
        raise _Refusal("fill_date", "in the future")
    try:
        days_supply = int(values.get("days_supply", ""))
    except ValueError:
        raise _Refusal("days_supply", "not a whole number of days") from None
    if not 1 <= days_supply <= 365:
        raise _Refusal("days_supply", "must be from 1 to 365 days")
    quantity = _amount(values, "quantity", zero=False, below=Decimal("1000000"),
                       rule="must be more than 0, below 1,000,000, with at most 2 decimals")  # fmt: skip
    total_cost = None
    if values.get("total_cost"):
        total_cost = _amount(values, "total_cost", zero=True, below=Decimal("100000000"),
                             rule="must be from 0 to 99,999,999.99 with at most 2 decimals")  # fmt: skip
    npi = values.get("prescriber_npi", "")
    if npi and not npi_check_digit_ok(npi):
        raise _Refusal("prescriber_npi", "not a valid NPI (10 digits with a check digit)")
    birth_date = _date(values["birth_date"], "birth_date") if values.get("birth_date") else None
    if not values.get("patient_id") and not (
        values.get("last_name") and values.get("first_name") and birth_date
    ):
        raise _Refusal("patient_id", "no patient: give patient_id, or last_name, first_name and birth_date")
    name = values.get("drug_name") or (f"NDC {ndc}" if ndc else f"RxCUI {values['rxcui']}")
    return {
        "patient_id": values.get("patient_id", ""), "last_name": values.get("last_name", ""),
        "first_name": values.get("first_name", ""), "birth_date": birth_date, "drug_name": name,
        "ndc": ndc, "rxcui": values.get("rxcui", ""), "fill_date": fill_date, "days_supply": days_supply,
        "quantity": quantity, "strength": values.get("strength", ""), "sig": values.get("sig", ""),
        "prescriber_npi": npi, "pharmacy": values.get("pharmacy", ""), "rx_number": values.get("rx_number", ""),
        "total_cost": total_cost,
    }  # fmt: skip


def _batches(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ndc_11(value: str) -> str:
    """An NDC in the 11 digits (5-4-2) RxNorm keeps: a hyphenated 10-digit NDC (4-4-2, 5-3-2,
    5-4-1) is padded where its short segment is; digits alone are kept as they are."""
    segments = value.strip().split("-")
    if len(segments) == 3 and all(part.isdigit() for part in segments):
        return segments[0].zfill(5) + segments[1].zfill(4) + segments[2].zfill(2)
    return re.sub(r"\D", "", value)


@functools.lru_cache(maxsize=20_000)
def ingredients_of(name: str, ndc: str = "", rxcui: str = "") -> frozenset[str]:
    """What a dispensed drug is: its name as a typed medication resolves; else its NDC or RxCUI
    when a local RxNorm release has been imported."""
    found = medication_resolve(name).ingredients
    return frozenset(found or product_ingredients(ndcs=[ndc] if ndc else [], rxcuis=[rxcui] if rxcui else []))


def _recorded(pairs: set[tuple]) -> set[tuple]:
    """(patient, drug, date, quantity) of the fills already recorded on the batch's (patient, date)
    pairs: on PostgreSQL exactly those pairs (an index lookup each, however full the table is);
    elsewhere the batch's patients on its dates."""
    if not pairs:
        return set()
    if connection.vendor == "postgresql":
        patients, days = zip(*pairs, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT f.patient_id, lower(f.drug_name), f.fill_date, f.quantity FROM patients_pharmacyfill f "
                "JOIN unnest(%s::uuid[], %s::date[]) AS wanted(patient_id, fill_date) "
                "ON f.patient_id = wanted.patient_id AND f.fill_date = wanted.fill_date",
                [list(patients), list(days)],
            )
            return set(cursor.fetchall())
    fills = PharmacyFill.objects.filter(
        patient_id__in={p for p, _ in pairs}, fill_date__in={d for _, d in pairs}
    )
    return set(fills.values_list("patient_id", Lower("drug_name"), "fill_date", "quantity"))


def _write(organisation, identifier_system: str, batch: list[_Row], refuse, report, dry_run: bool) -> None:
    """One batch: four queries to read, one to write, whatever the batch holds."""
    ids = {row.values["patient_id"] for row in batch if row.values["patient_id"]}
    by_identifier = dict(
        PatientIdentifier.objects.filter(organisation=organisation, system=identifier_system, value__in=ids)
        .values_list("value", "patient_id")
    )  # fmt: skip
    named = [row.values for row in batch if not row.values["patient_id"]]
    by_name: dict[tuple, list] = defaultdict(list)
    if named:
        for patient_id, last, first, born in Patient.objects.filter(
            organisation=organisation, date_of_birth__in={v["birth_date"] for v in named},
            last_name_lower__in={v["last_name"].lower() for v in named},
        ).values_list("pk", "last_name_lower", "first_name_lower", "date_of_birth"):  # fmt: skip
            by_name[(last, first, born)].append(patient_id)
    resolved = []
    for row in batch:
        values = row.values
        if values["patient_id"]:
            patient_id = by_identifier.get(values["patient_id"])
            if patient_id is None:
                refuse(
                    RowError(
                        row.line,
                        "patient_id",
                        values["patient_id"],
                        f"no patient with this identifier ({identifier_system})",
                    )
                )
                continue
        else:
            found = by_name.get(
                (values["last_name"].lower(), values["first_name"].lower(), values["birth_date"]), []
            )
            if len(found) != 1:
                why = (
                    "no patient with this name and birth date"
                    if not found
                    else "several patients have this name and birth date"
                )
                refuse(RowError(row.line, "last_name", values["last_name"], why))
                continue
            patient_id = found[0]
        resolved.append((row, patient_id))
    patient_ids = {patient_id for _, patient_id in resolved}
    recorded = _recorded({(patient_id, row.values["fill_date"]) for row, patient_id in resolved})
    medications = defaultdict(list)
    for entry_id, patient_id, ingredients in MedicationEntry.objects.filter(
        patient_id__in=patient_ids, status=MedicationStatus.ACTIVE
    ).values_list("pk", "patient_id", "ingredients"):
        medications[patient_id].append((entry_id, frozenset(i["name"] for i in ingredients)))
    fills = []
    for row, patient_id in resolved:
        values = row.values
        key = (patient_id, values["drug_name"].lower(), values["fill_date"], values["quantity"])
        if key in recorded:
            report.duplicates += 1
            continue
        recorded.add(key)
        wanted = ingredients_of(values["drug_name"], values["ndc"], values["rxcui"])
        same = [
            entry_id for entry_id, ingredients in medications[patient_id] if wanted and ingredients == wanted
        ]
        fills.append(PharmacyFill(
            patient_id=patient_id, medication_id=same[0] if len(same) == 1 else None,
            **{name: values[name] for name in ("drug_name", "ndc", "rxcui", "fill_date", "days_supply", "quantity",
                                               "strength", "sig", "prescriber_npi", "pharmacy", "rx_number",
                                               "total_cost")},
            source_system="fill file", source_record=f"line {row.line}",
        ))  # fmt: skip
    if fills and not dry_run:
        with transaction.atomic():
            PharmacyFill.objects.bulk_create(fills)
    report.imported += len(fills)


# --- As a job: the page and the CLI -----------------------------------------------------------------


def fill_imports_visible_to(user):
    return scope_to_organisation(FillImport.objects.select_related("requested_by"), user)


def fill_import_request(
    *, user, file_name: str, content: bytes, identifier_system: str, mapping_text: str, by: Actor
) -> FillImport:
    """Keep the file and queue its import (the worker runs it once the transaction commits)."""
    if not file_name.lower().endswith((".csv", ".txt")):
        raise ValidationError({"file": f"{file_name}: a fill file is a CSV (.csv or .txt)."})
    if not identifier_system.strip():
        raise ValidationError(
            {
                "identifier_system": "Name the system the patient_id column comes from (e.g. “Main St Pharmacy”)."
            }
        )
    mapping = parse_mapping(mapping_text)
    with transaction.atomic():
        job = FillImport.objects.create(
            organisation_id=user.organisation_id, requested_by=user, file_name=file_name[:200],
            identifier_system=identifier_system.strip()[:200], mapping=mapping, content=content,
        )  # fmt: skip
        audit_record(actor=by, action=AuditAction.CREATE, organisation_id=user.organisation_id, obj=job,
                     changes={"import": ["", f"fill file {file_name}"[:200]]})  # fmt: skip
        enqueue(run_fill_import, str(job.pk))
    return job


@shared_task(name="patients.interop.fills.run_fill_import")
def run_fill_import(job_id: str) -> str:
    job = FillImport.objects.select_related("organisation").get(pk=job_id)
    if job.status != ImportStatus.QUEUED:
        return job.status
    FillImport.objects.filter(pk=job.pk).update(status=ImportStatus.READING)
    lines = io.TextIOWrapper(io.BytesIO(bytes(job.content)), encoding="utf-8-sig", newline="")
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+", newline="") as errors:
        try:
            report = fills_import(organisation=job.organisation, lines=lines, mapping=job.mapping,
                                  identifier_system=job.identifier_system, errors_to=errors)  # fmt: skip
        except (ValidationError, UnicodeDecodeError, csv.Error) as error:
            failure = (
                "; ".join(error.messages)
                if isinstance(error, ValidationError)
                else f"The file could not be read ({error})."
            )
            FillImport.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error=failure[:300],
                                                        finished_at=timezone.now(), content=None)  # fmt: skip
            return ImportStatus.FAILED
        except Exception:
            # The batches written so far stay (each is whole; importing the file again skips them).
            FillImport.objects.filter(pk=job.pk).update(
                status=ImportStatus.FAILED, finished_at=timezone.now(),
                error="The import stopped on an unexpected error; the rows written so far are kept. "
                "Import the file again: what is already recorded is skipped.",
            )  # fmt: skip
            raise
        errors.seek(0)
        FillImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.READY, rows_read=report.rows_read, imported=report.imported,
            duplicates=report.duplicates, refused=report.refused, errors_csv=errors.read().encode(),
            content=None, finished_at=timezone.now(),
        )  # fmt: skip
    if report.imported:
        clinical_data_imported.send(sender=FillImport, organisation_id=job.organisation_id)
    return ImportStatus.READY
