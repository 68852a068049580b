import sys

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.cache import never_cache

from mtm import exports, second_factor, services
from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.errors import EditConflict
from mtm.forms import OrganisationForm, TeamMemberForm, run_service
from mtm.models import AuditAction, ExportStatus, Organisation, User
from mtm.permissions import Capability, Role


@login_required
def home(request):
    if request.user.can(Capability.PORTAL):
        return redirect("portal")
    if request.user.can(Capability.PATIENT_VIEW):
        return redirect("today")
    return redirect("password_change")


@never_cache
def healthz(request):
    """For load balancers and docker-compose: the app answers and its database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


DATABASE_AWAY = (
    "We could not reach the database just now, so nothing was saved from this request. "
    "Wait a moment and try again: what you saved before is safe."
)


def page_not_found(request, exception):
    """Django's 404 handler: the API answers in JSON, like its own 404s; pages as before."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "There is nothing at this address."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's 500 handler. A dropped or unreachable database is a "try again" (503): the request's
    transaction is rolled back with it, so nothing is half-saved. Rendered without the database."""
    if isinstance(sys.exception(), (OperationalError, InterfaceError)):
        if (
            request.path.startswith("/api/")
            or request.headers.get("HX-Request")
            or request.headers.get("X-MTM-Autosave")
        ):
            return JsonResponse({"detail": DATABASE_AWAY}, status=503, headers={"Retry-After": "5"})
        return HttpResponse(render_to_string("503.html", {"message": DATABASE_AWAY}), status=503,
                            headers={"Retry-After": "5"})  # fmt: skip
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    return HttpResponse(render_to_string("500.html"), status=500)


# --- The organisation's team (organisation admins) ---------------------------------------------


@requires(Capability.TEAM_MANAGE)
def team_list(request):
    members = User.objects.filter(organisation_id=request.user.organisation_id).exclude(role=Role.PATIENT)
    return render(
        request, "mtm/team_list.html", {"members": members.order_by("-is_active", "last_name", "username")}
    )


@requires(Capability.TEAM_MANAGE)
def team_add(request):
    form = TeamMemberForm(request.POST or None)
    if request.method == "POST":
        created = []

        def run():
            created.append(
                services.user_create(
                    organisation=request.user.organisation,
                    data=form.cleaned_data,
                    by=actor_from_request(request),
                    base_url=request.build_absolute_uri("/"),
                )
            )

        if run_service(form, run) == 200:
            for member in created:  # none when the form was sent twice: the first added them
                messages.success(
                    request,
                    f"{member.get_full_name() or member.username} was added; a sign-in link is on its way to {member.email}.",
                )
            return redirect("team_list")
    return render(
        request, "mtm/team_form.html", {"form": form, "adding": True}, status=422 if form.errors else 200
    )


@requires(Capability.TEAM_MANAGE)
def team_edit(request, user_id):
    member = get_object_or_404(
        User.objects.filter(organisation_id=request.user.organisation_id).exclude(role=Role.PATIENT),
        pk=user_id,
    )
    form = TeamMemberForm(request.POST or None, instance=User.objects.get(pk=member.pk))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "username"}
        try:
            services.user_update(user=member, data=data, by=actor_from_request(request))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Saved.")
            return redirect("team_list")
    context = {
        "form": form, "member": member, "member_has_second_factor": second_factor.has_second_factor(member),
        "member_second_factor_required": second_factor.required_for(member),
    }  # fmt: skip
    return render(request, "mtm/team_form.html", context, status=422 if form.errors else 200)


@requires(Capability.TEAM_MANAGE)
def team_second_factor_reset(request, user_id):
    """A colleague lost their phone and recovery codes: their second factor goes (audited)."""
    member = get_object_or_404(
        User.objects.filter(organisation_id=request.user.organisation_id).exclude(role=Role.PATIENT),
        pk=user_id,
    )
    if request.method != "POST":
        return redirect("team_edit", user_id=member.pk)
    second_factor.remove(user=member, by=actor_from_request(request), reason="reset by an admin")
    messages.success(
        request,
        f"{member.get_full_name() or member.username} sets up a new second factor at their next sign-in.",
    )
    return redirect("team_edit", user_id=member.pk)


@requires(Capability.TEAM_MANAGE)
def organisation_settings(request):
    organisation = Organisation.objects.get(pk=request.user.organisation_id)
    # The form writes onto its own copy; the service gets the record as it was read.
    form = OrganisationForm(request.POST or None, instance=Organisation.objects.get(pk=organisation.pk))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.organisation_update(
                organisation=organisation,
                data=data,
                version=form.cleaned_data["version"],
                by=actor_from_request(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        except EditConflict as conflict:
            form.add_error(None, str(conflict))
            return render(request, "mtm/organisation_form.html", {"form": form}, status=409)
        else:
            messages.success(request, "The pharmacy's details were saved.")
            return redirect("organisation_settings")
    return render(request, "mtm/organisation_form.html", {"form": form}, status=422 if form.errors else 200)


# --- Exports prepared by the worker (mtm/exports.py) --------------------------------------------


@requires(Capability.PATIENT_VIEW)
def export_list(request):
    """The exports the user asked for this past week."""
    return render(
        request,
        "mtm/exports.html",
        {"exports": exports.exports_of(request.user).order_by("-created_at")[:50]},
    )


@requires(Capability.PATIENT_VIEW)
def export_detail(request, export_id):
    """An export's progress, polled by its page while the worker prepares it; then its download."""
    export = exports.export_get(user=request.user, export_id=export_id)
    context = {"export": export}
    if request.htmx:
        return render(request, "mtm/_export_status.html", context)
    return render(request, "mtm/export.html", context)


@requires(Capability.PATIENT_VIEW)
def export_download(request, export_id):
    export = exports.export_get(user=request.user, export_id=export_id)
    if export.status != ExportStatus.READY:
        return redirect("export_detail", export_id=export.pk)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, organisation_id=request.user.organisation_id,
        obj=export, changes={"export": ["", f"{export.title} (downloaded)"]},
    )  # fmt: skip
    response = StreamingHttpResponse(exports.export_content(export), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Content-Length"] = str(export.size)
    return response
