"""The beneficiary-level MTM report of one contract and year (CMS Part D Reporting Requirements,
Section II): one line per member enrolled in the program, with the fields of shared/INTEROP.md §2.

Codes are data (reviews/rules/mtm_report.yaml). The file is reproducible: the same records give
the same bytes (members in a fixed order, dates as YYYY-MM-DD, nothing that depends on when it is
made). Members are read CHUNK at a time with a fixed number of queries per chunk, so memory and
queries do not grow with the program.

What a member's line says:
- CMRs, TMRs and their recommendations are the completed reviews of the contract year (by their
  completion date on the organisation's calendar); LTC, cognitive impairment, method, provider and
  recipient are those of the first CMR of the year.
- Recommendations to prescribers are counted when the review that made them was completed in the
  year; "resulted in a change" is an answer of accepted or accepted with modification.
"""

import csv
import datetime
import io
import itertools
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.urls import reverse

from reviews.models import (
    Audience,
    CmrOffer,
    Enrollment,
    MtmProgram,
    Recommendation,
    Response,
    Review,
    ReviewKind,
    ReviewStatus,
)

RULES_FILE = Path(__file__).parent / "rules" / "mtm_report.yaml"
CHUNK = 1000


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    values: str = ""
    required: bool = True  # a member's line without it is listed as missing a field


COLUMNS = [
    Column("contract_number", "The plan's contract number", "H, S, R or E and 4 digits"),
    Column("member_id", "The member's plan ID (MBI)", "as the plan gives it"),
    Column("first_name", "First name"),
    Column("middle_initial", "Middle initial", "not recorded by MTM: always empty", required=False),
    Column("last_name", "Last name"),
    Column("date_of_birth", "Date of birth", "YYYY-MM-DD"),
    Column("targeting_reason", "Why the member was targeted",
           "01 criteria met; 02 drug management program; 03 both; 04 other"),
    Column("date_met_criteria", "Date the member met the targeting criteria", "YYYY-MM-DD"),
    Column("date_enrolled", "Date enrolled in the MTM program", "YYYY-MM-DD"),
    Column("date_opted_out", "Date the member opted out", "YYYY-MM-DD; empty if still enrolled", required=False),
    Column("opt_out_reason", "Why the member opted out", "01 death; 02 left the plan; 03 member's request; 99 other",
           required=False),
    Column("offered_cmr", "Offered an annual CMR", "Y / N"),
    Column("date_cmr_offered", "Date of the first CMR offer", "YYYY-MM-DD; empty if not offered", required=False),
    Column("cmr_offer_recipient", "Who received the first offer", "01 member; 02 prescriber; 03 caregiver; "
           "04 other authorised person", required=False),
    Column("received_cmr", "Received an annual CMR", "Y / N"),
    Column("number_of_cmrs", "CMRs completed in the year", "0 or more"),
    Column("cmr_dates", "Dates of the CMRs", "YYYY-MM-DD, several separated by ;", required=False),
    Column("ltc_at_cmr", "In long-term care at the time of the (first) CMR", "Y / N / U; empty without a CMR"),
    Column("cognitive_impairment_at_cmr", "Cognitively impaired at the time of the (first) CMR",
           "Y / N / U; empty without a CMR"),
    Column("cmr_method", "How the (first) CMR was given", "01 face to face; 02 telephone; 03 telehealth/video; 99 other"),
    Column("cmr_provider", "Qualified provider who performed the (first) CMR", "codes in reviews/rules/mtm_report.yaml"),
    Column("cmr_recipient", "Who received the (first) CMR", "01 member; 02 prescriber; 03 caregiver; "
           "04 other authorised person"),
    Column("date_summary_sent", "Date the written summary of the (first) CMR was given or sent", "YYYY-MM-DD"),
    Column("number_of_tmrs", "TMRs completed in the year", "0 or more"),
    Column("date_first_tmr", "Date of the first TMR", "YYYY-MM-DD; empty without a TMR", required=False),
    Column("prescriber_recommendations", "Drug therapy problem recommendations made to prescribers", "0 or more"),
    Column("recommendations_changed", "Of those, how many resulted in a change to drug therapy", "0 or more"),
]  # fmt: skip
CMR_COLUMNS = {
    "ltc_at_cmr", "cognitive_impairment_at_cmr", "cmr_method", "cmr_provider", "cmr_recipient", "date_summary_sent",
}  # fmt: skip


@cache
def codes() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())["codes"]


@dataclass(frozen=True)
class Missing:
    patient_id: object
    member: str  # "Last, First (born MM/DD/YYYY)"
    column: str
    label: str
    fix_at: str  # the page where it is recorded


def report_lines(program: MtmProgram) -> Iterator[tuple[dict, list[Missing]]]:
    """Each enrolled member's line (column -> text) with the required fields it lacks."""
    enrollments = (
        Enrollment.objects.filter(program=program)
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient__date_of_birth", "patient_id")
    )
    zone = zoneinfo.ZoneInfo(program.organisation.time_zone)
    for position in itertools.count(0, CHUNK):
        chunk = list(enrollments[position : position + CHUNK])
        if not chunk:
            return
        yield from _chunk_lines(program, chunk, zone)


def _chunk_lines(program: MtmProgram, chunk: list[Enrollment], zone) -> Iterator[tuple[dict, list[Missing]]]:
    patient_ids = [e.patient_id for e in chunk]
    first_offer = {}
    for offer in CmrOffer.objects.filter(enrollment__in=chunk).order_by("offered_on", "created_at"):
        first_offer.setdefault(offer.enrollment_id, offer)
    cmrs, tmrs = defaultdict(list), defaultdict(list)
    completed = Review.objects.filter(
        patient_id__in=patient_ids, status=ReviewStatus.COMPLETED, kind__in=[ReviewKind.CMR, ReviewKind.TMR]
    ).order_by("completed_at", "pk")
    in_year = set()
    for review in completed:
        day = review.completed_at.astimezone(zone).date()
        if day.year != program.year:
            continue
        review.completed_on = day
        in_year.add(review.pk)
        (cmrs if review.kind == ReviewKind.CMR else tmrs)[review.patient_id].append(review)
    made, changed = defaultdict(int), defaultdict(int)
    for patient_id, response in Recommendation.objects.filter(
        audience=Audience.PRESCRIBER, problem__review_id__in=in_year
    ).values_list("patient_id", "response"):
        made[patient_id] += 1
        changed[patient_id] += response in (Response.ACCEPTED, Response.MODIFIED)
    for enrollment in chunk:
        yield _line(program, enrollment, first_offer.get(enrollment.pk), cmrs[enrollment.patient_id],
                    tmrs[enrollment.patient_id], made[enrollment.patient_id], changed[enrollment.patient_id])  # fmt: skip


def _date(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""


def _line(program, enrollment, offer, cmrs, tmrs, made, changed) -> tuple[dict, list[Missing]]:
    patient = enrollment.patient
    code = codes()
    first = cmrs[0] if cmrs else None
    line = {
        "contract_number": program.contract_number,
        "member_id": patient.member_id,
        "first_name": patient.first_name,
        "middle_initial": "",
        "last_name": patient.last_name,
        "date_of_birth": _date(patient.date_of_birth),
        "targeting_reason": code["targeting_reason"][enrollment.targeting_reason],
        "date_met_criteria": _date(enrollment.met_on),
        "date_enrolled": _date(enrollment.enrolled_on),
        "date_opted_out": _date(enrollment.opted_out_on),
        "opt_out_reason": code["opt_out_reason"].get(enrollment.opt_out_reason, ""),
        "offered_cmr": "Y" if offer else "N",
        "date_cmr_offered": _date(offer.offered_on) if offer else "",
        "cmr_offer_recipient": code["offer_recipient"].get(offer.recipient, "") if offer else "",
        "received_cmr": "Y" if cmrs else "N",
        "number_of_cmrs": str(len(cmrs)),
        "cmr_dates": ";".join(_date(r.completed_on) for r in cmrs),
        "ltc_at_cmr": first.long_term_care if first else "",
        "cognitive_impairment_at_cmr": first.cognitive_impairment if first else "",
        "cmr_method": code["cmr_method"].get(first.method, "99") if first else "",
        "cmr_provider": code["cmr_provider"].get(first.provider_type, "") if first else "",
        "cmr_recipient": code["cmr_recipient"].get(first.recipient, "") if first else "",
        "date_summary_sent": _date(first.summary_delivered_on) if first else "",
        "number_of_tmrs": str(len(tmrs)),
        "date_first_tmr": _date(tmrs[0].completed_on) if tmrs else "",
        "prescriber_recommendations": str(made),
        "recommendations_changed": str(changed),
    }
    member = f"{patient.last_name}, {patient.first_name} (born {patient.date_of_birth:%m/%d/%Y})"
    missing = []
    for column in COLUMNS:
        if not column.required or line[column.name]:
            continue
        if column.name in CMR_COLUMNS:
            if first is None:
                continue  # no CMR: nothing to say about one
            fix_at = reverse("review_workspace", args=[first.pk])
        else:
            fix_at = reverse("patient_detail", args=[patient.pk])
        missing.append(Missing(patient.pk, member, column.name, column.description, fix_at))
    return line, missing


def report_csv(program: MtmProgram, out) -> list[Missing]:
    """Write the report as CSV to `out` (a text stream); return what members' lines lack."""
    missing = []
    for text in report_csv_parts(program, missing):
        out.write(text)
    return missing


def report_csv_parts(program: MtmProgram, missing: list | None = None) -> Iterator[str]:
    """The report's CSV a line at a time (for a streamed download); what lines lack goes to `missing`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([c.name for c in COLUMNS])
    yield take()
    for line, lacking in report_lines(program):
        writer.writerow([line[c.name] for c in COLUMNS])
        if missing is not None:
            missing += lacking
        yield take()


def report_filename(program: MtmProgram) -> str:
    return f"mtm-report-{program.contract_number}-{program.year}.csv"


def report_missing(program: MtmProgram) -> list[Missing]:
    return [m for _, lacking in report_lines(program) for m in lacking]


def data_dictionary_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["column", "description", "values"])
    for column in COLUMNS:
        writer.writerow([column.name, column.description, column.values])
    return out.getvalue()
