"""The action plan editor (pharmacists), issued documents (staff), and the patient portal."""

import uuid

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from actionplans import selectors, services
from actionplans.documents import render_summary_html
from actionplans.forms import IssueForm, PlanEditor
from actionplans.models import ActionPlan, DownloadLink, IssuedDocument, Topic
from actionplans.texts import language_for
from actionplans.wording import GRADE_AIM, readability
from followups import selectors as followup_selectors
from mtm.audit import actor_from_request, audit_record, client_ip
from mtm.decorators import requires
from mtm.fonts import browser_fonts
from mtm.models import AuditAction
from mtm.permissions import Capability
from patients.models import MedicationStatus
from patients.selectors import portal_patient
from reviews import selectors as review_selectors


def _plan_page(request, review, plan, *, editor: PlanEditor | None = None, status=200):
    """The editor: one form for the whole page. `editor` bound to what was sent, on an error."""
    if plan is None:
        return render(
            request,
            "actionplans/plan_edit.html",
            {"review": review, "patient": review.patient},
            status=status,
        )
    editor = editor or PlanEditor(plan, topics=selectors.plan_topics(plan), medications=_stoppable(plan))
    topics = editor.topics
    meds = selectors.plan_medications(plan, topics)
    medications = list(meds.all.values())
    check = selectors.plan_issue_check(plan=plan, topics=topics, meds=meds)
    stopped_by_plan = meds.stopped_by_plan
    language = language_for(plan.patient.preferred_language)
    topic_rows = []
    for number, (topic, form) in enumerate(zip(topics, editor.topic_forms, strict=True), start=1):
        words = f"{form['talked_about'].value() or ''}\n{form['to_do'].value() or ''}"
        ticked = {str(pk) for pk in form["stops"].value() or []}
        topic_rows.append({
            "number": number, "topic": topic, "form": form, "readability": readability(words, language=language),
            "stopping": [m.display_name for m in medications if str(m.pk) in ticked],
            "problem": topic.recommendation.problem if topic.recommendation else None,
            "blockers": {name: check.for_topic(topic.pk, name) for name in ("talked_about", "to_do", "stops")},
        })  # fmt: skip
    context = {
        "review": review,
        "patient": review.patient,
        "plan": plan,
        "editor": editor,
        "check": check,
        "topic_rows": topic_rows,
        "grade_aim": GRADE_AIM,
        "education_rows": [
            (form.instance, form, not _printable(form.instance, stopped_by_plan))
            for form in editor.education_forms
        ],
        "medication_list": [
            {"medication": m, "agreed": m.pk in meds.agreed, "stopped_by_plan": m.pk in stopped_by_plan}
            for m in medications
            if m.status == MedicationStatus.ACTIVE or m.pk in stopped_by_plan
        ],
        "documents": IssuedDocument.objects.filter(review=review)
        .defer("pdf", "snapshot")
        .select_related("issued_by"),
    }
    return render(request, "actionplans/plan_edit.html", context, status=status)


def _stoppable(plan):
    """What a topic may tell the patient to stop: the active medications, and any already stopped
    that a topic of this plan names (so that unticking it stays possible)."""
    return plan.patient.medications.filter(
        Q(status=MedicationStatus.ACTIVE)
        | Q(pk__in=Topic.stops.through.objects.filter(topic__plan=plan).values("medicationentry_id"))
    ).order_by("status", Lower("name"))


def _printable(entry, stopped_by_plan: set) -> bool:
    """An entry about a medication the plan stops (or the record shows stopped) is never printed."""
    return entry.medication.status == MedicationStatus.ACTIVE and entry.medication_id not in stopped_by_plan


@requires(Capability.REVIEW_CONDUCT)
def plan_edit(request, review_id):
    """GET: the editor (or the offer to prepare the plan). POST: `action` prepare, or the editor's
    one form: everything on the page is saved first (all or nothing), then `action` (save | issue |
    education-sync | email:<document>) or `resolve` (one click on a contradiction) is done."""
    review = review_selectors.review_get(user=request.user, review_id=review_id)
    plan = ActionPlan.objects.filter(review=review).select_related("patient").first()
    by = actor_from_request(request)
    if request.method != "POST":
        audit_record(actor=by, action=AuditAction.VIEW, patient_id=review.patient_id, obj=plan or review)
        return _plan_page(request, review, plan)
    action = request.POST.get("action", "save")
    if action == "prepare":
        try:
            services.plan_prepare(review=review, by=by)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("plan_edit", review_id=review.pk)
    if plan is None:
        raise Http404
    editor = PlanEditor(
        plan, topics=selectors.plan_topics(plan), medications=_stoppable(plan), data=request.POST
    )
    if not editor.is_valid():
        return _plan_page(request, review, plan, editor=editor, status=422)
    try:
        services.plan_save(plan=plan, edits=editor.edits(), by=by)
    except services.PlanConflict as conflict:
        editor.show_conflict(conflict, saved_by=selectors.last_saved_by)
        return _plan_page(request, review, plan, editor=editor, status=409)
    except ValidationError as error:
        editor.errors_above = error.messages
        return _plan_page(request, review, plan, editor=editor, status=422)
    plan.refresh_from_db()
    if request.POST.get("resolve"):
        return _resolve(request, plan, request.POST["resolve"], by)
    if action == "issue":
        return _issue(request, review, plan, editor.issue_form, by)
    if action == "education-sync":
        added = services.education_sync(plan=plan, by=by)
        messages.success(
            request,
            f"Saved. {added} medicine(s) added to “About my medicines”."
            if added
            else "Saved. Every active medication already has an entry.",
        )
        return redirect("plan_edit", review_id=review.pk)
    if action.startswith("email:"):
        return _email(request, review, action.partition(":")[2], by)
    messages.success(request, "Saved.")
    return redirect("plan_edit", review_id=review.pk)


def _issue(request, review, plan, issue_form: IssueForm, by):
    started = timezone.now()
    try:
        document = services.document_issue(
            plan=plan, by=by, today=timezone.localdate(), reason=issue_form.cleaned_data["reason"],
            large_print=issue_form.cleaned_data["large_print"],
        )  # fmt: skip
    except ValidationError as error:
        editor = PlanEditor(plan, topics=selectors.plan_topics(plan), medications=_stoppable(plan))
        editor.issue_form = IssueForm(request.POST, prefix="issue")
        editor.issue_form.is_valid()
        editor.issue_form.add_error(None, "Your changes were saved, but the summary was not issued:")
        editor.show_service_error(error)
        return _plan_page(request, review, plan, editor=editor, status=422)
    if document.issued_at >= started:
        messages.success(request, f"Saved and issued: version {document.number}.")
    else:
        messages.success(
            request, f"Saved. Nothing changed since version {document.number}: it is still the current one."
        )
    return redirect("plan_edit", review_id=review.pk)


def _resolve(request, plan, resolve: str, by):
    """One click on a contradiction: agree:<medication>[:<topic>] | record-stop:<medication>[:<topic>] |
    unstop:<medication>:<topic> | unagree:<medication>."""
    kind, _, rest = resolve.partition(":")
    medication_id, _, topic_id = rest.partition(":")
    try:
        medication = get_object_or_404(plan.patient.medications, pk=uuid.UUID(medication_id))
        topic_id = uuid.UUID(topic_id) if topic_id else None
    except ValueError:
        raise Http404 from None
    name = medication.display_name
    try:
        if kind == "agree":
            services.plan_stop_agree(plan=plan, medication=medication, topic_id=topic_id, by=by)
            done = f"The medication list shows {name} as “Stop as agreed with your doctor”."
        elif kind == "record-stop":
            services.plan_medication_stop(
                plan=plan, medication=medication, on=timezone.localdate(), topic_id=topic_id, by=by
            )
            done = f"{name} is recorded as stopped today; the medication list shows it stopped."
        elif kind == "unstop" and topic_id:
            services.topic_stop_remove(plan=plan, topic_id=topic_id, medication=medication, by=by)
            done = f"The topic no longer stops {name}."
        elif kind == "unagree":
            services.plan_stop_unagree(plan=plan, medication=medication, by=by)
            done = f"The medication list no longer shows {name} as “Stop as agreed with your doctor”."
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, "Saved, but: " + " ".join(error.messages))
    else:
        messages.success(request, f"Saved. {done}")
    return redirect("plan_edit", review_id=plan.review_id)


def _email(request, review, document_id: str, by):
    try:
        document = get_object_or_404(IssuedDocument.objects.filter(review=review), pk=uuid.UUID(document_id))
    except ValueError:
        raise Http404 from None
    try:
        link = services.download_link_send(document=document, by=by, base_url=request.build_absolute_uri("/"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Saved. A download link valid until {link.expires_at:%m/%d/%Y} is on its way to {link.email}.",
        )
    return redirect("plan_edit", review_id=review.pk)


def _pdf_response(document: IssuedDocument) -> HttpResponse:
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    name = f"medication-review-summary-v{document.number}-{document.issued_at:%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-SHA256"] = document.sha256
    return response


@requires(Capability.REVIEW_VIEW)
def document_download(request, document_id):
    document = selectors.document_get(user=request.user, document_id=document_id)
    audit_record(
        actor=actor_from_request(request),
        action=AuditAction.VIEW,
        patient_id=document.patient_id,
        obj=document,
    )
    return _pdf_response(document)


@requires(Capability.REVIEW_VIEW)
# The page is the PDF's own HTML (shared with WeasyPrint), laid out with style attributes: the one
# page whose policy allows inline styles. Scripts stay our own files only.
@csp_update({"style-src": [UNSAFE_INLINE]})
def document_print(request, document_id):
    """The issued version as a page to print at the counter, exactly as frozen (its snapshot)."""
    document = selectors.document_get(user=request.user, document_id=document_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=document.patient_id, obj=document,
        changes={"print view": [None, f"version {document.number}"]},
    )  # fmt: skip
    issued = timezone.localtime(document.issued_at)
    html = render_summary_html(
        document.snapshot,
        large_print=document.large_print,
        fonts=browser_fonts(),
        print_view={
            "label": f"Written summary, version {document.number}, issued {issued:%m/%d/%Y}"
            + ("" if document.is_current else " (replaced by a later version)"),
            "pdf_url": reverse("document_download", args=[document.pk]),
            "back_url": reverse("plan_edit", args=[document.review_id]),
            "script_url": static("js/print.js"),
        },
    )
    return HttpResponse(html)


# --- The patient portal ------------------------------------------------------------------------


@requires(Capability.PORTAL)
def portal_home(request):
    """A patient user's own page: their issued documents, newest first."""
    patient = portal_patient(user=request.user)
    documents = selectors.portal_documents(user=request.user)
    appointments = followup_selectors.patient_appointments(patient)
    return render(
        request,
        "actionplans/portal_home.html",
        {"patient": patient, "documents": documents, "appointments": appointments},
    )


@requires(Capability.PORTAL)
def portal_download(request, document_id):
    document = selectors.portal_document_get(user=request.user, document_id=document_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=document.patient_id, obj=document,
        changes={"download": [None, f"version {document.number} (portal)"]},
    )  # fmt: skip
    return _pdf_response(document)


def download_link(request, token):
    """The emailed link: no sign-in, this one document only, until it expires."""
    link = get_object_or_404(DownloadLink.objects.select_related("document"), token=token)
    if link.expires_at <= timezone.now():
        return render(
            request,
            "actionplans/link_expired.html",
            {"organisation": link.document.patient.organisation},
            status=410,
        )
    document = link.document
    if not document.is_current:
        # Corrected since the email went: say so, and offer the current version, never the old one silently.
        current = IssuedDocument.objects.filter(review_id=document.review_id, superseded_at=None).first()
        if current is not None and request.GET.get("version") != "current":
            return render(
                request, "actionplans/link_replaced.html",
                {"sent": document, "current": current, "organisation": document.patient.organisation},
            )  # fmt: skip
        document = current or document
    DownloadLink.objects.filter(pk=link.pk).update(downloads=F("downloads") + 1)
    audit_record(
        actor=None, action=AuditAction.VIEW, organisation_id=document.patient.organisation_id,
        patient_id=document.patient_id, obj=document, username="emailed download link",
        changes={"download": [None, f"version {document.number} by emailed link"]}, ip_address=client_ip(request),
    )  # fmt: skip
    return _pdf_response(document)
