"""Creating and changing the records people edit (patients' lists, reviews, problems...), the same
way everywhere: validate the whole record, refuse a save based on an outdated version, and write
the change to the audit trail. Callers hold the transaction."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone

from mtm.audit import Actor, audit_record, diff, snapshot
from mtm.errors import EditConflict
from mtm.models import AuditAction

# The audit event itself records the patient and organisation; the rest is bookkeeping. A model
# lists its own derived fields in `NOT_AUDITED`.
_BOOKKEEPING = {"id", "version", "created_at", "updated_at", "patient", "organisation"}


def audited_fields(model: type[models.Model]) -> list[str]:
    skipped = _BOOKKEEPING | set(getattr(model, "NOT_AUDITED", ()))
    return [f.name for f in model._meta.concrete_fields if f.name not in skipped]


def patient_id_of(record: models.Model):
    """The patient a record is about: its own id for a patient, else its `patient_id`."""
    if record._meta.label == "patients.Patient":
        return record.pk
    return getattr(record, "patient_id", None)


def record_create(record: models.Model, *, by: Actor, action=AuditAction.CREATE) -> models.Model:
    record.full_clean()
    record.save(force_insert=True)
    audit_record(
        actor=by,
        action=action,
        patient_id=patient_id_of(record),
        obj=record,
        changes=diff({}, snapshot(record, audited_fields(type(record)))),
    )
    return record


def record_update(record, *, data: dict[str, Any], version: int, by: Actor, action=AuditAction.UPDATE):
    """Apply `data` to `record` if nobody saved a newer version since `version` was read.
    On any refusal the record is left as it was."""
    fields = audited_fields(type(record))
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    attnames = {name: record._meta.get_field(name).attname for name in fields}
    original = {attname: getattr(record, attname) for attname in attnames.values()}
    before = snapshot(record, fields)
    try:
        for name, value in data.items():
            setattr(record, name, value)
        record.full_clean()
        changed = [
            name for name, attname in attnames.items() if getattr(record, attname) != original[attname]
        ]
        if record.version != version:
            raise EditConflict(record._meta.verbose_name)
        if not changed:
            return record
        after = snapshot(record, changed)
        changes = {name: [before[name], after[name]] for name in changed}
        saved = (
            type(record)
            .objects.filter(pk=record.pk, version=version)
            .update(
                **{attnames[name]: getattr(record, attnames[name]) for name in changed},
                version=F("version") + 1,
                updated_at=timezone.now(),
            )
        )
        if not saved:
            raise EditConflict(record._meta.verbose_name)
    except (ValidationError, EditConflict):
        for attname, value in original.items():
            setattr(record, attname, value)
        raise
    record.version = version + 1
    audit_record(actor=by, action=action, patient_id=patient_id_of(record), obj=record, changes=changes)
    return record
