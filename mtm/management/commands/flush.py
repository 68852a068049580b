"""Django's flush, allowed to empty the audit trail on SQLite too (see mtm.audit: the trigger that
refuses deleting audit rows lets the whole database be emptied, and nothing else)."""

from django.core.management.commands.flush import Command as DjangoFlush

from mtm.audit import audit_maintenance


class Command(DjangoFlush):
    def handle(self, **options):
        with audit_maintenance():
            return super().handle(**options)
