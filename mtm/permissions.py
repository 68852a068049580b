"""Roles and what each may do: the single table every page and API endpoint consults."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    PHARMACIST = "pharmacist", "Pharmacist"
    STAFF = "staff", "Clinic staff"
    ORG_ADMIN = "org_admin", "Organisation admin"
    PATIENT = "patient", "Patient"


class Capability(StrEnum):
    PATIENT_VIEW = "patient.view"
    PATIENT_EDIT = "patient.edit"  # demographics, care team and the clinical lists
    PRESCRIBER_EDIT = "prescriber.edit"
    AUDIT_VIEW = "audit.view"
    TEAM_MANAGE = "team.manage"  # the organisation's staff accounts and their roles
    PORTAL = "portal"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    # Technicians collect medication histories and fills, so staff edit the record too;
    # every change is audited with who made it.
    Role.PHARMACIST: frozenset(
        {Capability.PATIENT_VIEW, Capability.PATIENT_EDIT, Capability.PRESCRIBER_EDIT}
    ),
    Role.STAFF: frozenset({Capability.PATIENT_VIEW, Capability.PATIENT_EDIT, Capability.PRESCRIBER_EDIT}),
    Role.ORG_ADMIN: frozenset({Capability.PATIENT_VIEW, Capability.AUDIT_VIEW, Capability.TEAM_MANAGE}),
    Role.PATIENT: frozenset({Capability.PORTAL}),
}
