"""Staff screens for follow-ups: the due / overdue queue, the agenda (day and week), one follow-up,
booking one from the patient's page, and calendar files. The queue's buttons post through htmx and
get the follow-up's row back; without JavaScript they post as plain forms and come back to the page."""

import datetime
import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from followups import selectors, services, today
from followups.calendar import calendar_ics, initials
from followups.forms import AgendaQuery, CloseForm, FollowUpForm, QueueQuery, RescheduleForm
from followups.models import CalendarFeed, FollowUp, FollowUpStatus, Reminder
from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.forms import bad_query_response, run_service
from mtm.middleware import next_page
from mtm.models import AuditAction
from mtm.permissions import Capability, Role
from mtm.scoping import scope_to_organisation
from patients import selectors as patient_selectors

QUICK_MOVES = {"1", "7"}  # days from today, at the follow-up's time of day
FEED_PAST_DAYS = 30
FEED_AHEAD_DAYS = 365


def _bad_query(request, query, title: str):
    return bad_query_response(
        request,
        title=title,
        errors=query.query_errors(),
        start_again=(f"Open {title.lower()} as usual", request.path),
    )


def _back(request, default: str) -> str:
    return next_page(request, default)


def _fresh(follow_up: FollowUp) -> FollowUp:
    """A copy for a ModelForm to validate into, so the service still sees the stored values."""
    return FollowUp.objects.select_related("organisation", "patient").get(pk=follow_up.pk)


def _can_manage(request) -> bool:
    return request.user.can(Capability.PATIENT_EDIT)


def _row(request, follow_up: FollowUp, *, status: int = 200, **extra):
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up.pk)
    context = {
        "f": follow_up,
        "can_manage": _can_manage(request),
        "show_patient": request.POST.get("show_patient", request.GET.get("show_patient", "1")) == "1",
        "next": _back(request, reverse("follow_up_queue")),
        **extra,
    }
    return render(request, "followups/_row.html", context, status=status)


# --- Lists ----------------------------------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def follow_up_queue(request):
    query = QueueQuery(request.GET, user=request.user)
    if not query.is_valid():
        return _bad_query(request, query, "Follow-ups due")
    staff = query.staff_member
    queue = selectors.queue(
        user=request.user,
        assigned_to=staff,
        overdue_page=query.page_number("overdue_page"),
        today_page=query.page_number("today_page"),
        failed_page=query.page_number("failed_page"),
    )
    return render(
        request,
        "followups/queue.html",
        {
            "queue": queue,
            "staff_members": selectors.staff_of(request.user.organisation_id),
            "staff": staff,
            "staff_value": query.cleaned_data["staff"],
            "can_manage": _can_manage(request),
            "show_patient": True,
        },
    )


@requires(Capability.PATIENT_VIEW)
def agenda(request):
    query = AgendaQuery(request.GET, user=request.user)
    if not query.is_valid():
        return _bad_query(request, query, "Agenda")
    staff = query.staff_member
    view = query.cleaned_data["view"] or "week"
    today = selectors.local_today(request.user)
    day = query.cleaned_data["day"] or today
    if view == "week":  # Monday to Sunday, the first of each day: the rest on the day's page
        first_day, length, per_day = (
            day - datetime.timedelta(days=day.weekday()),
            7,
            selectors.AGENDA_WEEK_ROWS,
        )
    else:
        first_day, length, per_day = day, 1, selectors.AGENDA_DAY_ROWS
    step = datetime.timedelta(days=length)
    days = selectors.agenda(
        user=request.user,
        first_day=first_day,
        days=length,
        per_day=per_day,
        page=query.page_number("page") if view == "day" else 1,
        assigned_to=staff,
    )
    return render(
        request,
        "followups/agenda.html",
        {
            "days": days,
            "view": view,
            "first_day": first_day,
            "last_day": first_day + step - datetime.timedelta(days=1),
            "previous_day": first_day - step,
            "next_day": first_day + step,
            "today": today,
            "staff_members": selectors.staff_of(request.user.organisation_id),
            "staff": staff,
            "staff_value": query.cleaned_data["staff"],
            "can_manage": _can_manage(request),
            "show_patient": True,
            "feed": CalendarFeed.objects.filter(user=request.user).first(),
        },
    )


# --- One follow-up ------------------------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def follow_up_detail(request, follow_up_id):
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up_id)
    form = None
    status = 200
    if request.method == "POST":
        if not _can_manage(request):
            raise PermissionDenied
        form = FollowUpForm(
            request.POST, instance=_fresh(follow_up), organisation_id=follow_up.organisation_id
        )
        status = run_service(
            form,
            lambda: services.follow_up_update(
                follow_up=follow_up, data=form.data_for_service(), version=form.cleaned_data["version"],
                by=actor_from_request(request),
            ),
        )  # fmt: skip
        if status == 200:
            return redirect(reverse("follow_up_detail", args=[follow_up.pk]))
    else:
        audit_record(
            actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=follow_up.patient_id,
            obj=follow_up,
        )  # fmt: skip
    if form is None and _can_manage(request) and follow_up.status == FollowUpStatus.SCHEDULED:
        form = FollowUpForm(instance=_fresh(follow_up), organisation_id=follow_up.organisation_id)
    return render(
        request,
        "followups/follow_up_detail.html",
        {
            "f": follow_up,
            "form": form,
            "reminders": selectors.reminders_of(follow_up),
            "can_manage": _can_manage(request),
            "organisation": request.user.organisation,
        },
        status=status,
    )


@requires(Capability.PATIENT_EDIT)
def follow_up_new(request, patient_id):
    patient = patient_selectors.patient_get(user=request.user, patient_id=patient_id)
    initial = {
        "due_at": timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
        + datetime.timedelta(days=7),
        "assigned_to": request.user if request.user.role in ("pharmacist", "staff") else None,
        "kind": request.GET.get("kind") or "phone_check_in",
    }
    form = FollowUpForm(
        request.POST or None,
        instance=FollowUp(patient=patient, organisation=patient.organisation),
        organisation_id=patient.organisation_id,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        created = {}

        def run():
            created["follow_up"] = services.follow_up_create(
                patient=patient, data=form.data_for_service(), by=actor_from_request(request),
                book_anyway=form.cleaned_data["book_anyway"],
            )  # fmt: skip

        status = run_service(form, run)
        if status == 200:
            return redirect(reverse("patient_detail", args=[patient.pk]) + "#h-follow-ups")
    return render(request, "followups/follow_up_new.html", {"form": form, "patient": patient}, status=status)


@requires(Capability.PATIENT_VIEW)
def follow_up_row(request, follow_up_id):
    """The row as it stands (the reschedule form's "Keep as is")."""
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up_id)
    if not request.htmx:
        return redirect(_back(request, reverse("follow_up_detail", args=[follow_up.pk])))
    return _row(request, follow_up)


@require_POST
@requires(Capability.PATIENT_EDIT)
def follow_up_close(request, follow_up_id):
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up_id)
    form = CloseForm(request.POST)
    status = run_service(
        form,
        lambda: services.follow_up_close(
            follow_up=follow_up, status=form.cleaned_data["status"], version=form.cleaned_data["version"],
            note=form.cleaned_data["note"], by=actor_from_request(request),
        ),
    )  # fmt: skip
    if not request.htmx:
        if status != 200:
            return _row_page(request, follow_up, status, errors=_messages(form))
        return redirect(_back(request, reverse("follow_up_queue")))
    return _row(request, follow_up, status=status, errors=_messages(form))


@requires(Capability.PATIENT_EDIT)
def follow_up_reschedule(request, follow_up_id):
    """GET: the row opened on the move form; POST: moved (or the form again with what is wrong)."""
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up_id)
    if request.method != "POST":
        proposed = timezone.localtime(follow_up.due_at)
        while proposed < timezone.localtime():  # overdue: the same time on the next day to come
            proposed += datetime.timedelta(days=1)
        form = RescheduleForm(instance=_fresh(follow_up), initial={"due_at": proposed})
        if not request.htmx:
            return _row_page(request, follow_up, 200, reschedule_form=form)
        return _row(request, follow_up, reschedule_form=form)
    data = request.POST.copy()
    if data.get("shift") in QUICK_MOVES:  # "same time tomorrow", "same time in a week"
        day = timezone.localdate() + datetime.timedelta(days=int(data["shift"]))
        data["due_at"] = f"{day:%Y-%m-%d}T{timezone.localtime(follow_up.due_at):%H:%M}"
    form = RescheduleForm(data, instance=_fresh(follow_up))
    status = run_service(
        form,
        lambda: services.follow_up_update(
            follow_up=follow_up,
            data={"due_at": form.cleaned_data["due_at"], "assigned_to": form.cleaned_data["assigned_to"]},
            version=form.cleaned_data["version"], by=actor_from_request(request),
        ),
    )  # fmt: skip
    if not request.htmx:
        if status != 200:
            return _row_page(request, follow_up, status, reschedule_form=form)
        return redirect(_back(request, reverse("follow_up_queue")))
    if status == 200:
        return _row(request, follow_up, moved=True)
    return _row(request, follow_up, status=status, reschedule_form=form)


def _messages(form) -> list[str]:
    """Every error of a form without fields on the page (the row's buttons), as plain lines."""
    return [message for errors in form.errors.values() for message in errors]


def _row_page(request, follow_up, status, **extra):
    """Without JavaScript: the row on a page of its own, for its form or its error."""
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up.pk)
    context = {
        "f": follow_up,
        "follow_ups": [follow_up],
        "can_manage": True,
        "show_patient": True,
        "next": _back(request, reverse("follow_up_queue")),
        **extra,
    }
    return render(request, "followups/row_page.html", context, status=status)


# --- Reminders that failed ------------------------------------------------------------------------


@require_POST
@requires(Capability.PATIENT_EDIT)
def reminder_handle(request, reminder_id):
    reminder = get_object_or_404(scope_to_organisation(Reminder.objects.all(), request.user), pk=reminder_id)
    resend = request.POST.get("action") == "resend"
    try:
        services.reminder_handle(reminder=reminder, resend=resend, by=actor_from_request(request))
    except ValidationError:
        messages.info(request, "A colleague has already dealt with that reminder.")
    else:
        messages.success(
            request, "The reminder will go out again within a minute." if resend else "Dismissed."
        )
    return redirect(reverse("follow_up_queue") + "#h-failed")


# --- Calendars -----------------------------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def follow_up_ics(request, follow_up_id):
    follow_up = selectors.follow_up_get(user=request.user, follow_up_id=follow_up_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=follow_up.patient_id, obj=follow_up,
        changes={"calendar_file": ["", "downloaded"]},
    )  # fmt: skip
    response = HttpResponse(
        calendar_ics([follow_up], name=f"MTM {follow_up.get_kind_display()}"), content_type="text/calendar"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="follow-up-{follow_up.due_at:%Y%m%d}-{initials(follow_up.patient).replace(". ", "").rstrip(".")}.ics"'
    )
    return response


@require_POST
@requires(Capability.PATIENT_VIEW)
def calendar_feed_reset(request):
    """Create the user's feed address, or replace it (the old one stops working at once)."""
    CalendarFeed.objects.update_or_create(user=request.user, defaults={"token": secrets.token_urlsafe(32)})
    audit_record(
        actor=actor_from_request(request),
        action=AuditAction.UPDATE,
        changes={"calendar_feed": ["", "new address"]},
    )
    return redirect(reverse("agenda") + "#calendar-feed")


def calendar_feed(request, token):
    """What a calendar app subscribed to the address gets: the staff member's follow-ups from a month
    ago to a year ahead. No session: the secret address is the key."""
    feed = CalendarFeed.objects.select_related("user__organisation").filter(token=token).first()
    user = feed.user if feed else None
    if user is None or not user.is_active or not user.can(Capability.PATIENT_VIEW):
        raise Http404
    now = timezone.now()
    follow_ups = scope_to_organisation(FollowUp.objects.select_related("patient"), user).filter(
        assigned_to=user,
        due_at__gte=now - datetime.timedelta(days=FEED_PAST_DAYS),
        due_at__lt=now + datetime.timedelta(days=FEED_AHEAD_DAYS),
    )
    follow_ups = follow_ups.exclude(status=FollowUpStatus.CANCELLED).order_by("due_at")
    audit_record(
        actor=None, action=AuditAction.VIEW, organisation_id=user.organisation_id, username=user.get_username(),
        ip_address=request.META.get("REMOTE_ADDR"), changes={"calendar_feed": ["", "fetched"]},
    )  # fmt: skip
    name = f"MTM follow-ups ({user.get_full_name() or user.username})"
    return HttpResponse(calendar_ics(follow_ups, name=name), content_type="text/calendar")


@requires(Capability.PORTAL)
def portal_appointment_ics(request, follow_up_id):
    """A patient adds one of their appointments to their own calendar."""
    patient = patient_selectors.portal_patient(user=request.user)
    follow_up = next((f for f in selectors.patient_appointments(patient) if f.pk == follow_up_id), None)
    if follow_up is None:
        raise Http404
    follow_up.patient, follow_up.organisation = patient, patient.organisation
    response = HttpResponse(
        calendar_ics([follow_up], name=patient.organisation.name, for_patient=True),
        content_type="text/calendar",
    )
    response["Content-Disposition"] = f'attachment; filename="appointment-{follow_up.due_at:%Y%m%d}.ics"'
    return response


# --- Today: where each role starts the day -----------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def today_page(request):
    """The work waiting for the user: a pharmacist's open reviews, summaries to deliver, answers
    overdue and follow-ups; the staff's queue, letters to fax and answers to record; the
    organisation's figures for an admin."""
    user = request.user
    day = selectors.local_today(user)
    context = {
        "today": day,
        "next": request.get_full_path(),
        "can_manage": _can_manage(request),
        "show_patient": True,
    }
    if user.role == Role.PHARMACIST:
        context["mine"] = today.pharmacist_day(user=user, today=day)
    elif user.role == Role.STAFF:
        context["desk"] = today.staff_day(user=user, today=day)
    else:
        context["figures"] = today.organisation_figures(user=user, today=day)
    return render(request, "followups/today.html", context)
