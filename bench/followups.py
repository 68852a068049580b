"""Follow-up screens: time and SQL queries of the queue, the week agenda, a staff member's calendar
feed and the follow-up API, with a few and with many follow-ups.

    .venv/bin/python bench/followups.py [--repeat 20]

Uses the same database and setup as bench/patients.py (DATABASE_URL to run it on PostgreSQL).
Books follow-ups for this week (and some overdue) across the bench patients, first 20 and then
500, and prints each request's median time, its ratio to a trivial view (/healthz) timed in the
same run, and its SQL queries, which must not grow with the number of follow-ups.
"""

import argparse
import datetime
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_patients", Path(__file__).with_name("patients.py"))
bench_patients = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_patients)  # sets up Django on the bench database

from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from followups.models import CalendarFeed, FollowUp, FollowUpKind  # noqa: E402
from patients.models import Patient  # noqa: E402


def book(org, user, n: int) -> None:
    """n scheduled follow-ups: a fifth overdue, the rest spread over the coming week."""
    FollowUp.objects.filter(organisation=org, notes="bench").delete()
    patients = list(Patient.objects.filter(organisation=org)[:200])
    now = timezone.now()
    FollowUp.objects.bulk_create(
        [
            FollowUp(
                organisation=org, patient=patients[i % len(patients)], kind=FollowUpKind.PHONE_CHECK_IN,
                due_at=now - datetime.timedelta(hours=1 + i) if i % 5 == 0 else now + datetime.timedelta(hours=i % 150),
                assigned_to=user, notes="bench",
            )
            for i in range(n)
        ],
        batch_size=1000,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data = bench_patients.seed(200)
    user = data["user"]
    org = user.organisation
    client = Client()
    client.force_login(user)
    feed, _ = CalendarFeed.objects.get_or_create(user=user, defaults={"token": "bench-feed-token"})
    requests = [
        ("trivial view /healthz (baseline)", "/healthz"),
        ("queue, everyone", "/follow-ups/"),
        ("agenda, this week", "/follow-ups/agenda/"),
        ("calendar feed", f"/calendar/{feed.token}.ics"),
        ("API list, first page", "/api/v1/follow-ups/"),
    ]
    print(f"{'request':34} {'follow-ups':>10} {'median ms':>10} {'x trivial':>10} {'queries':>8}")
    queries = {}
    for n in (20, 500):
        book(org, user, n)
        results = {label: bench_patients.measure(client, url, None, args.repeat) for label, url in requests}
        baseline = results[requests[0][0]][0]
        for label, (seconds, count) in results.items():
            print(f"{label:34} {n:10d} {seconds * 1000:10.2f} {seconds / baseline:10.1f} {count:8d}")
            queries.setdefault(label, set()).add(count)
    FollowUp.objects.filter(organisation=org, notes="bench").delete()
    same = all(len(counts) == 1 for counts in queries.values())
    print("queries equal for 20 and 500 follow-ups:", "yes" if same else "NO")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
