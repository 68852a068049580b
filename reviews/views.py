"""The review workspace: one page; every form on it saves through htmx and gets the workspace back
(or, for the CMR questions, the medication's row), and works as a plain form without JavaScript."""

import json

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from mtm import exports
from mtm.audit import actor_from_request, audit_record
from mtm.decorators import requires
from mtm.forms import run_service
from mtm.middleware import wants_fragment
from mtm.models import AuditAction
from mtm.paging import page_of
from mtm.permissions import Capability
from patients import selectors as patient_selectors
from patients.models import MedicationStatus
from reviews import interop, selectors, services
from reviews.forms import (
    AddendumForm,
    AdherenceConfirmForm,
    AssessmentForm,
    CompleteForm,
    FindingConfirmForm,
    FindingDismissForm,
    MedicationChangeForm,
    MedicationStartForm,
    MedicationStopForm,
    PeriodForm,
    ProblemForm,
    RecommendationForm,
    ResponseForm,
    ReviewForm,
    SummaryDeliveredForm,
)
from reviews.letters import prescriber_letter_pdf
from reviews.models import (
    DISMISSAL_PRESETS,
    MedicationAssessment,
    Problem,
    ProblemCategory,
    Recommendation,
    Review,
    ReviewStatus,
)

# The preset reasons' buttons, the same under every finding to decide.
DISMISSAL_PRESET_BUTTONS = format_html_join(
    "",
    '<button type="submit" name="reason" value="{}" class="secondary small-button">{}</button>',
    ((preset, preset) for preset in DISMISSAL_PRESETS),
)
REVIEWS_PER_PAGE = 25
WORK_PER_PAGE = 10  # summaries to deliver, answers overdue: the most urgent first


def _workspace_url(review: Review) -> str:
    return reverse("review_workspace", args=[review.pk])


def _workspace(
    request,
    review: Review,
    *,
    status: int = 200,
    problem_forms: dict | None = None,
    recommendation_forms: dict | None = None,
    finding_errors: dict | None = None,
    adherence_errors: dict | None = None,
    change_errors: dict | None = None,
    assessment_errors: dict | None = None,
    **forms,
):
    """The whole page, or for htmx the workspace part of it; bound forms with errors replace the
    blank ones they stand for."""
    # Read again (a change may have just been made), with the patient and the pharmacist it shows.
    review = Review.objects.select_related("patient", "pharmacist").get(pk=review.pk)
    workspace = selectors.review_workspace(review, today=timezone.localdate())
    # A problem's forms load when opened (problem_form); only a form sent back with errors is here.
    for problem in workspace.problems:
        problem.edit_form = (problem_forms or {}).get(problem.pk)
        problem.recommendation_form = (recommendation_forms or {}).get(problem.pk)
    for line in workspace.findings:
        line.errors = (finding_errors or {}).get(line.finding["id"])
    for line in workspace.medications:
        line.errors = (change_errors or {}).get(str(line.medication.pk))
        line.assessment_errors = (assessment_errors or {}).get(str(line.medication.pk))
    confirmed = {p.finding_id for p in workspace.problems}
    for line in workspace.low_adherence:
        line.errors = (adherence_errors or {}).get(str(line.medication.pk))
        line.confirmed = f"adherence:{line.medication.pk}" in confirmed
    context = _workspace_context(request, review, workspace, **forms)
    template = "reviews/review_workspace.html#workspace" if request.htmx else "reviews/review_workspace.html"
    return render(request, template, context, status=status)


def _workspace_context(request, review: Review, workspace: selectors.Workspace, **forms) -> dict:
    """What the workspace's templates (the page, or one of its parts) are rendered with."""
    complete_form = CompleteForm(
        initial={"version": review.version, "minutes_spent": review.minutes_spent}, prefix="complete"
    )
    if not workspace.undecided_serious:
        del complete_form.fields["acknowledge_undecided"]
    return {
        "ws": workspace,
        "review": review,
        "patient": review.patient,
        "can_conduct": request.user.can(Capability.REVIEW_CONDUCT) and not review.is_locked,
        "can_add_addendum": request.user.can(Capability.REVIEW_CONDUCT) and review.is_locked,
        "has_plan": review.is_locked and hasattr(review, "action_plan"),
        "can_record_answers": request.user.can(Capability.RESPONSE_RECORD),
        # Folded forms load when opened (review_details, medication_start): only a planned review's
        # details, open, are on the page, and a form sent back with its errors.
        "details_form": ReviewForm(instance=review, prefix="review")
        if review.status == ReviewStatus.PLANNED
        else None,
        "complete_form": complete_form,
        "addendum_form": AddendumForm(),
        "summary_form": SummaryDeliveredForm(
            initial={"version": review.version, "summary_delivered_on": timezone.localdate()},
            prefix="summary",
        ),
        "today": timezone.localdate(),
        "nonadherence_causes": AdherenceConfirmForm.base_fields["nonadherence_cause"].choices,
        "dismissal_preset_buttons": DISMISSAL_PRESET_BUTTONS,
        # The same for every finding: reversed once, not twice per finding.
        "finding_confirm_url": reverse("finding_confirm", args=[review.pk]),
        "finding_dismiss_url": reverse("finding_dismiss", args=[review.pk]),
        "finding_explanation_url": reverse("finding_explanation", args=[review.patient_id]),
        **forms,
    }


def _after(request, review: Review, status: int, **forms):
    if status == 200 and not request.htmx:
        return redirect(_workspace_url(review))
    return _workspace(request, review, status=status, **(forms if status != 200 else {}))


def _workspace_form(request, review: Review, template: str, title: str, **forms):
    """A folded form of the workspace, for htmx when it is opened, or on a page of its own."""
    context = {"review": review, **forms}
    if request.htmx:
        return render(request, template, context)
    return render(
        request, "reviews/workspace_form_page.html", {**context, "form_template": template, "title": title}
    )


def _review_for_change(request, review_id) -> Review:
    review = selectors.review_get(user=request.user, review_id=review_id)
    if request.method != "POST":
        raise Http404
    return review


# --- Opening and the page ------------------------------------------------------------------------


@requires(Capability.REVIEW_CONDUCT)
def review_new(request, patient_id):
    patient = patient_selectors.patient_get(user=request.user, patient_id=patient_id)
    form = ReviewForm(
        request.POST or None, instance=Review(patient=patient, organisation=patient.organisation)
    )
    if request.method == "POST":
        created = {}

        def run():
            by = actor_from_request(request)
            review = services.review_create(patient=patient, data=form.data_for_service(), by=by)
            if request.POST.get("start"):  # "Start the review now": opened and started at once
                review = services.review_start(review=review, version=review.version, by=by)
            created["review"] = review

        status = run_service(form, run)
        if status == 200:
            # A form sent twice opened one review: the second finds it.
            review = created.get("review") or patient.reviews.exclude(status="completed").latest("created_at")
            return redirect(_workspace_url(review))
        return render(request, "reviews/review_new.html", {"form": form, "patient": patient}, status=status)
    return render(request, "reviews/review_new.html", {"form": form, "patient": patient})


@requires(Capability.REVIEW_VIEW)
def review_list(request):
    """Summaries to deliver and answers overdue (the work), the open reviews, then the completed
    ones: each list a page at a time, so the page weighs the same whatever the organisation holds."""
    today = timezone.localdate()
    reviews = selectors.reviews_visible_to(request.user)
    open_reviews = reviews.exclude(status=ReviewStatus.COMPLETED).order_by("-created_at", "-pk")
    completed = reviews.filter(status=ReviewStatus.COMPLETED).order_by("-completed_at", "-pk")
    return render(
        request,
        "reviews/review_list.html",
        {
            "open_reviews": page_of(request, open_reviews, per_page=REVIEWS_PER_PAGE, param="open_page"),
            "completed": page_of(request, completed, per_page=REVIEWS_PER_PAGE, param="completed_page"),
            "awaiting": page_of(
                request, selectors.awaiting_answer(user=request.user, today=today), per_page=WORK_PER_PAGE,
                param="awaiting_page",
            ),
            "summaries": page_of(
                request, selectors.summaries_due(user=request.user, today=today), per_page=WORK_PER_PAGE,
                param="summaries_page",
            ),
            "at_risk_days": selectors.SUMMARY_AT_RISK_DAYS,
        },
    )  # fmt: skip


@requires(Capability.REVIEW_VIEW)
def review_workspace(request, review_id):
    review = selectors.review_get(user=request.user, review_id=review_id)
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=review.patient_id, obj=review
    )
    return _workspace(request, review)


# --- The review itself ---------------------------------------------------------------------------


@requires(Capability.REVIEW_CONDUCT)
def review_details(request, review_id):
    """GET: the details form (loaded when opened); POST: the details saved."""
    if request.method != "POST":
        review = selectors.review_get(user=request.user, review_id=review_id)
        return _workspace_form(
            request, review, "reviews/_review_details_form.html", "Review details",
            details_form=ReviewForm(instance=review, prefix="review"),
        )  # fmt: skip
    review = _review_for_change(request, review_id)
    # A ModelForm writes its data onto its instance when validated: the service gets its own copy.
    form = ReviewForm(request.POST, instance=Review.objects.get(pk=review.pk), prefix="review")
    status = run_service(
        form,
        lambda: services.review_update(
            review=review, data=form.data_for_service(), version=form.cleaned_data["version"],
            by=actor_from_request(request),
        ),
    )  # fmt: skip
    return _after(request, review, status, details_form=form)


@requires(Capability.REVIEW_CONDUCT)
def review_start(request, review_id):
    review = _review_for_change(request, review_id)
    form = CompleteForm({"version": request.POST.get("version"), "minutes_spent": 1})
    status = run_service(
        form,
        lambda: services.review_start(
            review=review, version=form.cleaned_data["version"], by=actor_from_request(request)
        ),
    )
    return _after(request, review, status, start_errors=form.non_field_errors() or form.errors)


@requires(Capability.REVIEW_CONDUCT)
def review_complete(request, review_id):
    review = _review_for_change(request, review_id)
    form = CompleteForm(request.POST, prefix="complete")
    status = run_service(
        form,
        lambda: services.review_complete(
            review=review,
            version=form.cleaned_data["version"],
            minutes_spent=form.cleaned_data["minutes_spent"],
            acknowledge_undecided=form.cleaned_data["acknowledge_undecided"],
            by=actor_from_request(request),
        ),
    )
    return _after(request, review, status, complete_form=form)


@requires(Capability.REVIEW_CONDUCT)
def addendum_add(request, review_id):
    review = _review_for_change(request, review_id)
    form = AddendumForm(request.POST)
    status = run_service(
        form,
        lambda: services.addendum_add(
            review=review, text=form.cleaned_data["text"], by=actor_from_request(request)
        ),
    )
    return _after(request, review, status, addendum_form=form)


# --- The CMR questions, saved as they are answered -----------------------------------------------


@requires(Capability.REVIEW_CONDUCT)
def assessment_save(request, review_id, medication_id):
    """The CMR questions for one medication. The page's autosave (static/js/app.js) sends only the
    fields that changed, named in `fields`, and gets JSON back; without JavaScript the whole form
    comes, and the page with it. `usual` answers every unanswered question yes."""
    review = _review_for_change(request, review_id)
    medication = patient_selectors.record_get(
        patient=review.patient, model=review.patient.medications.model, record_id=medication_id
    )
    existing = MedicationAssessment.objects.filter(review=review, medication=medication).first()
    editable = AssessmentForm._meta.fields
    named = [name for name in request.POST.get("fields", "").split(",") if name]
    unknown = sorted(set(named) - set(editable))
    data = request.POST.copy()
    if named and existing:  # the fields not sent keep their saved answers
        for name in set(editable) - set(named):
            data[name] = getattr(existing, name)
    form = AssessmentForm(
        data, instance=existing or MedicationAssessment(review=review, medication=medication)
    )
    saved = {}

    def run():
        if unknown:
            raise ValidationError(f"Not a question of the review: {', '.join(unknown)}.")
        saved["assessment"] = services.assessment_save(
            review=review,
            medication=medication,
            data={name: form.cleaned_data[name] for name in (named or editable)},
            version=form.cleaned_data["version"] if existing else None,
            usual_answers=bool(request.POST.get("usual")),
            by=actor_from_request(request),
        )

    status = run_service(form, run)
    if wants_fragment(request):
        if status != 200:
            return JsonResponse(
                {"errors": form.errors.get_json_data(), "conflict": status == 409}, status=status
            )
        assessment = saved["assessment"]
        return JsonResponse(
            {
                "version": assessment.version,
                "answered": assessment.answered,
                "values": {name: getattr(assessment, name) for name in editable},
            }
        )
    if status == 200:
        return redirect(f"{_workspace_url(review)}#med-{medication.pk}")
    return _workspace(request, review, status=status, assessment_errors={str(medication.pk): form.errors})


# --- Findings and problems ---------------------------------------------------------------------


def _finding_decided(
    request, review: Review, finding_id: str, *, status: int, errors=None, message: str = "", created=None,
    record=None, screening=None,
):  # fmt: skip
    """After a finding is confirmed or dismissed. htmx gets the finding in its new state and, out of
    band, the counts and the new problem; the page stays where it was and focus moves to the next
    undecided finding, or to the problem just created when none is left (static/js/app.js)."""
    workspace = selectors.review_workspace(
        review, today=timezone.localdate(), record=record, screening=screening
    )
    line = next((line for line in workspace.findings if line.finding["id"] == finding_id), None)
    if line is None:
        raise Http404("That finding is no longer on the screening (the list may have changed).")
    if not request.htmx:
        if status == 200:
            return redirect(f"{_workspace_url(review)}#{line.dom_id}")
        return _workspace(request, review, status=status, finding_errors={finding_id: errors})
    line.errors = errors if status != 200 else None
    context = _workspace_context(
        request, review, workspace, line=line, oob=status == 200, new_problem=created and line.problem
    )
    response = render(request, "reviews/_finding_decided.html", context, status=status)
    if status == 200:
        following = workspace.next_undecided(line)
        if following is not None:
            focus = f"#{following.dom_id} summary"
        else:
            focus = f"#problem-{line.problem.pk}" if line.problem else "#h-problems"
            message += " Every finding is decided."
        response["HX-Trigger-After-Settle"] = json.dumps({"mtm:done": {"message": message, "focus": focus}})
    return response


def _screened(review: Review):
    """The patient's record and its screening, read once for the request (deciding a finding
    changes neither)."""
    record = patient_selectors.patient_record(patient=review.patient, history=False)
    return {
        "record": record,
        "screening": patient_selectors.patient_screening(record, today=timezone.localdate()),
    }


def _finding_of(review: Review, form, screened: dict) -> dict | None:
    if not form.is_valid():
        return None
    return selectors.review_finding(
        review, form.cleaned_data["finding_id"], today=timezone.localdate(), screening=screened["screening"]
    )


@requires(Capability.REVIEW_CONDUCT)
def finding_confirm(request, review_id):
    review = _review_for_change(request, review_id)
    form = FindingConfirmForm(request.POST)
    screened = _screened(review)
    finding = _finding_of(review, form, screened)
    created = []  # empty when this was a repeat of a form already handled

    def run():
        data = {k: v for k, v in form.cleaned_data.items() if k != "finding_id"}
        created.append(
            services.finding_confirm(
                review=review, finding=finding, data=data, by=actor_from_request(request)
            )
        )

    status = run_service(form, run)
    title = finding["title"] if finding else ""
    return _finding_decided(
        request, review, request.POST.get("finding_id", ""), status=status, errors=form.errors,
        message=f"Confirmed as a problem: {title}.", created=bool(created), **screened,
    )  # fmt: skip


@requires(Capability.REVIEW_CONDUCT)
def finding_dismiss(request, review_id):
    review = _review_for_change(request, review_id)
    form = FindingDismissForm(request.POST)
    screened = _screened(review)
    finding = _finding_of(review, form, screened)
    status = run_service(
        form,
        lambda: services.finding_dismiss(
            review=review, finding=finding, reason=form.cleaned_data["reason"], by=actor_from_request(request)
        ),
    )
    title = finding["title"] if finding else ""
    return _finding_decided(
        request, review, request.POST.get("finding_id", ""), status=status, errors=form.errors,
        message=f"Dismissed: {title}.", **screened,
    )  # fmt: skip


def _problem_form(request, review: Review, instance: Problem, prefix: str) -> ProblemForm:
    medications = review.patient.medications.filter(status=MedicationStatus.ACTIVE).order_by("name")
    return ProblemForm(request.POST, instance=instance, medications=medications, prefix=prefix)


def _done(response, message: str, focus: str):
    """Once htmx has settled the swap, move focus to `focus` and announce `message` (app.js)."""
    response["HX-Trigger-After-Settle"] = json.dumps({"mtm:done": {"message": message, "focus": focus}})
    return response


def _problem_changed(request, review: Review, problem: Problem, status: int, *, message: str, **forms):
    """htmx: the problem in its new state (or with the form that failed), and out of band the
    counts, the letters and completing; nothing else on the page moves. Without JavaScript, the page."""
    if not request.htmx:
        if status == 200:
            return redirect(f"{_workspace_url(review)}#problem-{problem.pk}")
        return _workspace(request, review, status=status, **forms)
    workspace = selectors.review_workspace(review, today=timezone.localdate())
    current = next(p for p in workspace.problems if p.pk == problem.pk)
    if status != 200:  # the form comes back, open, with what was typed and what is wrong with it
        current.edit_form = forms.get("problem_forms", {}).get(problem.pk)
        current.recommendation_form = forms.get("recommendation_forms", {}).get(problem.pk)
    context = _workspace_context(request, review, workspace, problem=current, oob=status == 200)
    response = render(request, "reviews/_problem_changed.html", context, status=status)
    return _done(response, message, f"#problem-{problem.pk}") if status == 200 else response


@requires(Capability.REVIEW_CONDUCT)
def problem_add(request, review_id):
    review = _review_for_change(request, review_id)
    form = _problem_form(request, review, Problem(review=review, patient_id=review.patient_id), "new-problem")
    created = []  # empty when this was a repeat of a form already handled

    def run():
        created.append(
            services.problem_add(
                review=review,
                data={k: v for k, v in form.data_for_service().items() if k != "medications"},
                medications=list(form.cleaned_data["medications"]),
                by=actor_from_request(request),
            )
        )

    status = run_service(form, run)
    if not request.htmx:
        return _after(request, review, status, problem_form=form)
    if status != 200:
        return render(
            request, "reviews/_problem_new_form.html", {"review": review, "problem_form": form}, status=status
        )
    workspace = selectors.review_workspace(review, today=timezone.localdate())
    medications = review.patient.medications.filter(status=MedicationStatus.ACTIVE).order_by("name")
    context = _workspace_context(
        request, review, workspace, oob=True, new_problem=created[0] if created else None,
        problem_form=ProblemForm(medications=medications, prefix="new-problem"),
    )  # fmt: skip
    response = render(request, "reviews/_problem_added.html", context)
    if not created:
        return response
    return _done(response, f"Problem added: {created[0].title}.", f"#problem-{created[0].pk}")


@requires(Capability.REVIEW_CONDUCT)
def problem_edit(request, review_id, problem_id):
    review = _review_for_change(request, review_id)
    problem = get_object_or_404(review.problems, pk=problem_id)
    form = _problem_form(request, review, Problem.objects.get(pk=problem.pk), f"problem-{problem.pk}")

    def run():
        data = {k: v for k, v in form.data_for_service().items() if k != "medications"}
        saved = services.problem_update(problem=problem, data=data, version=form.cleaned_data["version"],
                                        by=actor_from_request(request))  # fmt: skip
        if not review.is_locked:
            saved.medications.set(form.cleaned_data["medications"])

    status = run_service(form, run)
    return _problem_changed(
        request, review, problem, status, message="Problem saved.", problem_forms={problem.pk: form}
    )


@requires(Capability.REVIEW_CONDUCT)
def recommendation_add(request, review_id, problem_id):
    review = _review_for_change(request, review_id)
    problem = get_object_or_404(review.problems, pk=problem_id)
    prefix = f"recommendation-{problem.pk}"
    form = RecommendationForm(
        request.POST,
        instance=Recommendation(problem=problem, patient_id=problem.patient_id),
        prescribers=patient_selectors.prescribers_visible_to(request.user),
        problem=problem,
        audience=request.POST.get(f"{prefix}-audience"),  # the same form as the one opened
        prefix=prefix,
    )
    status = run_service(
        form,
        lambda: services.recommendation_add(
            problem=problem,
            data=form.data_for_service(),
            prescriber_confirmed=form.cleaned_data.get("prescriber_confirmed", False),
            by=actor_from_request(request),
        ),
    )
    return _problem_changed(
        request, review, problem, status, message="Recommendation added.",
        recommendation_forms={problem.pk: form},
    )  # fmt: skip


# --- Prescriber letters and their answers --------------------------------------------------------


@requires(Capability.REVIEW_VIEW)
def review_ecare_plan(request, review_id):
    return interop.ecare_plan_response(request, selectors.review_get(user=request.user, review_id=review_id))


@requires(Capability.REVIEW_VIEW)
def prescriber_letter(request, review_id, prescriber_id):
    review = selectors.review_get(user=request.user, review_id=review_id)
    prescriber = patient_selectors.prescriber_get(user=request.user, prescriber_id=prescriber_id)
    if not review.problems.filter(recommendations__prescriber=prescriber).exists():
        raise Http404("No recommendation of this review goes to that prescriber.")
    pdf = prescriber_letter_pdf(review=review, prescriber=prescriber, today=timezone.localdate())
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, patient_id=review.patient_id, obj=review,
        changes={"document": ["", f"prescriber letter to {prescriber}"]},
    )  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    name = (
        f"recommendations-{review.patient.last_name}-{prescriber.last_name}-{timezone.localdate():%Y%m%d}.pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{slugify(name[:-4])}.pdf"'
    return response


@requires(Capability.RESPONSE_RECORD)
def prescriber_letter_sent(request, review_id, prescriber_id):
    review = _review_for_change(request, review_id)
    prescriber = patient_selectors.prescriber_get(user=request.user, prescriber_id=prescriber_id)
    recommendations = list(
        Recommendation.objects.filter(problem__review=review, prescriber=prescriber, sent_on__isnull=True)
    )
    services.recommendations_sent(
        recommendations=recommendations, on=timezone.localdate(), by=actor_from_request(request)
    )
    if not request.htmx:
        return redirect(f"{_workspace_url(review)}#h-letters")
    workspace = selectors.review_workspace(review, today=timezone.localdate())
    response = render(request, "reviews/_letters.html", _workspace_context(request, review, workspace))
    return _done(response, f"Letter to {prescriber} marked as faxed today.", "#h-letters")


@requires(Capability.RESPONSE_RECORD)
def response_record(request, recommendation_id):
    """Record the prescriber's answer, or correct it and the day the letter was sent."""
    recommendation = get_object_or_404(
        selectors.recommendations_visible_to(request.user), pk=recommendation_id, audience="prescriber"
    )
    form = ResponseForm(request.POST or None, recommendation=recommendation, today=timezone.localdate())
    status = 200
    if request.method == "POST":
        status = run_service(
            form,
            lambda: services.prescriber_response_record(
                recommendation=recommendation,
                response=form.cleaned_data["response"],
                on=form.cleaned_data["response_on"],
                note=form.cleaned_data["response_note"],
                sent_on=form.cleaned_data["sent_on"],
                version=form.cleaned_data["version"],
                by=actor_from_request(request),
            ),
        )
        if status == 200:
            return redirect(_workspace_url(recommendation.problem.review))
        recommendation.refresh_from_db()  # the service leaves it as it was; show what is recorded
    context = {"form": form, "r": recommendation, "history": selectors.recommendation_history(recommendation)}
    return render(request, "reviews/response_form.html", context, status=status)


@requires(Capability.REVIEW_CONDUCT)
def adherence_confirm(request, review_id, medication_id):
    review = _review_for_change(request, review_id)
    medication = patient_selectors.record_get(
        patient=review.patient, model=review.patient.medications.model, record_id=medication_id
    )
    per_medication, _ = selectors.adherence(review.patient, today=timezone.localdate())
    line = next((m for m in per_medication if m.medication.pk == medication.pk), None)
    if line is None or not line.coverage.below_threshold:
        raise Http404("This medication's adherence is not below 80%.")
    form = AdherenceConfirmForm(request.POST)
    status = run_service(
        form,
        lambda: services.adherence_problem_confirm(
            review=review, medication=medication, pdc=line.coverage.pdc,
            cause=form.cleaned_data["nonadherence_cause"], by=actor_from_request(request),
        ),
    )  # fmt: skip
    return _after(request, review, status, adherence_errors={str(medication.pk): form.errors})


# --- Changes to the medication list during the review ---------------------------------------------


@requires(Capability.REVIEW_CONDUCT)
def medication_start(request, review_id):
    """GET: the form (loaded when opened); POST: the medication started."""
    if request.method != "POST":
        review = selectors.review_get(user=request.user, review_id=review_id)
        return _workspace_form(
            request, review, "reviews/_medication_start_form.html", "Start a medication",
            start_form=MedicationStartForm(prefix="start"),
        )  # fmt: skip
    review = _review_for_change(request, review_id)
    form = MedicationStartForm(request.POST, prefix="start")

    def run():
        data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        services.review_medication_start(
            review=review, data=data, reason=form.cleaned_data["reason"], by=actor_from_request(request)
        )

    return _after(request, review, run_service(form, run), start_form=form)


@requires(Capability.REVIEW_CONDUCT)
def medication_change(request, review_id, medication_id):
    """GET: the change and stop forms (loaded when opened); POST: the change or stop itself."""
    review = selectors.review_get(user=request.user, review_id=review_id)
    entry = patient_selectors.record_get(
        patient=review.patient, model=review.patient.medications.model, record_id=medication_id
    )
    if request.method != "POST":
        context = {
            "review": review,
            "line": selectors.MedicationLine(entry, None, None),
            "today": timezone.localdate(),
        }
        if request.htmx:
            return render(request, "reviews/_medication_change_forms.html", context)
        return render(request, "reviews/medication_change_page.html", context)
    action = request.POST.get("action")
    form = (MedicationStopForm if action == "stop" else MedicationChangeForm)(request.POST)

    def run():
        data = form.cleaned_data
        if action == "stop":
            services.review_medication_stop(
                review=review, entry=entry, on=data["stop_date"], reason=data["reason"],
                version=data["version"], by=actor_from_request(request),
            )  # fmt: skip
        else:
            changes = {k: data[k] for k in ("strength_dose", "directions") if data[k]}
            if not changes:
                raise ValidationError("Enter the new strength or directions.")
            services.review_medication_change(
                review=review, entry=entry, data=changes, reason=data["reason"],
                version=data["version"], by=actor_from_request(request),
            )  # fmt: skip

    return _after(request, review, run_service(form, run), change_errors={str(entry.pk): form.errors})


# --- Reports ---------------------------------------------------------------------------------------------


def _period(request) -> PeriodForm:
    """The period the address asks for; this month so far when it names none. A period it names
    wrongly is an error (status 400), never replaced by the default."""
    today = timezone.localdate()
    defaults = {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}
    return PeriodForm(request.GET if "start" in request.GET or "end" in request.GET else defaults)


@requires(Capability.REPORTS_VIEW)
def outcomes_report(request):
    form = _period(request)
    if not form.is_valid():
        return render(request, "reviews/outcomes.html", {"form": form}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    total, per_pharmacist = selectors.outcomes(user=request.user, start=start, end=end)
    categories = [(label, total.by_category.get(value, 0)) for value, label in ProblemCategory.choices]
    return render(
        request,
        "reviews/outcomes.html",
        {
            "form": form,
            "total": total,
            "per_pharmacist": per_pharmacist,
            "categories": categories,
            "prepare_billing": total.reviews > exports.STREAM_AT_MOST,
        },
    )


@requires(Capability.REPORTS_VIEW)
def billing_export(request):
    """The billing CSV of a period, streamed: the first line leaves before the last is read."""
    form = _period(request)
    if not form.is_valid():
        # The outcomes page, with what is wrong on the fields of the period, rather than a file.
        return render(request, "reviews/outcomes.html", {"form": form}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    export = selectors.billing_csv(request.user, {"start": start.isoformat(), "end": end.isoformat()})
    audit_record(
        actor=actor_from_request(request), action=AuditAction.VIEW, organisation_id=request.user.organisation_id,
        changes={"export": ["", f"billing {start} to {end}"]},
    )  # fmt: skip
    response = StreamingHttpResponse(exports.csv_lines(export.rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@require_POST
@requires(Capability.REPORTS_VIEW)
def billing_export_prepare(request):
    """The billing CSV of a long period, prepared by the worker; its page shows the progress."""
    form = PeriodForm(request.POST)
    if not form.is_valid():
        return render(request, "reviews/outcomes.html", {"form": form}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    export = exports.export_request(
        user=request.user, kind="billing", parameters={"start": start.isoformat(), "end": end.isoformat()},
        title=f"Billing, {start:%m/%d/%Y} to {end:%m/%d/%Y}", by=actor_from_request(request),
    )  # fmt: skip
    return redirect("export_detail", export_id=export.pk)


# A problem's recommendation forms, by the address they load from: to the patient, to a prescriber,
# or either (the audience chosen in the form).
RECOMMENDATION_FORMS = {"to-patient": "patient", "to-prescriber": "prescriber", "recommendation": None}


@requires(Capability.REVIEW_VIEW)
def problem_form(request, review_id, problem_id, which):
    """A problem's edit or recommendation form, loaded when the pharmacist opens it."""
    review = selectors.review_get(user=request.user, review_id=review_id)
    problem = get_object_or_404(review.problems, pk=problem_id)
    if which in RECOMMENDATION_FORMS:
        form = RecommendationForm(
            prescribers=patient_selectors.prescribers_visible_to(request.user),
            problem=problem,
            audience=RECOMMENDATION_FORMS[which],
            prefix=f"recommendation-{problem.pk}",
        )
    elif which == "problem":
        medications = review.patient.medications.filter(status=MedicationStatus.ACTIVE).order_by("name")
        form = ProblemForm(instance=problem, medications=medications, prefix=f"problem-{problem.pk}")
    else:
        raise Http404
    context = {"review": review, "problem": problem, "which": which, "form": form}
    if request.htmx:
        return render(request, "reviews/_problem_form.html", context)
    return render(request, "reviews/problem_form_page.html", context)


@requires(Capability.REVIEW_CONDUCT)
def problem_new_form(request, review_id):
    review = selectors.review_get(user=request.user, review_id=review_id)
    medications = review.patient.medications.filter(status=MedicationStatus.ACTIVE).order_by("name")
    context = {"review": review, "problem_form": ProblemForm(medications=medications, prefix="new-problem")}
    template = "reviews/_problem_new_form.html" if request.htmx else "reviews/problem_new_page.html"
    return render(request, template, context)


@requires(Capability.REVIEW_CONDUCT)
def summary_delivered(request, review_id):
    review = _review_for_change(request, review_id)
    form = SummaryDeliveredForm(request.POST, prefix="summary")
    status = run_service(
        form,
        lambda: services.summary_delivered(
            review=review, on=form.cleaned_data["summary_delivered_on"], version=form.cleaned_data["version"],
            by=actor_from_request(request),
        ),
    )  # fmt: skip
    return _after(request, review, status, summary_form=form)
