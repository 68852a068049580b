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
    REVIEW_VIEW = "review.view"
    REVIEW_CONDUCT = "review.conduct"  # open, document and complete reviews: pharmacists
    RESPONSE_RECORD = "response.record"  # prescribers' answers that come back by fax or phone
    REPORTS_VIEW = "reports.view"  # outcomes dashboard and billing export


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    # Technicians collect medication histories and fills, so staff edit the record too;
    # every change is audited with who made it.
    Role.PHARMACIST: frozenset(
        {
            Capability.PATIENT_VIEW,
            Capability.PATIENT_EDIT,
            Capability.PRESCRIBER_EDIT,
            Capability.REVIEW_VIEW,
            Capability.REVIEW_CONDUCT,
            Capability.RESPONSE_RECORD,
            Capability.REPORTS_VIEW,
        }
    ),
    Role.STAFF: frozenset(
        {
            Capability.PATIENT_VIEW,
            Capability.PATIENT_EDIT,
            Capability.PRESCRIBER_EDIT,
            Capability.REVIEW_VIEW,
            Capability.RESPONSE_RECORD,
        }
    ),
    Role.ORG_ADMIN: frozenset(
        {
            Capability.PATIENT_VIEW,
            Capability.AUDIT_VIEW,
            Capability.TEAM_MANAGE,
            Capability.REVIEW_VIEW,
            Capability.REPORTS_VIEW,
        }
    ),
    Role.PATIENT: frozenset({Capability.PORTAL}),
}
