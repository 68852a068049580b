"""The FHIR import pages: upload, the worker's progress, then the preview to accept line by line."""

import json
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.models import AuditAction
from mtm.permissions import Capability
from patients import selectors
from patients.interop import fhir_import, fhir_write, fills
from patients.interop.forms import FhirImportForm, FillImportForm
from patients.models import ImportStatus, LineAction, LineDecision

RECENT = 30


def _upload(request, *, target_patient=None):
    """The upload form, or (when it was sent and accepted) the redirect to the new import's page."""
    form = FhirImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = [(f.name, f.read()) for f in form.cleaned_data["files"]]
        try:
            job = fhir_import.fhir_import_request(
                user=request.user, files=files, source_system=form.cleaned_data["source_system"],
                by=actor_from_request(request), target_patient=target_patient,
            )  # fmt: skip
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("fhir_import_detail", import_id=job.pk)
    return form


@requires(Capability.PATIENT_EDIT)
def import_list(request):
    form = _upload(request)
    if not isinstance(form, FhirImportForm):
        return form
    imports = fhir_import.imports_visible_to(request.user).order_by("-created_at")[:RECENT]
    status = 400 if form.errors else 200
    return render(
        request, "patients/imports/import_list.html", {"form": form, "imports": imports}, status=status
    )


@requires(Capability.PATIENT_EDIT)
def patient_import(request, patient_id):
    """The same upload, from a patient's page: resources without a Patient of their own are theirs."""
    patient = selectors.patient_get(user=request.user, patient_id=patient_id)
    form = _upload(request, target_patient=patient)
    if not isinstance(form, FhirImportForm):
        return form
    status = 400 if form.errors else 200
    return render(
        request, "patients/imports/import_list.html", {"form": form, "patient": patient}, status=status
    )


def _job(request, import_id):
    return get_object_or_404(fhir_import.imports_visible_to(request.user), pk=import_id)


@requires(Capability.PATIENT_EDIT)
def import_detail(request, import_id):
    job = _job(request, import_id)
    if request.htmx and request.GET.get("status"):
        if job.status in (ImportStatus.QUEUED, ImportStatus.READING):
            return render(request, "patients/imports/_status.html", {"job": job})
        response = render(request, "patients/imports/_status.html", {"job": job})
        response["HX-Refresh"] = "true"  # read: the whole page, with the lines to review
        return response
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, organisation_id=request.user.organisation_id,
        obj=job,
    )  # fmt: skip
    patients = []
    for import_patient in job.patients.select_related("patient").prefetch_related("lines"):
        lines = list(import_patient.lines.all())
        patients.append({
            "entry": import_patient,
            "pending": [line for line in lines if line.decision == LineDecision.PENDING],
            "done": [line for line in lines if line.decision != LineDecision.PENDING and line.action != LineAction.SAME],
            "same": sum(1 for line in lines if line.action == LineAction.SAME),
            "needs_confirmation": not import_patient.confirmed,
        })  # fmt: skip
    return render(request, "patients/imports/import_detail.html", {"job": job, "patients": patients})


@requires(Capability.PATIENT_EDIT)
def import_decide(request, import_id):
    job = _job(request, import_id)
    if request.method != "POST":
        return redirect("fhir_import_detail", import_id=job.pk)
    action = request.POST.get("action", "")
    line_ids = [value for value in request.POST.getlist("line") if _is_uuid(value)]
    by = actor_from_request(request)
    if action == "decline":
        count = fhir_import.import_lines_decline(job=job, line_ids=line_ids, by=by)
        messages.success(
            request, f"{count} line{'s' if count != 1 else ''} declined: nothing written for them."
        )
    elif action in ("accept", "accept-all"):
        if action == "accept" and not line_ids:
            messages.error(request, "Tick the lines to accept first (or use “Accept all”).")
            return redirect("fhir_import_detail", import_id=job.pk)
        result = fhir_import.import_lines_apply(
            job=job, line_ids=None if action == "accept-all" else line_ids, by=by
        )
        messages.success(request, f"{result['applied']} line{'s' if result['applied'] != 1 else ''} written.")
        for name, reason in result["reasons"].items():
            messages.error(request, f"Nothing written for {name}: {reason}")
    else:
        messages.error(request, "Choose what to do with the lines.")
    return redirect("fhir_import_detail", import_id=job.pk)


@requires(Capability.PATIENT_EDIT)
def import_confirm(request, import_id, import_patient_id):
    job = _job(request, import_id)
    import_patient = get_object_or_404(job.patients, pk=import_patient_id)
    if request.method == "POST":
        same = request.POST.get("same") == "yes"
        try:
            fhir_import.import_patient_confirm(import_patient=import_patient, same_person=same,
                                               by=actor_from_request(request))  # fmt: skip
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"{import_patient.name}: the same person as the record found." if same
                else f"{import_patient.name}: a new patient; the lines now add to a new record.",
            )  # fmt: skip
    return redirect("fhir_import_detail", import_id=job.pk)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- Export ------------------------------------------------------------------------------------------


def record_response(request, patient) -> HttpResponse:
    """The patient's record as a FHIR R4 Bundle to download; audited."""
    bundle = fhir_write.patient_bundle(patient)
    audit_record(
        actor=actor_from_request(request, via="api" if request.path.startswith("/api/") else "web"),
        action=AuditAction.VIEW, patient_id=patient.pk, obj=patient,
        changes={"export": ["", f"FHIR record ({len(bundle.get('entry', []))} resources)"]},
    )  # fmt: skip
    response = HttpResponse(json.dumps(bundle, indent=1), content_type="application/fhir+json")
    filename = fhir_write.bundle_filename(patient, timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@requires(Capability.PATIENT_VIEW)
def patient_record_fhir(request, patient_id):
    return record_response(request, selectors.patient_get(user=request.user, patient_id=patient_id))


@requires(Capability.PORTAL)
def portal_record_fhir(request):
    """The patient's own record (their right of access), from the portal."""
    return record_response(request, selectors.portal_patient(user=request.user))


# --- Fill files ----------------------------------------------------------------------------------------


@requires(Capability.PATIENT_EDIT)
def fill_import_list(request):
    form = FillImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = fills.fill_import_request(
                user=request.user, file_name=upload.name, content=upload.read(),
                identifier_system=form.cleaned_data["identifier_system"], mapping_text=form.cleaned_data["mapping"],
                by=actor_from_request(request),
            )  # fmt: skip
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            return redirect("fill_import_detail", import_id=job.pk)
    jobs = (
        fills.fill_imports_visible_to(request.user)
        .defer("content", "errors_csv")
        .order_by("-created_at")[:RECENT]
    )
    return render(request, "patients/imports/fill_import_list.html", {"form": form, "jobs": jobs},
                  status=400 if form.errors else 200)  # fmt: skip


@requires(Capability.PATIENT_EDIT)
def fill_import_detail(request, import_id):
    job = get_object_or_404(
        fills.fill_imports_visible_to(request.user).defer("content", "errors_csv"), pk=import_id
    )
    template = (
        "patients/imports/_fill_status.html" if request.htmx else "patients/imports/fill_import_detail.html"
    )
    return render(request, template, {"job": job})


@requires(Capability.PATIENT_EDIT)
def fill_import_errors(request, import_id):
    job = get_object_or_404(fills.fill_imports_visible_to(request.user), pk=import_id)
    audit_record(actor=actor_from_request(request), action=AuditAction.VIEW, organisation_id=request.user.organisation_id,
                 obj=job, changes={"download": ["", "refused rows"]})  # fmt: skip
    response = HttpResponse(bytes(job.errors_csv or b"line,column,value,reason\r\n"), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="refused-rows-{job.created_at:%Y%m%d-%H%M}.csv"'
    return response
