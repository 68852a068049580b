"""The editable lists on the patient page, described once so the page views stay generic.

Each section names its form, the services that add, change and end an item, and what the
section's fragment needs to render. The API calls the same services.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from patients import selectors, services
from patients.forms import (
    AllergyForm,
    AllergyInactivateForm,
    CareTeamForm,
    ConditionForm,
    ConditionResolveForm,
    FactorEndForm,
    FactorForm,
    FillForm,
    GeneResultErrorForm,
    GeneResultForm,
    IdentifierForm,
    IdentifierRemoveForm,
    MeasurementForm,
    MedicationForm,
    MedicationStopForm,
    RemoveForm,
)
from patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    GeneResult,
    Measurement,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PatientFactor,
    PatientIdentifier,
    PharmacyFill,
)


@dataclass(frozen=True)
class Section:
    """`add(patient, form, by)`, `update(record, form, version, by)` and `end(record, form, version, by)`
    adapt a valid page form to the service that does the work."""

    slug: str
    title: str
    model: type[models.Model]
    form: type[forms.ModelForm]
    context: Callable[[Patient], dict]
    add: Callable
    update: Callable
    end_form: type[forms.ModelForm] | None = None
    end: Callable | None = None
    end_label: str = ""

    @property
    def has_end(self) -> bool:  # templates call callables, so they ask this instead of `end`
        return self.end is not None

    @property
    def template(self) -> str:
        return f"patients/_section_{self.slug.replace('-', '_')}.html"


def _medications_context(patient):
    medications = selectors.medications_of(patient)
    return {
        "active_medications": [m for m in medications if m.status == MedicationStatus.ACTIVE],
        "stopped_medications": [m for m in medications if m.status == MedicationStatus.STOPPED],
    }


def _measurements_context(patient):
    measurements = selectors.measurements_of(patient)
    return {"measurements": measurements, "latest_measurements": selectors.latest_by_kind(measurements)}


def _care_team_add(patient, form, by):
    new_prescriber = form.new_prescriber_data()
    try:
        return services.care_team_add(
            patient=patient,
            prescriber=form.cleaned_data.get("prescriber"),
            new_prescriber=new_prescriber,
            by=by,
            **form.data_for_service(),
        )
    except ValidationError as error:
        if new_prescriber and hasattr(error, "error_dict"):
            # Errors about the new prescriber belong to the "new_" fields of this form.
            raise ValidationError(
                {
                    f"new_{name}" if name in form.NEW_FIELDS else name: messages
                    for name, messages in error.error_dict.items()
                }
            ) from None
        raise


SECTIONS: dict[str, Section] = {
    section.slug: section
    for section in [
        Section(
            slug="medications",
            title="Medications",
            model=MedicationEntry,
            form=MedicationForm,
            context=_medications_context,
            add=lambda patient, form, by: services.medication_add(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.medication_update(
                entry=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=MedicationStopForm,
            end=lambda record, form, version, by: services.medication_stop(
                entry=record,
                on=form.cleaned_data["stop_date"],
                reason=form.cleaned_data["stop_reason"],
                version=version,
                by=by,
            ),
            end_label="Stop",
        ),
        Section(
            slug="allergies",
            title="Allergies and intolerances",
            model=Allergy,
            form=AllergyForm,
            context=lambda patient: {"allergies": selectors.allergies_of(patient)},
            add=lambda patient, form, by: services.allergy_add(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.allergy_update(
                allergy=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=AllergyInactivateForm,
            end=lambda record, form, version, by: services.allergy_inactivate(
                allergy=record, reason=form.cleaned_data["inactive_reason"], version=version, by=by
            ),
            end_label="No longer applies",
        ),
        Section(
            slug="conditions",
            title="Conditions",
            model=Condition,
            form=ConditionForm,
            context=lambda patient: {"conditions": selectors.conditions_of(patient)},
            add=lambda patient, form, by: services.condition_add(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.condition_update(
                condition=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=ConditionResolveForm,
            end=lambda record, form, version, by: services.condition_resolve(
                condition=record, on=form.cleaned_data["resolved_date"], version=version, by=by
            ),
            end_label="Resolved",
        ),
        Section(
            slug="genomics",
            title="Pharmacogenomic results",
            model=GeneResult,
            form=GeneResultForm,
            context=lambda patient: {"gene_results": selectors.gene_results_of(patient)},
            add=lambda patient, form, by: services.gene_result_add(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.gene_result_update(
                result=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=GeneResultErrorForm,
            end=lambda record, form, version, by: services.gene_result_entered_in_error(
                result=record, reason=form.cleaned_data["error_reason"], version=version, by=by
            ),
            end_label="Entered in error",
        ),
        Section(
            slug="factors",
            title="Pregnancy, diet and habits",
            model=PatientFactor,
            form=FactorForm,
            context=lambda patient: {"factors": selectors.factors_of(patient)},
            add=lambda patient, form, by: services.factor_add(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.factor_update(
                factor=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=FactorEndForm,
            end=lambda record, form, version, by: services.factor_end(
                factor=record, on=form.cleaned_data["ended_on"], version=version, by=by
            ),
            end_label="No longer applies",
        ),
        Section(
            slug="care-team",
            title="Care team",
            model=CareTeamMember,
            form=CareTeamForm,
            context=lambda patient: {"care_team": selectors.care_team_of(patient)},
            add=_care_team_add,
            update=lambda record, form, version, by: services.care_team_update(
                member=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=RemoveForm,
            end=lambda record, form, version, by: services.care_team_remove(
                member=record, version=version, by=by
            ),
            end_label="Remove",
        ),
        Section(
            slug="measurements",
            title="Measurements and labs",
            model=Measurement,
            form=MeasurementForm,
            context=_measurements_context,
            add=lambda patient, form, by: services.measurement_record(
                patient=patient, data=form.data_for_service(), unit=form.cleaned_data.get("unit"), by=by
            ),
            update=lambda record, form, version, by: services.measurement_update(
                measurement=record,
                data=form.data_for_service(),
                unit=form.cleaned_data.get("unit"),
                version=version,
                by=by,
            ),
        ),
        Section(
            slug="identifiers",
            title="Identifiers",
            model=PatientIdentifier,
            form=IdentifierForm,
            context=lambda patient: {"identifiers": list(patient.identifiers.all())},
            add=lambda patient, form, by: services.patient_identifier_add(
                patient=patient, by=by, **form.data_for_service()
            ),
            update=lambda record, form, version, by: services.patient_identifier_update(
                identifier=record, data=form.data_for_service(), version=version, by=by
            ),
            end_form=IdentifierRemoveForm,
            end=lambda record, form, version, by: services.patient_identifier_remove(
                identifier=record, version=version, by=by
            ),
            end_label="Remove",
        ),
        Section(
            slug="fills",
            title="Pharmacy fills",
            model=PharmacyFill,
            form=FillForm,
            context=lambda patient: {
                "fills": selectors.recent_fills_of(patient),
                "fill_count": patient.fills.count(),
            },
            add=lambda patient, form, by: services.fill_record(
                patient=patient, data=form.data_for_service(), by=by
            ),
            update=lambda record, form, version, by: services.fill_update(
                fill=record, data=form.data_for_service(), version=version, by=by
            ),
        ),
    ]
}
