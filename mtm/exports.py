"""Long exports, prepared by the Celery worker while the user does something else.

A short export streams straight to the browser (the billing CSV of a month). A long one is asked
for with `export_request`: a row is written and its preparation queued in the same transaction
(mtm/outbox.py, so a broker that is down loses nothing); the worker writes the file into the
database in parts of PART_BYTES and counts what it has read, which the export's page shows and
polls; when it is ready the page offers the download, streamed part by part. Memory stays flat on
both sides whatever the period, and web and worker share no disk.

Each kind of export names the function that writes it and the capability it needs. The function
takes the user who asked and the export's parameters and returns a CsvExport; it reads through the
same selectors as the pages (scoped to the user's organisation), so an export never holds more
than its user may see.
"""

import csv
import datetime
import io
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from celery import shared_task
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.module_loading import import_string

from mtm.audit import Actor, audit_record
from mtm.models import AuditAction, Export, ExportPart, ExportStatus
from mtm.outbox import enqueue
from mtm.permissions import Capability

logger = logging.getLogger(__name__)

STREAM_AT_MOST = 2_000  # items (reviews): an export of more is offered as one prepared by the worker
PART_BYTES = 256 * 1024
PROGRESS_EVERY = 200  # items read between two progress updates
KEEP = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Kind:
    writer: str  # dotted path of `function(user, parameters) -> CsvExport`
    capability: Capability


KINDS = {
    "billing": Kind("reviews.selectors.billing_csv", Capability.REPORTS_VIEW),
}


@dataclass
class CsvExport:
    """What an export writes: a header, then each item's rows (a review's CPT lines, say).
    `count` tells how many items there will be, for the progress shown while it is prepared."""

    filename: str
    header: list[str]
    items: Iterable[list[list]]
    count: Callable[[], int]

    def rows(self) -> Iterator[list]:
        yield self.header
        for rows in self.items:
            yield from rows


def spreadsheet_safe(value) -> str:
    """A cell's text, quoted when a spreadsheet would run it as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Rows as CSV text, line by line (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def export_request(*, user, kind: str, parameters: dict, title: str, by: Actor) -> Export:
    """Ask for an export; the worker prepares it after the transaction commits."""
    if not user.can(KINDS[kind].capability):
        raise PermissionError(kind)
    with transaction.atomic():
        export = Export.objects.create(
            organisation_id=user.organisation_id,
            requested_by=user,
            kind=kind,
            parameters=parameters,
            title=title,
        )
        enqueue(prepare_export, str(export.pk))
        audit_record(
            actor=by, action=AuditAction.CREATE, organisation_id=user.organisation_id, obj=export,
            changes={"export": ["", title]},
        )  # fmt: skip
    return export


def exports_of(user):
    """The exports a user asked for (theirs only: an export holds what its user may see)."""
    return Export.objects.filter(organisation_id=user.organisation_id, requested_by=user)


def export_get(*, user, export_id) -> Export:
    export = get_object_or_404(exports_of(user), pk=export_id)
    if not user.can(KINDS[export.kind].capability):
        raise Http404  # a right taken away since: as if it did not exist
    return export


def export_content(export: Export) -> Iterator[bytes]:
    """The file, part by part, as it is sent."""
    parts = ExportPart.objects.filter(export=export).order_by("number").values_list("data", flat=True)
    for data in parts.iterator(chunk_size=2):
        yield bytes(data)


@shared_task(name="mtm.exports.prepare_export")
def prepare_export(export_id: str) -> str:
    """The worker's side. Run again (its worker died), it starts the file again."""
    export = Export.objects.select_related("requested_by", "organisation").get(pk=export_id)
    if export.status in (ExportStatus.READY, ExportStatus.FAILED):
        return export.status
    user = export.requested_by
    timezone.activate(zoneinfo.ZoneInfo(export.organisation.time_zone))  # dates as on the user's pages
    try:
        if not (user.is_active and user.can(KINDS[export.kind].capability)):
            raise PermissionError("the user may no longer make this export")
        ExportPart.objects.filter(export=export).delete()
        source = import_string(KINDS[export.kind].writer)(user, export.parameters)
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.RUNNING, items_total=source.count(), items_done=0, filename=source.filename
        )
        size = _write(export, source)
    except Exception as error:
        logger.exception("Export %s (%s) failed: %s", export.pk, export.kind, type(error).__name__)
        ExportPart.objects.filter(export=export).delete()
        Export.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED,
            finished_at=timezone.now(),
            error="It could not be prepared. Ask for it again; if it fails again, tell your administrator.",
        )
        return ExportStatus.FAILED
    finally:
        timezone.deactivate()
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY, size=size, finished_at=timezone.now()
    )
    return ExportStatus.READY


def _write(export: Export, source: CsvExport) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(source.header)
    parts = size = done = 0

    def flush() -> None:
        nonlocal parts, size
        data = buffer.getvalue().encode()
        if data:
            ExportPart.objects.create(export=export, number=parts, data=data)
            parts, size = parts + 1, size + len(data)
        buffer.seek(0)
        buffer.truncate()

    for rows in source.items:
        writer.writerows(rows)
        done += 1
        if buffer.tell() >= PART_BYTES:
            flush()
        if done % PROGRESS_EVERY == 0:
            Export.objects.filter(pk=export.pk).update(items_done=done)
    flush()
    Export.objects.filter(pk=export.pk).update(items_done=done)
    return size


@shared_task(name="mtm.exports.forget_old_exports")
def forget_old_exports() -> int:
    """Beat, daily: exports are kept KEEP after they were asked for, then deleted with their file."""
    deleted, _ = Export.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted
