"""Who a recommendation to a prescriber goes to.

The picker offers first whoever prescribes the problem's medications, then the patient's care team,
then the rest of the organisation's directory. A letter to anyone outside the first two is more
often a slip (the other Dr Kim) than a choice, so it needs a confirmation. The form, the API and the
services all ask this module, so the rule is written once.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from patients.models import CareTeamMember, Prescriber
from reviews.models import Problem

CONFIRMATION_FIELD = "prescriber_confirmed"
CONFIRMATION_LABEL = "Send to someone outside the care team"


@dataclass(frozen=True)
class PrescriberOption:
    prescriber: Prescriber
    note: str = ""  # "prescribes Coumadin 5 mg", "primary care"

    @property
    def label(self) -> str:
        return f"{self.prescriber} — {self.note}" if self.note else str(self.prescriber)


@dataclass(frozen=True)
class PrescriberGroups:
    of_medications: list[PrescriberOption]
    care_team: list[PrescriberOption]
    others: list[PrescriberOption]

    @property
    def preselected(self) -> Prescriber | None:
        """The medication's prescriber, when there is exactly one."""
        return self.of_medications[0].prescriber if len(self.of_medications) == 1 else None

    @property
    def needing_confirmation(self) -> set[str]:
        return {str(option.prescriber.pk) for option in self.others}


def expected_prescribers(problem: Problem) -> tuple[list[PrescriberOption], list[PrescriberOption]]:
    """The prescribers of the problem's medications, then the rest of the patient's care team."""
    prescribed: dict = {}
    for medication in problem.medications.select_related("prescriber").order_by("name"):
        if medication.prescriber is not None:
            prescribed.setdefault(medication.prescriber, []).append(medication.display_name)
    of_medications = [
        PrescriberOption(prescriber, "prescribes " + ", ".join(names))
        for prescriber, names in sorted(prescribed.items(), key=lambda item: str(item[0]))
    ]
    care_team = [
        PrescriberOption(member.prescriber, member.role or ("primary care" if member.is_primary_care else ""))
        for member in CareTeamMember.objects.filter(patient_id=problem.patient_id).select_related(
            "prescriber"
        )
        if member.prescriber not in prescribed
    ]
    return of_medications, care_team


def prescriber_groups(*, problem: Problem, directory: QuerySet[Prescriber]) -> PrescriberGroups:
    """The picker's three groups; `directory` is the organisation's (already scoped) directory."""
    of_medications, care_team = expected_prescribers(problem)
    expected = {option.prescriber.pk for option in of_medications + care_team}
    others = [
        PrescriberOption(prescriber, prescriber.specialty)
        for prescriber in directory.order_by("last_name", "first_name")
        if prescriber.pk not in expected
    ]
    return PrescriberGroups(of_medications, care_team, others)


def needs_confirmation(*, problem: Problem, prescriber: Prescriber) -> bool:
    """True for a prescriber who neither prescribes the problem's medications nor is on the care team."""
    of_medications, care_team = expected_prescribers(problem)
    return prescriber.pk not in {option.prescriber.pk for option in of_medications + care_team}


def confirmation_message(*, problem: Problem, prescriber: Prescriber) -> str:
    return (
        f"{prescriber} neither prescribes this problem's medications nor is on "
        f"{problem.patient.full_name}'s care team. Tick “{CONFIRMATION_LABEL}” to send the "
        "recommendation to them."
    )
