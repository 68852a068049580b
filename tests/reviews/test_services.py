import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mtm.audit import Actor
from mtm.errors import EditConflict
from mtm.models import AuditEvent
from patients import services as patient_services
from patients.models import MedicationStatus
from reviews import selectors, services
from reviews.models import (
    Audience,
    MedicationChange,
    PatientAction,
    Problem,
    ProblemCategory,
    Response,
    ReviewKind,
    ReviewStatus,
)
from tests import factories

TODAY = datetime.date(2026, 11, 20)


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def review(patient, by):
    return services.review_create(patient=patient, data={"consent_noted": True}, by=by)


@pytest.fixture
def started(review, by):
    return services.review_start(review=review, version=review.version, by=by)


def medication(patient, name, by):
    return patient_services.medication_add(patient=patient, data={"name": name}, by=by)


def a_problem(review, by, **fields):
    data = {
        "title": "Takes ibuprofen daily with lisinopril",
        "category": ProblemCategory.ADVERSE_REACTION,
        **fields,
    }
    return services.problem_add(review=review, data=data, medications=[], by=by)


def patient_recommendation(problem, by):
    return services.recommendation_add(
        problem=problem,
        data={
            "audience": Audience.PATIENT,
            "action": PatientAction.REPLACE_DRUG,
            "text": "Use acetaminophen instead of ibuprofen",
            "to_do": "Take Tylenol 500 mg for pain instead of Advil.",
        },
        by=by,
    )


def prescriber_recommendation(problem, prescriber, by):
    return services.recommendation_add(
        problem=problem,
        data={
            "audience": Audience.PRESCRIBER,
            "text": "Consider stopping glipizide",
            "prescriber": prescriber,
        },
        prescriber_confirmed=True,  # these tests' prescribers are on no care team
        by=by,
    )


# --- Starting and completing ------------------------------------------------------------------------


def test_a_cmr_starts_only_with_the_patients_agreement(patient, by):
    review = services.review_create(patient=patient, data={}, by=by)
    with pytest.raises(ValidationError) as error:
        services.review_start(review=review, version=review.version, by=by)
    assert "consent_noted" in error.value.message_dict
    other = factories.make_patient(patient.organisation, first_name="Tess", last_name="Targeted")
    tmr = services.review_create(patient=other, data={"kind": ReviewKind.TMR}, by=by)
    assert services.review_start(review=tmr, version=tmr.version, by=by).status == ReviewStatus.IN_PROGRESS


def test_one_open_review_per_patient(review, patient, by):
    with pytest.raises(ValidationError, match="already has an open CMR"):
        services.review_create(patient=patient, data={"kind": ReviewKind.TMR}, by=by)


def test_a_video_review_needs_its_link(patient, by):
    with pytest.raises(ValidationError) as error:
        services.review_create(patient=patient, data={"method": "video"}, by=by)
    assert "video_link" in error.value.message_dict


def test_completing_needs_a_recommendation_or_a_reason_for_each_problem(started, by):
    first = a_problem(started, by)
    second = a_problem(started, by, title="Forgets evening doses", category=ProblemCategory.NONADHERENCE,
                       nonadherence_cause="forgets")  # fmt: skip
    patient_recommendation(first, by)
    with pytest.raises(ValidationError) as error:
        services.review_complete(review=started, version=started.version, minutes_spent=25, by=by)
    assert "Forgets evening doses" in str(error.value.message_dict["problems"])
    started.refresh_from_db()
    assert started.status == ReviewStatus.IN_PROGRESS  # nothing half-done
    services.problem_update(
        problem=second,
        data={"no_recommendation_reason": "Pill organiser given"},
        version=second.version,
        by=by,
    )
    done = services.review_complete(review=started, version=started.version, minutes_spent=25, by=by)
    assert done.status == ReviewStatus.COMPLETED and done.completed_at and done.minutes_spent == 25


def test_completing_with_a_major_finding_undecided_needs_an_acknowledgement_and_keeps_it(
    started, patient, by
):
    for name in ("warfarin 5 mg", "ibuprofen 400 mg"):
        patient_services.medication_add(patient=patient, data={"name": name}, by=by)
    with pytest.raises(ValidationError) as error:
        services.review_complete(review=started, version=started.version, minutes_spent=20, by=by)
    message = str(error.value.message_dict["acknowledge_undecided"])
    assert "1 major or contraindicated finding is still undecided: Warfarin with an NSAID" in message
    started.refresh_from_db()
    assert started.status == ReviewStatus.IN_PROGRESS
    done = services.review_complete(
        review=started, version=started.version, minutes_spent=20, acknowledge_undecided=True, by=by
    )
    assert [f["title"] for f in done.undecided_findings] == ["Warfarin with an NSAID"]
    assert sorted(done.undecided_findings[0]["drugs"]) == ["ibuprofen", "warfarin"]


def test_a_decided_finding_needs_no_acknowledgement(started, patient, by):
    for name in ("warfarin 5 mg", "ibuprofen 400 mg"):
        patient_services.medication_add(patient=patient, data={"name": name}, by=by)
    finding = selectors.review_findings(started, today=timezone.localdate())[0]
    services.finding_dismiss(review=started, finding=finding, reason="Already monitored", by=by)
    done = services.review_complete(review=started, version=started.version, minutes_spent=20, by=by)
    assert done.undecided_findings == []


def test_completing_needs_the_minutes_and_a_started_review(review, by):
    with pytest.raises(ValidationError) as error:
        services.review_complete(review=review, version=review.version, minutes_spent=None, by=by)
    assert {"status", "minutes_spent"} <= set(error.value.message_dict)


def test_a_completed_review_is_locked_and_takes_addenda(started, by):
    problem = a_problem(started, by)
    patient_recommendation(problem, by)
    done = services.review_complete(review=started, version=started.version, minutes_spent=20, by=by)
    with pytest.raises(ValidationError, match="locked"):
        services.review_update(review=done, data={"notes": "late edit"}, version=done.version, by=by)
    with pytest.raises(ValidationError, match="locked"):
        a_problem(done, by)
    with pytest.raises(ValidationError, match="locked"):
        problem.refresh_from_db()
        services.problem_update(problem=problem, data={"title": "changed"}, version=problem.version, by=by)
    # the follow-up of a problem stays open
    problem = services.problem_update(
        problem=problem, data={"status": "resolved", "outcome": "solved"}, version=problem.version, by=by
    )
    assert problem.outcome == "solved"
    addendum = services.addendum_add(review=done, text="Patient called: stopped Advil on 11/22.", by=by)
    assert list(done.addenda.all()) == [addendum]


def test_an_addendum_is_only_for_a_completed_review(started, by):
    with pytest.raises(ValidationError):
        services.addendum_add(review=started, text="note", by=by)


def test_the_second_of_two_saves_from_the_same_version_is_refused(started, by, staff):
    stale_version = started.version
    services.review_update(review=started, data={"notes": "first"}, version=stale_version, by=by)
    with pytest.raises(EditConflict):
        services.review_update(
            review=started, data={"notes": "second"}, version=stale_version, by=Actor(staff)
        )
    started.refresh_from_db()
    assert started.notes == "first"


def test_new_patient_for_billing_is_decided_at_completion(patient, by):
    reviews = []
    for _ in range(2):
        review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
        review = services.review_start(review=review, version=review.version, by=by)
        reviews.append(
            services.review_complete(review=review, version=review.version, minutes_spent=20, by=by)
        )
    assert [r.new_patient for r in reviews] == [True, False]


@pytest.mark.parametrize(
    ("minutes", "new_patient", "units"),
    [
        (14, True, [("99605", 1)]),
        (15, True, [("99605", 1)]),
        (16, True, [("99605", 1), ("99607", 1)]),
        (30, False, [("99606", 1), ("99607", 1)]),
        (31, False, [("99606", 1), ("99607", 2)]),
    ],
)
def test_cpt_units_from_minutes(minutes, new_patient, units):
    assert services.cpt_units(minutes=minutes, new_patient=new_patient) == units


# --- Findings and problems --------------------------------------------------------------------------


def test_confirming_a_finding_makes_a_problem_with_its_medications(started, patient, by):
    warfarin = medication(patient, "Coumadin 5 mg", by)
    medication(patient, "Diflucan 150 mg", by)
    medication(patient, "lisinopril 10 mg", by)
    finding = next(f for f in selectors.review_findings(started, today=TODAY) if f["kind"] == "interaction")
    problem = services.finding_confirm(review=started, finding=finding, data={}, by=by)
    assert problem.title == finding["title"] and problem.category == ProblemCategory.ADVERSE_REACTION
    assert problem.priority == "high"  # a major finding
    assert {m.name for m in problem.medications.all()} == {"Coumadin 5 mg", "Diflucan 150 mg"}
    assert warfarin in problem.medications.all()
    with pytest.raises(ValidationError):
        services.finding_confirm(review=started, finding=finding, data={}, by=by)


def test_a_dismissal_needs_a_reason_and_is_shown_in_the_next_review(started, patient, by):
    medication(patient, "Coumadin 5 mg", by)
    medication(patient, "Diflucan 150 mg", by)
    finding = selectors.review_findings(started, today=TODAY)[0]
    with pytest.raises(ValidationError) as error:
        services.finding_dismiss(review=started, finding=finding, reason=" ", by=by)
    assert "reason" in error.value.message_dict
    services.finding_dismiss(review=started, finding=finding, reason="Single 150 mg dose; INR checked", by=by)
    problem = a_problem(started, by)
    patient_recommendation(problem, by)
    services.review_complete(review=started, version=started.version, minutes_spent=20, by=by)
    later = services.review_create(patient=patient, data={"kind": ReviewKind.TMR}, by=by)
    shown = selectors.earlier_dismissals(later)
    assert shown[finding["id"]].reason == "Single 150 mg dose; INR checked"


def test_a_finding_id_from_the_browser_must_be_on_the_current_screening(started):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.review_finding(started, "interaction:made-up:rule", today=TODAY)


def test_nonadherence_needs_its_cause(started, by):
    with pytest.raises(ValidationError) as error:
        a_problem(started, by, title="Skips doses", category=ProblemCategory.NONADHERENCE)
    assert "nonadherence_cause" in error.value.message_dict
    assert not Problem.objects.exists()


def test_a_problem_about_another_patients_medication_is_refused(started, by, org):
    stranger = factories.make_patient(org, first_name="Someone", last_name="Else")
    other_entry = factories.make_medication(stranger)
    with pytest.raises(ValidationError):
        services.problem_add(
            review=started,
            data={"title": "x", "category": ProblemCategory.UNNECESSARY},
            medications=[other_entry],
            by=by,
        )


# --- Recommendations and answers ----------------------------------------------------------------------


def test_a_prescriber_recommendation_waits_for_an_answer_then_leaves_the_queue(started, org, by, staff):
    prescriber = factories.make_prescriber(org)
    recommendation = prescriber_recommendation(a_problem(started, by), prescriber, by)
    assert recommendation.response == Response.PENDING
    sent = TODAY - datetime.timedelta(days=org.prescriber_response_days + 1)
    services.recommendations_sent(recommendations=[recommendation], on=sent, by=by)
    assert list(selectors.awaiting_answer(user=staff, today=TODAY)) == [recommendation]
    assert list(selectors.awaiting_answer(user=staff, today=sent + datetime.timedelta(days=2))) == []
    with pytest.raises(ValidationError) as error:
        services.prescriber_response_record(
            recommendation=recommendation, response=Response.DECLINED, on=TODAY, note="",
            version=recommendation.version, by=Actor(staff),
        )  # fmt: skip
    assert "response_note" in error.value.message_dict
    services.prescriber_response_record(
        recommendation=recommendation, response=Response.DECLINED, on=TODAY, note="Patient's A1C still 9%",
        version=recommendation.version, by=Actor(staff),
    )  # fmt: skip
    assert list(selectors.awaiting_answer(user=staff, today=TODAY)) == []


def test_answers_are_recorded_after_the_review_is_completed(started, org, by, staff):
    recommendation = prescriber_recommendation(a_problem(started, by), factories.make_prescriber(org), by)
    services.review_complete(review=started, version=started.version, minutes_spent=30, by=by)
    answered = services.prescriber_response_record(
        recommendation=recommendation, response=Response.ACCEPTED, on=TODAY, note="",
        version=recommendation.version, by=Actor(staff),
    )  # fmt: skip
    assert answered.response == Response.ACCEPTED and answered.sent_on == TODAY


def test_the_queue_is_scoped_to_the_organisation(started, org, by, other_pharmacist):
    recommendation = prescriber_recommendation(a_problem(started, by), factories.make_prescriber(org), by)
    services.recommendations_sent(
        recommendations=[recommendation], on=TODAY - datetime.timedelta(days=60), by=by
    )
    assert list(selectors.awaiting_answer(user=other_pharmacist, today=TODAY)) == []


def test_a_patient_recommendation_needs_its_kind_of_action(started, by):
    with pytest.raises(ValidationError) as error:
        services.recommendation_add(
            problem=a_problem(started, by), data={"audience": Audience.PATIENT, "text": "x"}, by=by
        )
    assert "action" in error.value.message_dict


# --- The medication list during the review -----------------------------------------------------------


def test_list_changes_during_the_review_are_recorded_with_their_reason(started, patient, by):
    advil = medication(patient, "Advil 200 mg", by)
    services.review_medication_stop(
        review=started,
        entry=advil,
        on=TODAY,
        reason="Kidney function; use acetaminophen",
        version=advil.version,
        by=by,
    )
    tylenol = services.review_medication_start(
        review=started, data={"name": "Tylenol 500 mg", "directions": "1 to 2 tablets up to 3 times a day"},
        reason="Replaces Advil", by=by,
    )  # fmt: skip
    advil.refresh_from_db()
    assert advil.status == MedicationStatus.STOPPED and tylenol.status == MedicationStatus.ACTIVE
    changes = list(MedicationChange.objects.filter(review=started).values_list("kind", "reason"))
    assert changes == [("stop", "Kidney function; use acetaminophen"), ("start", "Replaces Advil")]
    with pytest.raises(ValidationError):
        services.review_medication_start(review=started, data={"name": "melatonin"}, reason="", by=by)
    assert not patient.medications.filter(name="melatonin").exists()


def test_every_step_is_audited(started, by):
    before = AuditEvent.objects.count()
    problem = a_problem(started, by)
    patient_recommendation(problem, by)
    assert AuditEvent.objects.count() == before + 2


def test_the_cmr_summary_is_delivered_after_completion_never_before(started, by):
    problem = a_problem(started, by)
    patient_recommendation(problem, by)
    with pytest.raises(ValidationError):
        services.summary_delivered(review=started, on=TODAY, version=started.version, by=by)
    done = services.review_complete(review=started, version=started.version, minutes_spent=20, by=by)
    day = timezone.localdate(done.completed_at)  # the organisation's day
    with pytest.raises(ValidationError) as error:
        services.summary_delivered(
            review=done, on=day - datetime.timedelta(days=1), version=done.version, by=by
        )
    assert "summary_delivered_on" in error.value.message_dict
    delivered = services.summary_delivered(review=done, on=day, version=done.version, by=by)
    assert delivered.summary_delivered_on == day
