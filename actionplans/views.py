"""The action plan editor (pharmacists), issued documents (staff), and the patient portal."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from actionplans import selectors, services
from actionplans.documents import render_summary_html
from actionplans.forms import EducationForm, IssueForm, PlanForm, TopicForm
from actionplans.models import ActionPlan, DownloadLink, IssuedDocument
from followups import selectors as followup_selectors
from mtm.audit import actor_from_request, audit_record, client_ip
from mtm.decorators import requires
from mtm.forms import run_service
from mtm.models import AuditAction
from mtm.permissions import Capability
from patients.selectors import portal_patient
from reviews import selectors as review_selectors


def _plan_page(request, review, plan, *, status=200, **forms):
    topics = list(plan.topics.all()) if plan else []
    context = {
        "review": review,
        "patient": review.patient,
        "plan": plan,
        "plan_form": forms.get("plan_form") or (PlanForm(instance=plan) if plan else None),
        "topic_forms": [
            (
                topic,
                forms.get("topic_forms", {}).get(topic.pk)
                or TopicForm(instance=topic, prefix=f"t-{topic.pk}"),
            )
            for topic in topics
        ],
        "new_topic_form": forms.get("new_topic_form") or TopicForm(prefix="new"),
        "education_forms": [
            (
                entry,
                forms.get("education_forms", {}).get(entry.pk)
                or EducationForm(instance=entry, prefix=f"e-{entry.pk}"),
            )
            for entry in (plan.education.all() if plan else [])
        ],
        "issue_form": forms.get("issue_form") or IssueForm(),
        "documents": IssuedDocument.objects.filter(review=review)
        .defer("pdf", "snapshot")
        .select_related("issued_by"),
    }
    return render(request, "actionplans/plan_edit.html", context, status=status)


@requires(Capability.REVIEW_CONDUCT)
def plan_edit(request, review_id):
    """GET: the plan (or the offer to prepare it); POST `action` = prepare | plan | topic | add |
    education | education-sync | issue | email."""
    review = review_selectors.review_get(user=request.user, review_id=review_id)
    plan = ActionPlan.objects.filter(review=review).first()
    by = actor_from_request(request)
    if request.method != "POST":
        audit_record(actor=by, action=AuditAction.VIEW, patient_id=review.patient_id, obj=plan or review)
        return _plan_page(request, review, plan)
    action = request.POST.get("action")
    if action == "prepare":
        try:
            services.plan_prepare(review=review, by=by)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("plan_edit", review_id=review.pk)
    if plan is None:
        raise Http404
    if action == "plan":
        form = PlanForm(request.POST, instance=ActionPlan.objects.get(pk=plan.pk))
        status = run_service(form, lambda: services.plan_update(
            plan=plan, data=form.data_for_service(), version=form.cleaned_data["version"], by=by))  # fmt: skip
        forms = {"plan_form": form}
    elif action == "topic":
        topic = get_object_or_404(plan.topics, pk=request.POST.get("topic"))
        form = TopicForm(request.POST, instance=plan.topics.get(pk=topic.pk), prefix=f"t-{topic.pk}")
        status = run_service(form, lambda: services.topic_update(
            topic=topic, data=form.data_for_service(), version=form.cleaned_data["version"], by=by))  # fmt: skip
        forms = {"topic_forms": {topic.pk: form}}
    elif action == "add":
        form = TopicForm(request.POST, prefix="new")
        status = run_service(form, lambda: services.topic_add(plan=plan, data=form.data_for_service(), by=by))
        forms = {"new_topic_form": form}
    elif action == "education":
        entry = get_object_or_404(plan.education, pk=request.POST.get("entry"))
        form = EducationForm(request.POST, instance=plan.education.get(pk=entry.pk), prefix=f"e-{entry.pk}")
        status = run_service(form, lambda: services.education_update(
            entry=entry, data=form.data_for_service(), version=form.cleaned_data["version"], by=by))  # fmt: skip
        forms = {"education_forms": {entry.pk: form}}
    elif action == "education-sync":
        added = services.education_sync(plan=plan, by=by)
        messages.success(
            request,
            f"{added} medicine(s) added to “About my medicines”."
            if added
            else "Every active medication already has an entry.",
        )
        return redirect("plan_edit", review_id=review.pk)
    elif action == "email":
        document = get_object_or_404(
            IssuedDocument.objects.filter(review=review), pk=request.POST.get("document")
        )
        try:
            link = services.download_link_send(
                document=document, by=by, base_url=request.build_absolute_uri("/")
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"A download link valid until {link.expires_at:%m/%d/%Y} is on its way to {link.email}.",
            )
        return redirect("plan_edit", review_id=review.pk)
    elif action == "issue":
        form = IssueForm(request.POST)
        status = run_service(form, lambda: services.document_issue(
            plan=plan, by=by, today=timezone.localdate(), reason=form.cleaned_data["reason"],
            large_print=form.cleaned_data["large_print"]))  # fmt: skip
        forms = {"issue_form": form}
    else:
        raise Http404
    if status == 200:
        return redirect("plan_edit", review_id=review.pk)
    return _plan_page(request, review, plan, status=status, **forms)


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
        font_dir=static("fonts"),
        print_view={
            "label": f"Written summary, version {document.number}, issued {issued:%m/%d/%Y}"
            + ("" if document.is_current else " (replaced by a later version)"),
            "pdf_url": reverse("document_download", args=[document.pk]),
            "back_url": reverse("plan_edit", args=[document.review_id]),
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
    DownloadLink.objects.filter(pk=link.pk).update(downloads=F("downloads") + 1)
    audit_record(
        actor=None, action=AuditAction.VIEW, organisation_id=link.document.patient.organisation_id,
        patient_id=link.document.patient_id, obj=link.document, username="emailed download link",
        changes={"download": [None, f"version {link.document.number} by emailed link"]}, ip_address=client_ip(request),
    )  # fmt: skip
    return _pdf_response(link.document)
