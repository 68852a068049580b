import pytest
from django.db import DatabaseError, transaction

from mtm.models import AuditAction, AuditEvent


def test_audit_rows_cannot_be_changed(pharmacist):
    event = AuditEvent.objects.create(
        actor=pharmacist, organisation=pharmacist.organisation, action=AuditAction.VIEW
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.UPDATE)
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def test_audit_rows_cannot_be_deleted(pharmacist):
    event = AuditEvent.objects.create(
        actor=pharmacist, organisation=pharmacist.organisation, action=AuditAction.VIEW
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
