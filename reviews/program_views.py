"""The MTM program's pages: programs and their criteria, the organisation's measure rates with the
run that computes them, the eligibility worklist (offer, opt-out, open the CMR) and the at-risk
worklist (open a targeted review). The work is in reviews/program.py."""

from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from interactions.selectors import knowledge_base
from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.forms import bad_query_response, run_service
from mtm.models import AuditAction
from mtm.paging import page_of
from mtm.permissions import Capability
from patients import selectors as patient_selectors
from reviews import measures, program, report
from reviews.forms import OfferForm, OptOutForm, ProgramForm, ProgramQuery
from reviews.models import CmrRecipient, Enrollment, MtmProgram, OfferMethod, PatientMeasure

PER_PAGE = 25
SAFETY_CODES = ["COB", "POLY-ACH", "POLY-CNS"]
SERIOUS = ("contraindicated", "major")


class _BadQuery(Exception):
    pass


def _year(request) -> int:
    """The year asked for (?year=), the organisation's running year by default."""
    query = ProgramQuery(request.GET)
    if not query.is_valid():
        raise _BadQuery(query.query_errors())
    return query.cleaned_data.get("year") or request.user.organisation.today().year


def _bad_year(view):
    """A page whose ?year= is not a year answers 400 with a message naming it."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _BadQuery as error:
            return bad_query_response(
                request, title="MTM program", errors=error.args[0], start_again=("This year", request.path)
            )

    return wrapped


def _measure_set(year: int):
    try:
        return measures.measures_for_year(knowledge_base(), year)
    except measures.MeasureRulesError:
        return None


@requires(Capability.REVIEW_VIEW)
@_bad_year
def program_home(request):
    year = _year(request)
    organisation = request.user.organisation
    measure_set = _measure_set(year)
    return render(
        request,
        "reviews/program/home.html",
        {
            "year": year,
            "programs": program.programs_of(request.user).filter(year=year),
            "other_years": program.programs_of(request.user).exclude(year=year).values_list("year", flat=True)
            .distinct().order_by("-year"),
            "run": program.latest_run(organisation=organisation, year=year),
            "rates": program.organisation_rates(organisation=organisation, year=year) if measure_set else [],
            "no_rules": measure_set is None,
            "targeted": program.targeted_reviews(user=request.user, year=year),
            "can_manage": request.user.can(Capability.TEAM_MANAGE),
            "can_report": request.user.can(Capability.REPORTS_VIEW),
        },
    )  # fmt: skip


@requires(Capability.REVIEW_VIEW)
@require_POST
def program_run(request):
    year = _year_from_post(request)
    try:
        program.run_request(organisation=request.user.organisation, year=year, user=request.user)
    except measures.MeasureRulesError as error:
        messages.error(request, str(error))
    return redirect(f"{reverse('program_home')}?year={year}")


def _year_from_post(request) -> int:
    query = ProgramQuery(request.POST)
    if not query.is_valid() or not query.cleaned_data.get("year"):
        raise Http404("Choose a year.")
    return query.cleaned_data["year"]


@requires(Capability.REVIEW_VIEW)
def program_run_progress(request, run_id):
    """The run's progress, polled by the program page while it runs."""
    run = get_object_or_404(
        program.ProgramRun.objects.filter(organisation_id=request.user.organisation_id), pk=run_id
    )
    return render(request, "reviews/program/_run.html", {"run": run, "year": run.year, "polled": True})


# --- Programs (their criteria) ---------------------------------------------------------------------


@requires(Capability.TEAM_MANAGE)
def program_edit(request, program_id=None):
    instance = (
        get_object_or_404(program.programs_of(request.user), pk=program_id)
        if program_id
        else MtmProgram(organisation=request.user.organisation)
    )
    form = ProgramForm(request.POST or None, instance=_copy(instance))
    if request.method == "POST":
        by = actor_from_request(request)
        saved = {}

        def run():
            saved["program"] = program.program_save(
                program=instance,
                data=form.data_for_service(),
                version=form.cleaned_data.get("version"),
                by=by,
            )

        status = run_service(form, run)
        if status == 200:
            messages.success(request, "The program was saved; its patients are being worked out again.")
            year = saved["program"].year if saved else instance.year
            return redirect(f"{reverse('program_home')}?year={year}")
        return render(
            request, "reviews/program/program_form.html", {"form": form, "program": instance}, status=status
        )
    return render(request, "reviews/program/program_form.html", {"form": form, "program": instance})


def _copy(instance):
    """A ModelForm writes onto its instance when it validates: the service gets the record as read."""
    if instance._state.adding:
        return MtmProgram(organisation=instance.organisation)
    return MtmProgram.objects.get(pk=instance.pk)


# --- The eligibility worklist -------------------------------------------------------------------------


@requires(Capability.REVIEW_VIEW)
def eligible_list(request, program_id):
    chosen = get_object_or_404(program.programs_of(request.user), pk=program_id)
    page = page_of(request, program.eligible_worklist(user=request.user, program=chosen), per_page=PER_PAGE)
    close = page_of(
        request,
        program.close_to_qualifying(user=request.user, program=chosen),
        per_page=PER_PAGE,
        param="close_page",
    )
    found = program.eligibility_of(chosen, [e.patient_id for e in page.object_list])
    rows = [{"enrollment": e, "eligibility": found.get(e.patient_id)} for e in page.object_list]
    return render(
        request,
        "reviews/program/eligible.html",
        {
            "program": chosen, "page": page, "rows": rows, "close": close,
            "today": request.user.organisation.today(),
            "methods": OfferMethod.choices, "recipients": CmrRecipient.choices,
            "opt_out_reasons": Enrollment._meta.get_field("opt_out_reason").choices,
            "can_edit": request.user.can(Capability.PATIENT_EDIT),
            "can_conduct": request.user.can(Capability.REVIEW_CONDUCT),
        },
    )  # fmt: skip


def _enrollment(request, enrollment_id) -> Enrollment:
    return get_object_or_404(
        program.scope_to_organisation(Enrollment.objects.select_related("program__organisation", "patient"),
                                      request.user),
        pk=enrollment_id,
    )  # fmt: skip


def _back_to_list(enrollment: Enrollment) -> str:
    return reverse("program_eligible", args=[enrollment.program_id])


@requires(Capability.PATIENT_EDIT)
@require_POST
def offer_add(request, enrollment_id):
    enrollment = _enrollment(request, enrollment_id)
    form = OfferForm(request.POST)
    status = run_service(
        form,
        lambda: program.offer_record(enrollment=enrollment, data=form.data_for_service(), by=actor_from_request(request)),
    )  # fmt: skip
    if status == 200:
        messages.success(request, f"CMR offer recorded for {enrollment.patient.full_name}.")
    else:
        messages.error(request, _errors_text(form))
    return redirect(_back_to_list(enrollment))


@requires(Capability.PATIENT_EDIT)
@require_POST
def opt_out(request, enrollment_id):
    enrollment = _enrollment(request, enrollment_id)
    form = OptOutForm(request.POST, instance=Enrollment.objects.get(pk=enrollment.pk))
    status = run_service(
        form,
        lambda: program.opt_out_record(
            enrollment=enrollment, data=form.data_for_service(), version=form.cleaned_data["version"],
            by=actor_from_request(request),
        ),
    )  # fmt: skip
    if status == 200:
        messages.success(request, f"{enrollment.patient.full_name} opted out of {enrollment.program}.")
    else:
        messages.error(request, _errors_text(form))
    return redirect(_back_to_list(enrollment))


def _errors_text(form) -> str:
    return " ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {message}".lstrip(": ")
        for name, errors in form.errors.items()
        for message in errors
    )


@requires(Capability.REVIEW_CONDUCT)
@require_POST
def cmr_open(request, enrollment_id):
    enrollment = _enrollment(request, enrollment_id)
    review = program.cmr_open(enrollment=enrollment, by=actor_from_request(request))
    return redirect("review_workspace", review.pk)


# --- The at-risk worklist -----------------------------------------------------------------------------


@requires(Capability.REVIEW_VIEW)
@_bad_year
def at_risk_list(request):
    year = _year(request)
    measure_set = _measure_set(year)
    names = {code: m.name for code, m in measure_set.measures.items()} if measure_set else {}
    pages = {
        "at_risk": page_of(request, program.at_risk_worklist(user=request.user, year=year), per_page=PER_PAGE),
        "lost": page_of(request, program.at_risk_worklist(user=request.user, year=year, lost=True),
                        per_page=PER_PAGE, param="lost_page"),
        "signals": page_of(request, program.safety_signals(user=request.user, year=year, codes=SAFETY_CODES),
                           per_page=PER_PAGE, param="signals_page"),
    }  # fmt: skip
    for page in pages.values():
        for row in page.object_list:
            row.measure_name = names.get(row.code, "")
    return render(
        request,
        "reviews/program/at_risk.html",
        {
            "year": year,
            **pages,
            "run": program.latest_run(organisation=request.user.organisation, year=year),
            "can_conduct": request.user.can(Capability.REVIEW_CONDUCT),
        },
    )  # fmt: skip


@requires(Capability.REVIEW_CONDUCT)
@require_POST
def tmr_open(request, measure_id):
    """A targeted review for a measure at risk or a safety signal, opened with its reason."""
    row = get_object_or_404(
        program.scope_to_organisation(PatientMeasure.objects.select_related("patient"), request.user),
        pk=measure_id,
    )
    patient = patient_selectors.patient_get(user=request.user, patient_id=row.patient_id)
    review = program.tmr_open(patient=patient, reason=program.measure_reason(row), source=f"measure:{row.code}",
                              by=actor_from_request(request))  # fmt: skip
    return redirect("review_workspace", review.pk)


@requires(Capability.REVIEW_CONDUCT)
@require_POST
def finding_tmr_open(request, patient_id):
    """A targeted review for a major or contraindicated screening finding (a safety signal)."""
    patient = patient_selectors.patient_get(user=request.user, patient_id=patient_id)
    screening = patient_selectors.patient_screening(
        patient_selectors.patient_record(patient=patient), today=request.user.organisation.today()
    )
    finding = next((f for f in screening.findings if f["id"] == request.POST.get("finding")), None)
    if finding is None or finding["severity"] not in SERIOUS:
        raise Http404("That finding is no longer on the screening (the list may have changed).")
    review = program.tmr_open(
        patient=patient, reason=f"Safety signal ({finding['severity']}): {finding['title']}"[:300],
        source=f"finding:{finding['id']}"[:300], by=actor_from_request(request),
    )  # fmt: skip
    return redirect("review_workspace", review.pk)


# --- The CMS report ------------------------------------------------------------------------------------


@requires(Capability.REPORTS_VIEW)
def report_page(request, program_id):
    """The report's members and what their lines lack (where to record it), with the downloads."""
    chosen = get_object_or_404(program.programs_of(request.user), pk=program_id)
    missing = report.report_missing(chosen)
    return render(
        request,
        "reviews/program/report.html",
        {
            "program": chosen,
            "members": Enrollment.objects.filter(program=chosen).count(),
            "missing": page_of(request, missing, per_page=50),
            "columns": report.COLUMNS,
        },
    )


@requires(Capability.REPORTS_VIEW)
def report_download(request, program_id):
    """The report as CSV, streamed a line at a time; the download is audited."""
    chosen = get_object_or_404(program.programs_of(request.user), pk=program_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, organisation_id=request.user.organisation_id,
        obj=chosen, changes={"export": ["", f"CMS MTM report {chosen.contract_number} {chosen.year}"]},
    )  # fmt: skip
    response = StreamingHttpResponse(report.report_csv_parts(chosen), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.report_filename(chosen)}"'
    return response


@requires(Capability.REPORTS_VIEW)
def report_dictionary(request):
    response = HttpResponse(report.data_dictionary_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mtm-report-data-dictionary.csv"'
    return response
