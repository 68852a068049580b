"""The written summary in three testable steps (shared/STYLE.md): the review -> a snapshot of plain
data (what is frozen when issued) -> HTML -> PDF.

The snapshot holds everything the document shows, as text, so that an issued version can be shown
again exactly as it was, whatever changes in the record afterwards.
"""

import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from actionplans.models import ActionPlan
from actionplans.texts import TEXTS, language_for, texts
from mtm.fonts import pdf_fonts, pdf_url_fetcher
from patients.models import AllergyStatus, MedicationStatus
from reviews.models import ChangeKind, Review


def _date(value: datetime.date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def summary_snapshot(*, review: Review, plan: ActionPlan, today: datetime.date) -> dict:
    """Everything the cover letter, the Medication Action Plan and the Personal Medication List
    show, as plain JSON-able data. The list agrees with the plan: what the plan tells the patient
    to stop is shown stopped (the record's date and reason) or "Stop as agreed with your doctor",
    and is left out of "About my medicines"."""
    patient = review.patient
    organisation = review.organisation
    language = language_for(patient.preferred_language)
    fixed = TEXTS[language]
    stopped_here = {
        change.medication_id for change in review.medication_changes.all() if change.kind == ChangeKind.STOP
    }
    agreed = set(plan.stop_as_agreed.values_list("pk", flat=True))
    stopped_by_plan = agreed | set(plan.topics.values_list("stops", flat=True)) - {None}
    purposes = {a.medication_id: a.purpose for a in review.assessments.all() if a.purpose}

    def listed(m) -> int | None:  # taken, to stop as agreed, stopped; None: not on this list
        if m.status == MedicationStatus.ACTIVE:
            return 1 if m.pk in agreed else 0
        return 2 if m.pk in stopped_here or m.pk in stopped_by_plan else None

    medications = sorted(
        (m for m in patient.medications.select_related("prescriber") if listed(m) is not None),
        key=lambda m: (listed(m), m.name.lower()),
    )
    education = [
        e
        for e in plan.education.select_related("medication")
        if e.included
        and e.medication.status == MedicationStatus.ACTIVE
        and e.medication_id not in stopped_by_plan
    ]
    pharmacist = review.pharmacist
    service_day = timezone.localdate(review.started_at) if review.started_at else today
    return {
        "language": language,
        "prepared_on": _date(today),
        "service_date": _date(service_day),
        "organisation": {
            "name": organisation.name,
            "address": ", ".join(
                part for part in [organisation.address_line1, organisation.address_line2] if part
            ),
            "city_line": f"{organisation.city}, {organisation.state} {organisation.postal_code}".strip(", "),
            "phone": organisation.phone,
            "tty": organisation.tty,
            "hours": organisation.hours,
            "fax": organisation.fax,
        },
        "pharmacist": pharmacist.get_full_name() or pharmacist.get_username(),
        "patient": {
            "name": patient.full_name,
            "first_name": patient.first_name,
            "date_of_birth": _date(patient.date_of_birth),
            "address": ", ".join(part for part in [patient.address_line1, patient.address_line2] if part),
            "city_line": f"{patient.city}, {patient.state} {patient.postal_code}".strip(", "),
            "representative": patient.representative_name,
            "plan_name": patient.plan_name,
        },
        "topics": [{"talked_about": t.talked_about, "to_do": t.to_do} for t in plan.topics.all()],
        "follow_up": plan.follow_up,
        "questions": plan.questions,
        "allergies": [
            f"{a.substance}{': ' + a.reaction if a.reaction else ''} ({fixed['allergy_kinds'][a.kind]})"
            for a in patient.allergies.filter(status=AllergyStatus.ACTIVE).order_by("substance")
        ]
        or ([fixed["no_known_allergies"]] if patient.no_known_allergies else []),
        "medications": [
            {
                "name": m.display_name,
                "how": m.directions,
                "why": m.indication or purposes.get(m.pk, ""),
                "prescriber": str(m.prescriber) if m.prescriber else "",
                "started": _date(m.start_date),
                **(
                    {"stopped": _date(m.stop_date), "why_stopped": m.stop_reason, "stop_as_agreed": False}
                    if listed(m) == 2
                    else {
                        "stopped": fixed["stop_as_agreed"] if listed(m) == 1 else "",
                        "why_stopped": fixed["see_action_plan"] if listed(m) == 1 else "",
                        "stop_as_agreed": listed(m) == 1,
                    }
                ),
            }
            for m in medications
        ],
        "other_information": plan.other_information,
        "education": [
            {
                "name": e.name,
                "purpose": e.purpose,
                "how_to_take": e.how_to_take,
                "side_effects": e.side_effects,
                "get_help": e.get_help,
                "pregnancy": e.pregnancy,
            }
            for e in education
        ],
        # Kept with the frozen version for the record (the staff editor shows them); never printed.
        "education_sources": list(dict.fromkeys(source for e in education for source in e.sources)),
    }


def _contact(snapshot: dict) -> str:
    """'Riverside Pharmacy, (608) 555-0142 (TTY 711), Monday to Friday, 9 am to 6 pm'"""
    organisation = snapshot["organisation"]
    parts = [organisation["name"]]
    if organisation["phone"]:
        parts.append(organisation["phone"] + (f" (TTY {organisation['tty']})" if organisation["tty"] else ""))
    if organisation["hours"]:
        parts.append(organisation["hours"])
    return ", ".join(parts)


def render_summary_html(
    snapshot: dict,
    *,
    large_print: bool = False,
    fonts: dict[str, str] | None = None,
    print_view: dict | None = None,
) -> str:
    """The summary as HTML: for WeasyPrint, or (with `print_view`: label, pdf_url, back_url, and
    `fonts` the browser can load: mtm.fonts.browser_fonts()) as the page staff print at the counter."""
    language = snapshot["language"]
    t = texts(
        language,
        patient=snapshot["patient"]["name"],
        dob=snapshot["patient"]["date_of_birth"],
        service_date=snapshot["service_date"],
        plan=snapshot["patient"]["plan_name"] or TEXTS[language]["your_plan"],
        contact=_contact(snapshot),
        organisation=snapshot["organisation"]["name"],
    )
    fonts = fonts or pdf_fonts()
    return render_to_string(
        "actionplans/pdf/summary.html",
        {"s": snapshot, "t": t, "large_print": large_print, "fonts": fonts, "print_view": print_view},
    )


def render_summary_pdf(snapshot: dict, *, large_print: bool = False) -> bytes:
    from weasyprint import HTML  # loaded on first use: most requests never render a PDF

    return HTML(
        string=render_summary_html(snapshot, large_print=large_print), url_fetcher=pdf_url_fetcher()
    ).write_pdf()
