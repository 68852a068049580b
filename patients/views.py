"""Patient pages. Each section of the patient page is a fragment that htmx swaps in place:
the same view answers with the whole page or, for htmx, only the fragment."""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from interactions.selectors import medication_name_suggestions
from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.errors import EditConflict
from mtm.forms import add_service_errors, bad_query_response, run_service
from mtm.models import AuditAction, AuditEvent, User
from mtm.paging import CappedPaginator, page_of
from mtm.permissions import Capability
from patients import selectors, services
from patients.forms import AuditQuery, PatientForm, PrescriberForm
from patients.sections import SECTIONS, Section
from patients.validators import icd10cm_search

PATIENTS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 50


# --- Patient list and registration ------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def patient_list(request):
    """Search is a POST so that names and birth dates stay out of addresses and access logs."""
    query = request.POST.get("q", "").strip()
    page = CappedPaginator(
        selectors.patient_search(user=request.user, query=query), PATIENTS_PER_PAGE
    ).get_page(request.POST.get("page"))
    template = "patients/patient_list.html#results" if request.htmx else "patients/patient_list.html"
    return render(request, template, {"page": page, "query": query})


@requires(Capability.PATIENT_EDIT)
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST":
        created = []

        def run():
            created.append(
                services.patient_create(
                    organisation=request.user.organisation,
                    data=form.data_for_service(),
                    by=actor_from_request(request),
                )
            )

        status = run_service(form, run)
        if status == 200:
            # The form sent twice (a double click) registered one patient: the repeat finds them.
            if created:
                patient = created[0]
            else:
                form.is_valid()
                patient = selectors.patient_registered(user=request.user, data=form.cleaned_data)
            return redirect("patient_detail", patient_id=patient.pk)
        return render(request, "patients/patient_create.html", {"form": form}, status=status)
    return render(request, "patients/patient_create.html", {"form": form})


# --- The patient page -----------------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def patient_detail(request, patient_id):
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=patient.pk, obj=patient
    )
    record = selectors.patient_record(patient=patient)
    saved_section = request.session.pop(SAVED_SECTION_KEY, None)
    reviews = list(patient.reviews.select_related("pharmacist").order_by("-created_at"))
    # Scheduled follow-ups soonest first, then the history latest first: one query, sorted here.
    follow_ups = list(patient.follow_ups.select_related("assigned_to").order_by("-due_at"))
    for follow_up in follow_ups:
        follow_up.patient = patient  # the rows name their patient: this one, not read again with each
    scheduled = [follow_up for follow_up in follow_ups if follow_up.status == "scheduled"]
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "record": record,
            "screening": selectors.patient_screening(record, today=timezone.localdate()),
            "sections": {slug.replace("-", "_"): section for slug, section in SECTIONS.items()},
            # {"medications": True} after a save without JavaScript: that section says "Saved."
            "saved_sections": {saved_section.replace("-", "_"): True} if saved_section else {},
            "can_edit": request.user.can(Capability.PATIENT_EDIT),
            # No row is being edited or ended, no section adds: said once, not looked up in vain per row.
            "editing_id": None,
            "ending_id": None,
            "add_form": None,
            # Reviews live in the reviews app, which builds on this one: read through the relation.
            "reviews": reviews,
            "open_review": any(review.status != "completed" for review in reviews),
            # Follow-ups too (followups app): scheduled ones soonest first, then the history.
            "follow_ups": [
                *reversed(scheduled),
                *(follow_up for follow_up in follow_ups if follow_up.status != "scheduled"),
            ],
        },
    )


@requires(Capability.PATIENT_VIEW)
def patient_details(request, patient_id):
    """The demographics card: shown, opened for editing (?edit=1), saved."""
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    editing = request.method == "POST" or request.GET.get("edit") == "1"
    if editing and not request.user.can(Capability.PATIENT_EDIT):
        raise PermissionDenied
    form = PatientForm(request.POST or None, instance=patient) if editing else None
    status = 200
    saved = False
    if request.method == "POST":
        if form.is_valid():
            try:
                services.patient_update(
                    patient=selectors.patient_get(user=request.user, patient_id=patient_id),
                    data=form.data_for_service(),
                    version=form.cleaned_data["version"],
                    by=actor_from_request(request),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            except EditConflict as conflict:
                form.add_error(None, str(conflict))
                status = 409
            else:
                patient.refresh_from_db()
                form = None
                saved = True
        if form is not None and form.errors:
            status = status if status == 409 else 422
    return _render_fragment(
        request,
        "patients/_patient_details.html",
        {
            "patient": patient,
            "form": form,
            "saved": saved,
            "can_edit": request.user.can(Capability.PATIENT_EDIT),
        },
        status=status,
    )


@requires(Capability.PATIENT_VIEW)
def patient_screening(request, patient_id):
    """The screening panel, refreshed by htmx whenever a section of the record changes."""
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    record = selectors.patient_record(patient=patient)
    screening = selectors.patient_screening(record, today=timezone.localdate())
    return render(request, "patients/_screening.html", {"patient": patient, "screening": screening})


@requires(Capability.PATIENT_VIEW)
def finding_explanation(request, patient_id):
    """One finding's explanation (why, what to do, what can happen, sources), `?id=` its id: the
    patient page and the review workspace send a folded finding's explanation when it is opened.
    Without JavaScript, opening it shows a link to this as a page."""
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    screening = selectors.patient_screening(
        selectors.patient_record(patient=patient), today=timezone.localdate()
    )
    finding = next((f for f in screening.findings if f["id"] == request.GET.get("id")), None)
    if finding is None:
        raise Http404("That finding is no longer on the screening (the list may have changed).")
    template = "patients/_finding_explanation.html" if request.htmx else "patients/finding_page.html"
    return render(request, template, {"patient": patient, "finding": finding})


@requires(Capability.PATIENT_VIEW)
def patient_history(request, patient_id):
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    page = Paginator(selectors.patient_changes(patient=patient), AUDIT_EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "patients/patient_history.html", {"patient": patient, "page": page})


# --- Editable sections: add, edit, end (stop / resolve / no longer applies) -------------------


def _section(slug: str) -> Section:
    try:
        return SECTIONS[slug]
    except KeyError:
        raise Http404 from None


def _form_kwargs(section: Section, request, patient) -> dict:
    if section.slug in {"medications", "care-team"}:
        return {"prescribers": selectors.prescribers_visible_to(request.user)}
    if section.slug == "fills":
        return {"medications": patient.medications.order_by("status", "name")}
    return {}


# Without JavaScript a save comes back to the patient page, which says "Saved." in that section.
SAVED_SECTION_KEY = "patients:saved-section"


def _render_fragment(request, template: str, context: dict, *, status: int = 200):
    """htmx gets the fragment. Without htmx (no JavaScript, or a link opened in a new tab) a
    save goes back to the patient page, at the section saved, and a form is shown on a page of
    its own."""
    patient = context["patient"]
    if request.htmx:
        response = render(request, template, context, status=status)
        if context.get("saved"):
            response["HX-Trigger"] = "record-changed"  # the screening panel listens
        return response
    if context.get("saved"):
        slug = context["section"].slug if "section" in context else "details"
        request.session[SAVED_SECTION_KEY] = slug
        return redirect(reverse("patient_detail", args=[patient.pk]) + f"#section-{slug}")
    return render(request, "patients/fragment_page.html", {**context, "fragment": template}, status=status)


def _render_section(request, section: Section, patient, *, status=200, **state):
    context = {
        "patient": patient,
        "section": section,
        "can_edit": request.user.can(Capability.PATIENT_EDIT),
        **section.context(patient),
        **state,
    }
    return _render_fragment(request, section.template, context, status=status)


def _save(form, save) -> tuple[bool, int]:
    """Run a service for a valid form; put its errors on the form. Returns (saved, status)."""
    status = run_service(form, save)
    return status == 200, status


@requires(Capability.PATIENT_VIEW)
def section_show(request, patient_id, section_slug):
    section = _section(section_slug)
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    return _render_section(request, section, patient)


@requires(Capability.PATIENT_EDIT)
def section_add(request, patient_id, section_slug):
    section = _section(section_slug)
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    form = section.form(
        request.POST or None,
        instance=section.model(patient=patient),
        **_form_kwargs(section, request, patient),
    )
    if request.method == "POST":
        saved, status = _save(form, lambda: section.add(patient, form, actor_from_request(request)))
        if saved:
            return _render_section(request, section, patient, saved=True)
        return _render_section(request, section, patient, add_form=form, status=status)
    return _render_section(request, section, patient, add_form=form)


@requires(Capability.PATIENT_EDIT)
def section_edit(request, patient_id, section_slug, record_id):
    section = _section(section_slug)
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    record = selectors.record_get(patient=patient, model=section.model, record_id=record_id)
    form = section.form(request.POST or None, instance=record, **_form_kwargs(section, request, patient))
    if request.method == "POST":
        fresh = selectors.record_get(patient=patient, model=section.model, record_id=record_id)
        saved, status = _save(
            form,
            lambda: section.update(fresh, form, form.cleaned_data["version"], actor_from_request(request)),
        )
        if saved:
            return _render_section(request, section, patient, saved=True)
        return _render_section(request, section, patient, edit_form=form, editing_id=record.pk, status=status)
    return _render_section(request, section, patient, edit_form=form, editing_id=record.pk)


@requires(Capability.PATIENT_EDIT)
def section_end(request, patient_id, section_slug, record_id):
    section = _section(section_slug)
    if section.end is None:
        raise Http404
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    record = selectors.record_get(patient=patient, model=section.model, record_id=record_id)
    form = section.end_form(request.POST or None, instance=record)
    if request.method == "POST":
        fresh = selectors.record_get(patient=patient, model=section.model, record_id=record_id)
        saved, status = _save(
            form, lambda: section.end(fresh, form, form.cleaned_data["version"], actor_from_request(request))
        )
        if saved:
            return _render_section(request, section, patient, saved=True)
        return _render_section(request, section, patient, end_form=form, ending_id=record.pk, status=status)
    return _render_section(request, section, patient, end_form=form, ending_id=record.pk)


@requires(Capability.PATIENT_EDIT)
def icd10_options(request):
    """<option>s for the condition form's code field: codes or descriptions matching what is typed."""
    matches = icd10cm_search(request.GET.get("icd10_code", ""))
    return render(request, "patients/_icd10_options.html", {"matches": matches})


@requires(Capability.PATIENT_EDIT)
def medication_names(request):
    """<option>s for the medication name field: names the drug knowledge base recognises."""
    suggestions = medication_name_suggestions(request.GET.get("name", ""))
    return render(request, "patients/_name_options.html", {"suggestions": suggestions})


# --- Audit trail (organisation admins) --------------------------------------------------------


def _audit_filter(query: AuditQuery, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    filters = query.cleaned_data
    if filters["patient"]:
        events = events.filter(patient_id=filters["patient"])
    if filters["user"]:
        events = events.filter(actor_username=filters["user"])
    if filters["action"]:
        events = events.filter(action=filters["action"])
    # Days in the organisation's time zone, as a range of `at` (the index's column, not a date of it).
    zone = timezone.get_current_timezone()
    if filters["since"]:
        events = events.filter(
            at__gte=datetime.datetime.combine(filters["since"], datetime.time(), tzinfo=zone)
        )
    if filters["until"]:
        next_day = filters["until"] + datetime.timedelta(days=1)
        events = events.filter(at__lt=datetime.datetime.combine(next_day, datetime.time(), tzinfo=zone))
    return events


@requires(Capability.AUDIT_VIEW)
def audit_log(request):
    users = User.objects.filter(organisation_id=request.user.organisation_id).order_by("username")
    query = AuditQuery(request.GET, usernames=[user.username for user in users])
    if not query.is_valid():
        return bad_query_response(
            request,
            title="Audit trail",
            errors=query.query_errors(),
            start_again=("Open the whole audit trail", request.path),
        )
    events = AuditEvent.objects.filter(organisation_id=request.user.organisation_id).select_related("actor")
    events = _audit_filter(query, events)
    page = page_of(request, events, per_page=AUDIT_EVENTS_PER_PAGE)
    patient_ids = {event.patient_id for event in page if event.patient_id}
    patients = {p.pk: p for p in selectors.patients_visible_to(request.user).filter(pk__in=patient_ids)}
    for event in page:
        event.patient = patients.get(event.patient_id)
    # As typed, to fill the filter form and the pages' links again.
    filters = {
        key: request.GET.get(key, "").strip() for key in ("patient", "user", "action", "since", "until")
    }
    return render(
        request,
        "patients/audit_log.html",
        {"page": page, "filters": filters, "actions": AuditAction.choices, "users": users},
    )


# --- Patient portal -----------------------------------------------------------------------------


# --- Prescriber directory ------------------------------------------------------------------------


@requires(Capability.PATIENT_VIEW)
def prescriber_list(request):
    prescribers = selectors.prescribers_visible_to(request.user).annotate(
        patient_count=Count("care_team_memberships")
    )
    return render(
        request,
        "patients/prescriber_list.html",
        {"prescribers": prescribers, "can_edit": request.user.can(Capability.PRESCRIBER_EDIT)},
    )


@requires(Capability.PRESCRIBER_EDIT)
def prescriber_edit(request, prescriber_id):
    prescriber = selectors.prescriber_get(user=request.user, prescriber_id=prescriber_id)
    form = PrescriberForm(
        request.POST or None,
        instance=selectors.prescriber_get(user=request.user, prescriber_id=prescriber_id),
    )
    status = 200
    if request.method == "POST":
        saved, status = _save(
            form,
            lambda: services.prescriber_update(
                prescriber=prescriber,
                data=form.data_for_service(),
                version=form.cleaned_data["version"],
                by=actor_from_request(request),
            ),
        )
        if saved:
            messages.success(request, f"{prescriber} saved.")
            return redirect("prescriber_list")
    return render(
        request, "patients/prescriber_form.html", {"form": form, "prescriber": prescriber}, status=status
    )
