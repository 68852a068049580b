"""Who did it, from where, and the append-only record of what they saw and changed.

Services take an `Actor` instead of a request, so the page, the API, the CLI and Celery tasks
record the same audit trail.
"""

import contextlib
import contextvars
import datetime
import decimal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models

from mtm.models import AuditAction, AuditEvent, User


@dataclass(frozen=True)
class Actor:
    user: User
    ip_address: str | None = None
    via: str = "web"


def actor_from_request(request, *, via: str = "web") -> Actor:
    return Actor(user=request.user, ip_address=client_ip(request), via=via)


def client_ip(request) -> str | None:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            # The proxy we trust appends the address it saw last.
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: Actor | None,
    action: AuditAction,
    organisation_id=None,
    patient_id=None,
    obj: models.Model | None = None,
    changes: dict | None = None,
    username: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    user = actor.user if actor and actor.user.is_authenticated else None
    return AuditEvent.objects.create(
        organisation_id=organisation_id or (user.organisation_id if user else None),
        actor=user,
        actor_username=user.get_username() if user else username,
        action=action,
        patient_id=patient_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        ip_address=actor.ip_address if actor else ip_address,
        via=actor.via if actor else "web",
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of a record as plain JSON values; a foreign key as what it names
    ("Alan Hartman, MD"), which is what a reader of the history needs."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.is_relation:
            related = getattr(instance, name)
            values[name] = str(related) if related is not None else None
        else:
            values[name] = _jsonable(getattr(instance, field.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields whose value changed."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


# The database itself refuses to change or delete audit rows, whatever code runs against it.
# Re-applied after every migrate because SQLite drops triggers when a migration rebuilds the table.
# Emptying the whole database (`manage.py flush`, which tests use between transactional tests) is
# the one exception: PostgreSQL's TRUNCATE bypasses row triggers, and on SQLite, which has no
# TRUNCATE, the flush command (mtm/management/commands/flush.py) opens `audit_maintenance()`, which
# the trigger asks through a function each Django connection has (`mtm_audit_locked()`; a
# connection without it, e.g. the sqlite3 shell, cannot delete audit rows at all).
_POSTGRES_TRIGGERS = """
CREATE OR REPLACE FUNCTION mtm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER mtm_auditevent_no_update BEFORE UPDATE ON mtm_auditevent
    FOR EACH ROW EXECUTE FUNCTION mtm_auditevent_append_only();
CREATE OR REPLACE TRIGGER mtm_auditevent_no_delete BEFORE DELETE ON mtm_auditevent
    FOR EACH ROW EXECUTE FUNCTION mtm_auditevent_append_only();
"""
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS mtm_auditevent_no_update BEFORE UPDATE ON mtm_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS mtm_auditevent_no_delete BEFORE DELETE ON mtm_auditevent
       WHEN mtm_audit_locked() BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;""",
]
_maintenance = contextvars.ContextVar("audit_maintenance", default=False)


@contextlib.contextmanager
def audit_maintenance():
    """While the whole database is emptied (flush): SQLite lets audit rows be deleted."""
    token = _maintenance.set(True)
    try:
        yield
    finally:
        _maintenance.reset(token)


def sqlite_audit_function(sender, connection, **kwargs) -> None:
    """connection_created handler: the function the SQLite delete trigger asks."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("mtm_audit_locked", 0, lambda: 0 if _maintenance.get() else 1)


def ensure_audit_append_only(sender=None, using="default", **kwargs) -> None:
    """post_migrate handler."""
    from django.db import connections

    connection = connections[using]
    if "mtm_auditevent" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_TRIGGERS)
        elif connection.vendor == "sqlite":
            for trigger in _SQLITE_TRIGGERS:
                cursor.execute(trigger)
