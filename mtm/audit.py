"""Who did it, from where, and the append-only record of what they saw and changed.

Services take an `Actor` instead of a request, so the page, the API, the CLI and Celery tasks
record the same audit trail.
"""

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
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of a record as plain JSON values (foreign keys as their ids)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        raw = getattr(instance, field.attname)
        values[name] = _jsonable(raw)
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields whose value changed."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
