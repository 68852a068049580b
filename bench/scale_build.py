"""The organisations bench/scale.py measures: a pharmacy group's data, built in minutes.

`organisation_build(slug=..., patients=N)` makes one organisation with N patients and, in
proportion, what a pharmacy group of that size holds: 9 medication entries per patient (3 to 15),
a completed review for one patient in four (problems, recommendations, answers to the CMR
questions), 1.5 follow-ups per patient (most of them in the past, done or missed; some overdue; some
this week and later), the reminders that go with them, prescriber directory (one prescriber per 20
patients), care teams, conditions, allergies, measurements, fills and an audit trail.

The volume is written with bulk_create, as the services would have written it (versions, the
organisation on every row that has one, the automatic follow-ups' triggers, recommendations to a
prescriber with their answers, completed reviews with completed_at, new_patient and minutes). One
patient, the one whose pages are measured, is made with the project's own services: 15
medications with a year of fills, a completed CMR and an open one with problems and
recommendations to two prescribers (its letters are measured).

Everything is drawn from a seeded random generator: the same N gives the same rows (dates are
relative to the day it is built).
"""

import contextlib
import datetime
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from followups.models import (
    APPOINTMENT_KINDS,
    Channel,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Reminder,
    ReminderStatus,
)
from mtm.audit import Actor
from mtm.models import AuditAction, AuditEvent, Organisation, User
from mtm.permissions import Role
from patients import services as patient_services
from patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    Measurement,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PharmacyFill,
    Prescriber,
)
from patients.services import _recognition
from patients.validators import npi_check_digit_ok
from reviews import services as review_services
from reviews.models import (
    Answer,
    Audience,
    MedicationAssessment,
    Outcome,
    PatientAction,
    Priority,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Recommendation,
    Response,
    Review,
    ReviewKind,
    ReviewMethod,
    ReviewStatus,
)

MEDICATIONS_PER_PATIENT = 9
COMPLETED_REVIEWS_PER_PATIENT = 0.25
FOLLOW_UPS_PER_PATIENT = 1.5
PATIENTS_PER_PRESCRIBER = 20
MEASURED_LAST_NAME = "Measured"  # the patient made with the services, whose pages are measured
BATCH = 5000

DRUGS = [
    "Coumadin 5 mg", "Diflucan 150 mg", "Advil 200 mg", "lisinopril 20 mg", "HCTZ 25 mg", "metformin 1000 mg",
    "glipizide 5 mg", "Zoloft 100 mg", "tramadol 50 mg", "Benadryl 25 mg", "omeprazole 20 mg", "simvastatin 40 mg",
    "amlodipine 10 mg", "oxybutynin 5 mg", "calcium + D", "vitamin D3 2000 units", "fish oil", "Xanax 0.5 mg",
    "oxycodone 5 mg", "Flexeril 10 mg", "levothyroxine 88 mcg", "metoprolol succinate 50 mg", "furosemide 40 mg",
    "potassium chloride 20 mEq", "allopurinol 300 mg", "tamsulosin 0.4 mg", "finasteride 5 mg", "donepezil 10 mg",
    "gabapentin 300 mg", "montelukast 10 mg", "albuterol inhaler", "fluticasone nasal spray", "loratadine 10 mg",
    "famotidine 20 mg", "senna 8.6 mg", "docusate 100 mg", "melatonin 3 mg", "cyanocobalamin 1000 mcg",
    "ferrous sulfate 325 mg", "magnesium oxide 400 mg", "atorvastatin 40 mg", "losartan 50 mg", "apixaban 5 mg",
    "insulin glargine", "sertraline 50 mg", "prednisone 10 mg", "clopidogrel 75 mg", "carvedilol 12.5 mg",
]  # fmt: skip
OTC = {
    "Advil 200 mg",
    "Benadryl 25 mg",
    "loratadine 10 mg",
    "famotidine 20 mg",
    "senna 8.6 mg",
    "docusate 100 mg",
}
SUPPLEMENTS = {"calcium + D", "vitamin D3 2000 units", "fish oil", "melatonin 3 mg", "cyanocobalamin 1000 mcg",
               "ferrous sulfate 325 mg", "magnesium oxide 400 mg"}  # fmt: skip
CONDITIONS = [
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E78.5", "Hyperlipidemia, unspecified"),
    ("I48.91", "Unspecified atrial fibrillation"),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    ("F32.A", "Depression, unspecified"),
    ("N18.3", "Chronic kidney disease, stage 3 (moderate)"),
    ("M10.9", "Gout, unspecified"),
]
ALLERGENS = ["penicillin", "sulfa drugs", "codeine", "latex", "aspirin", "iodinated contrast"]
FIRST = ["Ada", "Ben", "Cora", "Dev", "Elena", "Frank", "Grace", "Hugo", "Iris", "Jon", "Kay", "Luis", "Mae",
         "Ned", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tess", "Uma", "Victor", "Wendy", "Yusuf", "Zoe"]  # fmt: skip
LAST = ["Smith", "Johnson", "Okafor", "Nguyen", "Garcia", "Kowalski", "Brown", "Lee", "Patel", "Moreno",
        "Williams", "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson",
        "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark"]  # fmt: skip
PLANS = ["Humana Gold Plus", "AARP Medicare Advantage", "Aetna Medicare", "WellCare Value Script", ""]


@dataclass
class Built:
    """What bench/scale.py needs of an organisation: who signs in and what is measured."""

    organisation: Organisation
    pharmacist: User
    admin: User  # the audit trail is an admin's page
    patient: Patient  # 15 medications, made with the services
    review: Review  # the patient's open CMR, 15 medications, recommendations to two prescribers
    letter_prescriber: Prescriber


def expected_counts(patients: int) -> dict[str, int]:
    return {
        "patients": patients,
        "medications": patients * MEDICATIONS_PER_PATIENT,
        "completed reviews": int(patients * COMPLETED_REVIEWS_PER_PATIENT),
        "follow-ups": int(patients * FOLLOW_UPS_PER_PATIENT),
    }


def actual_counts(organisation: Organisation) -> dict[str, int]:
    return {
        "patients": Patient.objects.filter(organisation=organisation).count(),
        "medications": MedicationEntry.objects.filter(patient__organisation=organisation).count(),
        "completed reviews": Review.objects.filter(
            organisation=organisation, status=ReviewStatus.COMPLETED
        ).count(),
        "follow-ups": FollowUp.objects.filter(organisation=organisation).count(),
    }


def built(slug: str) -> Built | None:
    """The organisation as built before, or None when there is none."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        return None
    patient = Patient.objects.get(organisation=organisation, last_name=MEASURED_LAST_NAME)
    review = Review.objects.get(patient=patient, status=ReviewStatus.IN_PROGRESS)
    letter_prescriber = Prescriber.objects.get(
        pk=Recommendation.objects.filter(problem__review=review, audience=Audience.PRESCRIBER)
        .order_by("created_at")
        .values("prescriber")[:1]
    )
    admin = User.objects.filter(organisation=organisation, role=Role.ORG_ADMIN).order_by("username").first()
    return Built(organisation, review.pharmacist, admin, patient, review, letter_prescriber)


@contextlib.contextmanager
def explicit_timestamps() -> Iterator[None]:
    """bulk_create with the created_at/at values given, not now(): data spread over past months."""
    fields = [
        field
        for model in (
            Patient, Prescriber, CareTeamMember, MedicationEntry, PharmacyFill, Allergy, Condition, Measurement,
            Review, MedicationAssessment, Problem, Recommendation, FollowUp, Reminder, AuditEvent,
        )
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]  # fmt: skip
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def valid_npi(rng: random.Random) -> str:
    stem = f"1{rng.randrange(10**8):08d}"
    return next(stem + digit for digit in "0123456789" if npi_check_digit_ok(stem + digit))


class Builder:
    def __init__(self, *, slug: str, patients: int, seed: int):
        self.slug, self.n = slug, patients
        self.rng = random.Random(seed)
        self.ids = random.Random(f"{seed}:{slug}")  # the same content in two organisations, other ids
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate()
        self.target = expected_counts(patients)
        self.recognised = {name: _recognition(name) for name in DRUGS}

    # --- helpers ---------------------------------------------------------------------------------

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)

    def ago(self, days_from: float, days_to: float) -> datetime.datetime:
        """A time between days_from and days_to days before now (negative: after now)."""
        seconds = self.rng.uniform(days_to * 86400, days_from * 86400)
        return self.now - datetime.timedelta(seconds=int(seconds))

    def audit(self, record: models.Model, *, at: datetime.datetime, by: User, action=AuditAction.CREATE):
        patient_id = record.pk if isinstance(record, Patient) else getattr(record, "patient_id", None)
        self.audit_rows.append(
            AuditEvent(
                at=at, organisation=self.organisation, actor=by, actor_username=by.username, action=action,
                patient_id=patient_id, object_type=record._meta.label_lower, object_id=str(record.pk),
                object_repr=str(record)[:200] if not isinstance(record, FollowUp) else "follow-up",
                changes={} if action == AuditAction.VIEW else {"created": True}, ip_address="10.0.0.8", via="web",
            )
        )  # fmt: skip

    def save(self, model: type[models.Model], rows: list) -> list:
        model.objects.bulk_create(rows, batch_size=BATCH)
        return rows

    # --- the organisation ------------------------------------------------------------------------

    def build(self) -> Built:
        with transaction.atomic():
            self.organisation = Organisation.objects.create(
                slug=self.slug, name=f"Scale Pharmacy Group ({self.n:,} patients)", time_zone="America/Chicago",
                phone="(608) 555-0100", fax="(608) 555-0101", address_line1="1 Main Street", city="Madison",
                state="WI", postal_code="53703",
            )  # fmt: skip
            self.users()
            self.prescribers()
            measured = self.measured_patient()
            with explicit_timestamps():
                self.audit_rows: list[AuditEvent] = []
                self.patients()
                self.medications()
                self.reviews()
                self.follow_ups()
                self.save(AuditEvent, self.audit_rows)
        return measured

    def users(self) -> None:
        self.pharmacists, self.staff = [], []
        for role, count in ((Role.PHARMACIST, 4), (Role.STAFF, 3), (Role.ORG_ADMIN, 1)):
            for i in range(count):
                user = User.objects.create_user(
                    f"{self.slug}-{role}-{i + 1}", organisation=self.organisation, role=role,
                    first_name=self.rng.choice(FIRST), last_name=self.rng.choice(LAST),
                )  # fmt: skip
                {Role.PHARMACIST: self.pharmacists, Role.STAFF: self.staff}.get(role, []).append(user)
                if role == Role.ORG_ADMIN:
                    self.admin = user
        self.assignable = self.pharmacists + self.staff

    def prescribers(self) -> None:
        npis: set[str] = set()
        while len(npis) < max(3, self.n // PATIENTS_PER_PRESCRIBER):
            npis.add(valid_npi(self.rng))
        self.prescriber_list = self.save(
            Prescriber,
            [
                Prescriber(
                    id=self.uuid(), organisation=self.organisation, first_name=self.rng.choice(FIRST),
                    last_name=self.rng.choice(LAST), credentials=self.rng.choice(["MD", "DO", "NP", "PA-C"]),
                    specialty=self.rng.choice(["Family medicine", "Cardiology", "Endocrinology", "Internal medicine"]),
                    npi=npi, practice_name="Clinic", fax="(608) 555-0199",
                )
                for npi in sorted(npis)
            ],
        )  # fmt: skip

    def measured_patient(self) -> Built:
        """The patient whose pages are measured, made as a pharmacist makes it, through the services."""
        pharmacist = self.pharmacists[0]
        by = Actor(pharmacist, via="cli")
        first, second = self.prescriber_list[:2]
        patient = patient_services.patient_create(
            organisation=self.organisation,
            data={"first_name": "Margaret", "last_name": MEASURED_LAST_NAME, "date_of_birth": datetime.date(1946, 6, 6),
                  "sex": "female", "plan_name": PLANS[0], "member_id": "H1234-001", "no_known_allergies": False},
            by=by,
        )  # fmt: skip
        patient_services.care_team_add(
            patient=patient, prescriber=first, role="primary care", is_primary_care=True, by=by
        )
        patient_services.allergy_add(
            patient=patient, data={"substance": "penicillin", "reaction": "rash"}, by=by
        )
        for code, _ in CONDITIONS[:4]:
            patient_services.condition_add(patient=patient, data={"icd10_code": code}, by=by)
        patient_services.measurement_record(
            patient=patient,
            data={"kind": "weight", "value": Decimal("72"), "measured_on": self.today},
            unit="kg",
            by=by,
        )
        patient_services.measurement_record(
            patient=patient, data={"kind": "serum_creatinine", "value": Decimal("1.1"), "measured_on": self.today},
            unit="mg/dL", by=by,
        )  # fmt: skip
        medications = []
        for i, name in enumerate(DRUGS[:15]):
            entry = patient_services.medication_add(
                patient=patient, data={"name": name, "prescriber": (first, second)[i % 2]}, by=by
            )
            medications.append(entry)
            PharmacyFill.objects.bulk_create(
                PharmacyFill(patient=patient, medication=entry, drug_name=entry.name, quantity=30, days_supply=30,
                             fill_date=self.today - datetime.timedelta(days=30 * month + i % 7))
                for month in range(12)
            )  # fmt: skip
        # A CMR completed last year, then the open one whose workspace is measured.
        for open_review in (False, True):
            review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
            review = review_services.review_start(review=review, version=review.version, by=by)
            for entry in medications:
                review_services.assessment_save(
                    review=review, medication=entry, data={"still_needed": "yes", "working": "yes", "safe": "yes"},
                    version=None, by=by,
                )  # fmt: skip
            for i in range(3):
                problem = review_services.problem_add(
                    review=review, data={"title": f"Problem {i + 1}", "category": ProblemCategory.ADVERSE_REACTION,
                                         "patient_wording": "What we talked about."},
                    medications=medications[i * 3 : i * 3 + 3], by=by,
                )  # fmt: skip
                review_services.recommendation_add(
                    problem=problem,
                    data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "Take with food.",
                          "talked_about": "Stomach upset.", "to_do": "Take it with breakfast."},
                    by=by,
                )  # fmt: skip
                for prescriber in (first, second):
                    review_services.recommendation_add(
                        problem=problem,
                        data={"audience": Audience.PRESCRIBER, "prescriber": prescriber,
                              "text": "Consider a lower dose."},
                        by=by,
                    )  # fmt: skip
            if not open_review:
                review = review_services.review_complete(
                    review=review, version=review.version, minutes_spent=40, by=by, acknowledge_undecided=True
                )
        return Built(self.organisation, pharmacist, self.admin, patient, review, first)

    # --- the volume ------------------------------------------------------------------------------

    def patients(self) -> None:
        rng = self.rng
        rows, care_team, conditions, allergies, measurements = [], [], [], [], []
        for i in range(self.n - 1):  # one is the measured patient
            created = self.ago(1000, 30)
            sms, email = rng.random() < 0.3, rng.random() < 0.2
            patient = Patient(
                id=self.uuid(), organisation=self.organisation, first_name=rng.choice(FIRST),
                last_name=f"{rng.choice(LAST)}{'' if i % 4 else '-' + rng.choice(LAST)}",
                date_of_birth=datetime.date(1925, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 60)),
                sex=rng.choice(["female", "male"]), phone=f"(608) 555-{rng.randrange(10000):04d}",
                mobile_phone=f"(608) 556-{rng.randrange(10000):04d}" if sms else "",
                email=f"patient{i}@mail.example" if email else "", consent_sms_reminders=sms,
                consent_email_reminders=email, plan_name=(plan := rng.choice(PLANS)),
                member_id=f"M{rng.randrange(10**8):08d}" if plan else "", address_line1=f"{rng.randrange(1, 999)} Oak St",
                city="Madison", state="WI", postal_code="53703", no_known_allergies=rng.random() < 0.6,
                created_at=created, updated_at=created,
            )  # fmt: skip
            rows.append(patient)
            self.audit(patient, at=created, by=rng.choice(self.assignable))
            care_team.append(
                CareTeamMember(id=self.uuid(), patient=patient, prescriber=rng.choice(self.prescriber_list),
                               role="primary care", is_primary_care=True, created_at=created, updated_at=created)
            )  # fmt: skip
            for code, description in rng.sample(CONDITIONS, rng.randint(1, 3)):
                conditions.append(
                    Condition(id=self.uuid(), patient=patient, icd10_code=code, description=description,
                              created_at=created, updated_at=created)
                )  # fmt: skip
            if not patient.no_known_allergies:
                allergies.append(
                    Allergy(id=self.uuid(), patient=patient, substance=rng.choice(ALLERGENS), reaction="rash",
                            created_at=created, updated_at=created)
                )  # fmt: skip
            measured_on = (created + datetime.timedelta(days=rng.randrange(30))).date()
            measurements.append(
                Measurement(id=self.uuid(), patient=patient, kind="weight", value=rng.randrange(45, 130),
                            measured_on=min(measured_on, self.today), created_at=created, updated_at=created)
            )  # fmt: skip
            for _ in range(rng.randint(0, 3)):  # opened and read since
                self.audit(
                    patient, at=self.ago(700, 0), by=rng.choice(self.assignable), action=AuditAction.VIEW
                )
        self.patient_list = self.save(Patient, rows)
        self.save(CareTeamMember, care_team)
        self.save(Condition, conditions)
        self.save(Allergy, allergies)
        self.save(Measurement, measurements)

    def medications(self) -> None:
        """3 to 15 per patient, 9 on average: a tenth stopped; prescriptions filled monthly (the
        last two fills)."""
        rng = self.rng
        wanted = (
            self.target["medications"]
            - MedicationEntry.objects.filter(patient__organisation=self.organisation).count()
        )
        counts = [rng.randint(3, 15) for _ in self.patient_list]
        while (difference := wanted - sum(counts)) != 0:
            i = rng.randrange(len(counts))
            step = 1 if difference > 0 else -1
            if 3 <= counts[i] + step <= 15:
                counts[i] += step
        entries, fills = [], []
        self.medications_of: dict[uuid.UUID, list[MedicationEntry]] = {}
        for patient, count in zip(self.patient_list, counts, strict=True):
            mine = []
            for name in rng.sample(DRUGS, count):
                created = patient.created_at + datetime.timedelta(days=rng.randrange(25))
                stopped = rng.random() < 0.1
                source = "otc" if name in OTC else "supplement" if name in SUPPLEMENTS else "prescription"
                entry = MedicationEntry(
                    id=self.uuid(), patient=patient, name=name, strength_dose="", directions="once daily",
                    indication="", source=source, prescriber=rng.choice(self.prescriber_list) if source == "prescription" else None,
                    start_date=created.date() - datetime.timedelta(days=rng.randrange(1000)),
                    status=MedicationStatus.STOPPED if stopped else MedicationStatus.ACTIVE,
                    stop_date=self.today - datetime.timedelta(days=rng.randrange(1, 20)) if stopped else None,
                    stop_reason="No longer needed" if stopped else "", created_at=created, updated_at=created,
                    **self.recognised[name],
                )  # fmt: skip
                mine.append(entry)
                self.audit(entry, at=created, by=rng.choice(self.assignable))
                if source == "prescription" and not stopped:
                    last = self.today - datetime.timedelta(days=rng.randrange(0, 40))
                    for month in range(2):
                        fills.append(
                            PharmacyFill(id=self.uuid(), patient=patient, medication=entry, drug_name=name,
                                         fill_date=last - datetime.timedelta(days=30 * month), days_supply=30,
                                         quantity=30, rx_number=f"RX{rng.randrange(10**7):07d}", created_at=created,
                                         updated_at=created)
                        )  # fmt: skip
            entries.extend(mine)
            self.medications_of[patient.pk] = mine
        self.save(MedicationEntry, entries)
        self.save(PharmacyFill, fills)

    def reviews(self) -> None:
        """A completed review for one patient in four over the last 18 months, with its problems,
        recommendations and answers; an open review for 3% more."""
        rng = self.rng
        done = (
            self.target["completed reviews"]
            - Review.objects.filter(organisation=self.organisation, status=ReviewStatus.COMPLETED).count()
        )
        chosen = rng.sample(self.patient_list, done + self.n * 3 // 100)
        reviews, assessments, problems, links, recommendations = [], [], [], [], []
        self.completed: list[Review] = []
        for i, patient in enumerate(chosen):
            completed = i < done
            pharmacist = rng.choice(self.pharmacists)
            kind = ReviewKind.CMR if rng.random() < 0.8 else ReviewKind.TMR
            if completed:
                finished = self.ago(540, 1)
                started = finished - datetime.timedelta(minutes=rng.randint(20, 60))
                created = started - datetime.timedelta(days=rng.randint(0, 14))
                status, minutes = ReviewStatus.COMPLETED, rng.choice([15, 20, 30, 40, 45, 60])
            else:
                created = self.ago(20, 0)
                started = created + datetime.timedelta(minutes=5) if rng.random() < 0.6 else None
                finished, minutes = None, None
                status = ReviewStatus.IN_PROGRESS if started else ReviewStatus.PLANNED
            review = Review(
                id=self.uuid(), organisation=self.organisation, patient=patient, kind=kind, pharmacist=pharmacist,
                method=rng.choice([ReviewMethod.IN_PERSON, ReviewMethod.PHONE]), status=status, consent_noted=True,
                scheduled_for=None if started else self.now + datetime.timedelta(days=rng.randint(1, 20)),
                started_at=started, completed_at=finished, minutes_spent=minutes,
                new_patient=rng.random() < 0.7 if completed else None,
                summary_delivered_on=(finished + datetime.timedelta(days=rng.randint(1, 12))).date()
                if completed and kind == ReviewKind.CMR and finished < self.now - datetime.timedelta(days=14) and rng.random() < 0.9
                else None,
                version=5 if completed else 2, created_at=created, updated_at=finished or started or created,
            )  # fmt: skip
            if review.summary_delivered_on and review.summary_delivered_on > self.today:
                review.summary_delivered_on = self.today
            reviews.append(review)
            self.audit(review, at=created, by=pharmacist)
            if not completed:
                continue
            self.completed.append(review)
            medications = [m for m in self.medications_of[patient.pk] if m.status == MedicationStatus.ACTIVE]
            for medication in medications:
                assessments.append(
                    MedicationAssessment(id=self.uuid(), review=review, medication=medication,
                                         still_needed=Answer.YES, working=rng.choice([Answer.YES, Answer.UNSURE]),
                                         safe=Answer.YES, taken_as_intended=rng.choice([Answer.YES, Answer.NO]),
                                         understands=Answer.YES, created_at=started, updated_at=started)
                )  # fmt: skip
            for _ in range(rng.randint(1, 3)):
                category = rng.choice([c for c in ProblemCategory if c != ProblemCategory.NONADHERENCE])
                status = rng.choice([ProblemStatus.OPEN, ProblemStatus.RESOLVED, ProblemStatus.UNRESOLVED])
                problem = Problem(
                    id=self.uuid(), review=review, patient=patient, title=f"{category.label.split(': ')[1]}",
                    category=category, priority=rng.choice(list(Priority)), details="Discussed with the patient.",
                    patient_wording="What we talked about.", status=status,
                    outcome=Outcome.SOLVED if status == ProblemStatus.RESOLVED else Outcome.UNKNOWN,
                    created_at=started, updated_at=started,
                )  # fmt: skip
                problems.append(problem)
                if medications:
                    links.append(
                        Problem.medications.through(
                            problem_id=problem.pk, medicationentry_id=rng.choice(medications).pk
                        )
                    )
                action = rng.choice(list(PatientAction))
                recommendations.append(
                    Recommendation(id=self.uuid(), problem=problem, patient=patient, audience=Audience.PATIENT,
                                   action=action, text="Discussed.", talked_about="What we talked about.",
                                   to_do="What to do.", created_at=started, updated_at=started)
                )  # fmt: skip
                if rng.random() < 0.5:
                    sent = finished.date() + datetime.timedelta(days=1)
                    response = rng.choices(
                        [Response.ACCEPTED, Response.MODIFIED, Response.DECLINED, Response.NO_RESPONSE, Response.PENDING],
                        [50, 10, 10, 10, 20],
                    )[0]  # fmt: skip
                    answered = response != Response.PENDING
                    recommendations.append(
                        Recommendation(
                            id=self.uuid(), problem=problem, patient=patient, audience=Audience.PRESCRIBER,
                            prescriber=rng.choice(self.prescriber_list), text="Consider a change.",
                            sent_on=min(sent, self.today), response=response,
                            response_on=min(sent + datetime.timedelta(days=7), self.today) if answered else None,
                            response_note="See note." if response in (Response.MODIFIED, Response.DECLINED) else "",
                            created_at=started, updated_at=started, version=3 if answered else 2,
                        )
                    )  # fmt: skip
        self.save(Review, reviews)
        self.save(MedicationAssessment, assessments)
        self.save(Problem, problems)
        Problem.medications.through.objects.bulk_create(links, batch_size=BATCH)
        self.save(Recommendation, recommendations)

    def follow_ups(self) -> None:
        """The automatic ones each completed review books (the next targeted review in 90 days,
        the CMR summary delivery in 14), then phone calls and checks booked by hand: over the
        past year (done or missed, a few overdue) and the next three months."""
        rng = self.rng
        wanted = self.target["follow-ups"] - FollowUp.objects.filter(organisation=self.organisation).count()
        rows = []

        def follow_up(patient, kind, due, *, review=None, trigger="", assigned_to=None, duration=15):
            if due < self.now:
                status = rng.choices(
                    [FollowUpStatus.DONE, FollowUpStatus.MISSED, FollowUpStatus.CANCELLED, FollowUpStatus.SCHEDULED],
                    [84, 11, 4, 1] if due < self.now - datetime.timedelta(days=30) else [80, 10, 2, 8],
                )[0]  # fmt: skip
            else:
                status = FollowUpStatus.SCHEDULED
            closed = (
                None
                if status == FollowUpStatus.SCHEDULED
                else min(due + datetime.timedelta(hours=2), self.now)
            )
            created = due - datetime.timedelta(days=rng.randint(1, 90))
            rows.append(
                FollowUp(id=self.uuid(), organisation=self.organisation, patient=patient, kind=kind, due_at=due,
                         duration_minutes=duration, assigned_to=assigned_to or rng.choice([*self.assignable, None]),
                         status=status, review=review, closed_at=closed, trigger=trigger,
                         notes="" if trigger else "Check how the new dose is going.",
                         version=1 if status == FollowUpStatus.SCHEDULED else 2, created_at=created,
                         updated_at=closed or created)
            )  # fmt: skip

        def at_nine(moment: datetime.datetime) -> datetime.datetime:
            return moment.replace(hour=15, minute=rng.choice([0, 15, 30, 45]), second=0)  # 9 am in Chicago

        for review in self.completed:
            if len(rows) >= wanted:
                break
            follow_up(review.patient, FollowUpKind.TARGETED_REVIEW, at_nine(review.completed_at + datetime.timedelta(days=90)),
                      review=review, trigger=f"review:{review.pk}:targeted-review", assigned_to=review.pharmacist, duration=20)  # fmt: skip
            if review.kind == ReviewKind.CMR and len(rows) < wanted:
                follow_up(review.patient, FollowUpKind.SUMMARY_DELIVERY, at_nine(review.completed_at + datetime.timedelta(days=14)),
                          review=review, trigger=f"review:{review.pk}:summary-delivery", assigned_to=review.pharmacist, duration=10)  # fmt: skip
        manual = [
            FollowUpKind.PHONE_CHECK_IN,
            FollowUpKind.LAB_CHECK,
            FollowUpKind.RESPONSE_CHECK,
            FollowUpKind.ANNUAL_CMR,
        ]
        while len(rows) < wanted:
            due = at_nine(self.ago(365, -90) if rng.random() < 0.97 else self.ago(7, -7))
            follow_up(rng.choice(self.patient_list), rng.choices(manual, [60, 20, 10, 10])[0], due)
        self.save(FollowUp, rows)
        reminders = []
        for row in rows:
            self.audit(row, at=row.created_at, by=rng.choice(self.assignable))
            patient = row.patient
            if row.kind not in APPOINTMENT_KINDS or not (
                patient.consent_sms_reminders or patient.consent_email_reminders
            ):
                continue
            if row.status == FollowUpStatus.CANCELLED:
                continue
            send_at = row.due_at - datetime.timedelta(days=1)
            stamp = f"{row.due_at.astimezone(datetime.UTC):%Y%m%dT%H%MZ}"
            channels = [Channel.SMS] * patient.consent_sms_reminders + [
                Channel.EMAIL
            ] * patient.consent_email_reminders
            for channel in channels:
                sent = send_at < self.now
                reminders.append(
                    Reminder(id=self.uuid(), organisation=self.organisation, follow_up=row, channel=channel,
                             send_at=send_at, next_attempt_at=send_at,
                             status=ReminderStatus.SENT if sent else ReminderStatus.PENDING, attempts=int(sent),
                             started_at=send_at if sent else None, sent_at=send_at if sent else None,
                             key=f"follow-up:{row.pk}:{stamp}:1d:{channel}", created_at=row.created_at)
                )  # fmt: skip
        self.save(Reminder, reminders)


def organisation_build(*, slug: str, patients: int, seed: int = 14) -> Built:
    return Builder(slug=slug, patients=patients, seed=seed).build()
