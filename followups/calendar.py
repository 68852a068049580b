"""Follow-ups as iCalendar (RFC 5545): one file per follow-up, and a feed per staff member.

Calendar apps keep what they receive on servers we do not control, so an event carries only the
kind of follow-up, the patient's initials and a link back to MTM: no names, no clinical notes.
Times are written in UTC; each calendar app shows them in its own time zone."""

import datetime
from collections.abc import Iterable

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from followups.messages import kind_for_patient
from followups.models import FollowUp, FollowUpStatus

STATUS = {
    FollowUpStatus.SCHEDULED: "CONFIRMED",
    FollowUpStatus.DONE: "CONFIRMED",
    FollowUpStatus.MISSED: "CONFIRMED",
    FollowUpStatus.CANCELLED: "CANCELLED",
}


def initials(patient) -> str:
    return " ".join(f"{part[0].upper()}." for part in (patient.first_name, patient.last_name) if part)


def event(follow_up: FollowUp, now: datetime.datetime) -> icalendar.Event:
    url = settings.SITE_URL.rstrip("/") + reverse("follow_up_detail", args=[follow_up.pk])
    summary = f"{follow_up.get_kind_display()}, {initials(follow_up.patient)}"
    if follow_up.status in (FollowUpStatus.DONE, FollowUpStatus.MISSED):
        summary += f" ({follow_up.get_status_display().lower()})"
    item = icalendar.Event()
    item.add("uid", f"follow-up-{follow_up.pk}@mtm")
    item.add("dtstamp", now)
    item.add("sequence", follow_up.version)  # a moved follow-up replaces the copy calendars hold
    item.add("dtstart", follow_up.due_at.astimezone(datetime.UTC))
    item.add(
        "dtend",
        (follow_up.due_at + datetime.timedelta(minutes=follow_up.duration_minutes)).astimezone(datetime.UTC),
    )
    item.add("summary", summary)
    item.add("description", f"Open in MTM: {url}")
    item.add("url", url)
    item.add("status", STATUS[follow_up.status])
    return item


def patient_event(follow_up: FollowUp, now: datetime.datetime) -> icalendar.Event:
    """The patient's own copy: with whom, and how to change it."""
    organisation = follow_up.organisation
    item = event(follow_up, now)
    for name in ("summary", "description", "url"):
        del item[name]
    item.add("summary", f"{kind_for_patient(follow_up.kind).capitalize()} with {organisation.name}")
    if organisation.phone:
        item.add("description", f"To change it, call {organisation.name} at {organisation.phone}.")
    return item


def calendar_ics(follow_ups: Iterable[FollowUp], *, name: str, for_patient: bool = False) -> bytes:
    now = timezone.now().astimezone(datetime.UTC).replace(microsecond=0)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//MTM//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", datetime.timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    for follow_up in follow_ups:
        calendar.add_component(patient_event(follow_up, now) if for_patient else event(follow_up, now))
    return calendar.to_ical()
