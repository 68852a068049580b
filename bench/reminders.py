"""Dispatching due reminders: SQL queries (a constant per batch, plus a constant per message: each is
marked started before it is sent and recorded after, so a crash leaves only it in doubt) and total
time, for 100 and for 10,000 due reminders.

    .venv/bin/python bench/reminders.py [--many 10000]

Uses the bench database of bench/patients.py (DATABASE_URL to run it on PostgreSQL). Email goes to
Django's in-memory backend, so the figures are the dispatch's own cost, not an SMTP server's.
"""

import argparse
import datetime
import importlib.util
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_patients", Path(__file__).with_name("patients.py"))
bench_patients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_patients)  # sets up Django on the bench database

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from followups import dispatch  # noqa: E402
from followups.models import FollowUp, FollowUpKind, Reminder  # noqa: E402
from patients.models import Patient  # noqa: E402

settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
mail.outbox = []


def due_reminders(org, patients: list, n: int, now: datetime.datetime) -> None:
    """n due reminders (one follow-up each, tomorrow), by email to patients who agreed."""
    Reminder.objects.filter(organisation=org).delete()
    FollowUp.objects.filter(organisation=org, notes="bench").delete()
    follow_ups = FollowUp.objects.bulk_create(
        [
            FollowUp(organisation=org, patient=patients[i % len(patients)], kind=FollowUpKind.PHONE_CHECK_IN,
                     due_at=now + datetime.timedelta(days=1), notes="bench")
            for i in range(n)
        ],
        batch_size=1000,
    )  # fmt: skip
    Reminder.objects.bulk_create(
        [
            Reminder(organisation=org, follow_up=f, channel="email", send_at=now, next_attempt_at=now,
                     key=f"bench:{f.pk}")
            for f in follow_ups
        ],
        batch_size=1000,
    )  # fmt: skip


def run(org, patients, n: int, batch_size: int) -> tuple[float, int, int]:
    """Seconds, batches and SQL queries of one dispatch pass over n due reminders."""
    now = timezone.now()
    due_reminders(org, patients, n, now)
    mail.outbox = []
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = dispatch.send_due_reminders(now=now, batch_size=batch_size)
        seconds = time.perf_counter() - started
    assert result.sent == n == len(mail.outbox), (result, len(mail.outbox))
    return seconds, result.batches, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=dispatch.BATCH_SIZE)
    args = parser.parse_args()
    data = bench_patients.seed(200)
    org = data["user"].organisation
    Patient.objects.filter(organisation=org).update(email="patient@example.org", consent_email_reminders=True)
    patients = list(Patient.objects.filter(organisation=org)[:200])
    print(f"{connection.vendor}, batches of {args.batch_size}")
    print(
        f"{'due reminders':>14} {'batches':>8} {'queries':>8} {'per batch':>10} {'total s':>8} {'ms each':>8}"
    )
    for n in (100, args.many):
        seconds, batches, queries = run(org, patients, n, args.batch_size)
        print(
            f"{n:>14} {batches:>8} {queries:>8} {queries / batches:>10.1f} {seconds:>8.2f} {seconds / n * 1000:>8.2f}"
        )
    print(
        "per batch: claim (select, update), load; per message: start, record (update, attempt row); plus 2 per pass"
    )


if __name__ == "__main__":
    main()
