"""The review API: every step the workspace offers, through the same services and permissions."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from mtm.audit import actor_from_request, audit_record
from mtm.models import AuditAction
from mtm.permissions import Capability
from reviews import program, selectors, services
from reviews.api import serializers as s
from reviews.interop import ecare_plan_response
from reviews.measures import MeasureRulesError
from reviews.models import MedicationAssessment, Problem


class ReviewAPIMixin:
    read_capability = Capability.REVIEW_VIEW
    write_capability = Capability.REVIEW_CONDUCT

    def actor(self):
        return actor_from_request(self.request, via="api")

    def body(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class ReviewViewSet(
    ReviewAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Reviews of the organisation. Create with `patient`; change the details with the version you
    read; then start, document (see the nested problems) and complete."""

    serializer_class = s.ReviewSerializer
    http_method_names = ["get", "post", "patch"]

    def get_queryset(self):
        return selectors.reviews_visible_to(self.request.user).order_by("-created_at")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.kwargs.get("pk") and self.request.user.is_authenticated:
            context["review"] = self.get_object()
        return context

    def retrieve(self, request, *args, **kwargs):
        review = self.get_object()
        audit_record(actor=self.actor(), action=AuditAction.VIEW, patient_id=review.patient_id, obj=review)
        return Response(self.get_serializer(review).data)

    def create(self, request, *args, **kwargs):
        data = self.body(s.ReviewSerializer)
        patient = data.pop("patient")
        data.pop("version", None)
        review = services.review_create(patient=patient, data=data, by=self.actor())
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        review = self.get_object()
        data = self.body(s.ReviewSerializer, instance=review, partial=True)
        review = services.review_update(
            review=review, data=data, version=data.pop("version"), by=self.actor()
        )
        return Response(self.get_serializer(review).data)

    @extend_schema(
        responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
        description="The completed review as a Pharmacist eCare Plan (HL7 PhCP): a FHIR R4 document Bundle.",
    )
    @action(detail=True, methods=["get"], url_path="ecare-plan")
    def ecare_plan(self, request, pk=None):
        return ecare_plan_response(request, self.get_object(), via="api")

    @extend_schema(request=None, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        review = self.get_object()
        version = int(request.data.get("version") or review.version)
        return Response(
            self.get_serializer(services.review_start(review=review, version=version, by=self.actor())).data
        )

    @extend_schema(request=s.CompleteSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        review = self.get_object()
        data = self.body(s.CompleteSerializer)
        review = services.review_complete(review=review, by=self.actor(), **data)
        return Response(self.get_serializer(review).data)

    @extend_schema(request=s.SummaryDeliveredSerializer, responses=s.ReviewSerializer)
    @action(detail=True, methods=["post"])
    def summary(self, request, pk=None):
        """Record when the written summary of a completed CMR was given or sent."""
        data = self.body(s.SummaryDeliveredSerializer)
        review = services.summary_delivered(review=self.get_object(), by=self.actor(), **data)
        return Response(self.get_serializer(review).data)

    @extend_schema(request=s.AddendumSerializer, responses=None)
    @action(detail=True, methods=["post"])
    def addenda(self, request, pk=None):
        addendum = services.addendum_add(
            review=self.get_object(), text=self.body(s.AddendumSerializer)["text"], by=self.actor()
        )
        return Response({"id": addendum.pk, "text": addendum.text}, status=status.HTTP_201_CREATED)

    @extend_schema(responses=None)
    @action(detail=True, methods=["get"])
    def findings(self, request, pk=None):
        """The screening findings of the list as it stands, each with what was decided in this
        review (`problem` or `dismissed`) and an earlier dismissal."""
        workspace = selectors.review_workspace(self.get_object(), today=timezone.localdate())
        return Response(
            [
                {
                    **line.finding,
                    "problem": line.problem.pk if line.problem else None,
                    "dismissed": line.dismissal.reason if line.dismissal else None,
                    "dismissed_earlier": line.earlier.reason if line.earlier else None,
                }
                for line in workspace.findings
            ]
        )

    @extend_schema(request=s.FindingConfirmSerializer, responses=s.ProblemSerializer)
    @action(detail=True, methods=["post"], url_path="findings/confirm")
    def confirm_finding(self, request, pk=None):
        review = self.get_object()
        data = self.body(s.FindingConfirmSerializer)
        finding = selectors.review_finding(review, data.pop("finding_id"), today=timezone.localdate())
        problem = services.finding_confirm(review=review, finding=finding, data=data, by=self.actor())
        return Response(
            s.ProblemSerializer(problem, context={"review": review}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.FindingDismissSerializer, responses=None)
    @action(detail=True, methods=["post"], url_path="findings/dismiss")
    def dismiss_finding(self, request, pk=None):
        review = self.get_object()
        data = self.body(s.FindingDismissSerializer)
        finding = selectors.review_finding(review, data["finding_id"], today=timezone.localdate())
        dismissal = services.finding_dismiss(
            review=review, finding=finding, reason=data["reason"], by=self.actor()
        )
        return Response(
            {"finding_id": dismissal.finding_id, "reason": dismissal.reason}, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.AssessmentSerializer, responses=s.AssessmentSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def assessments(self, request, pk=None):
        """The CMR questions per medication, a page of them. POST the answers for one `medication`
        (with the `version` you read when changing earlier answers); the answer is the first page."""
        review = self.get_object()
        if request.method == "POST":
            data = self.body(s.AssessmentSerializer)
            medication = data.pop("medication")
            version = data.pop("version", None)
            usual_answers = data.pop("usual_answers", False)
            services.assessment_save(
                review=review, medication=medication, data=data, version=version, usual_answers=usual_answers,
                by=self.actor(),
            )  # fmt: skip
        assessments = (
            MedicationAssessment.objects.filter(review=review)
            .select_related("medication")
            .order_by("medication__name", "pk")
        )
        page = self.paginate_queryset(assessments)
        return self.get_paginated_response(
            s.AssessmentSerializer(page, many=True, context={"review": review}).data
        )

    @extend_schema(request=s.AdherenceConfirmSerializer, responses=None)
    @action(detail=True, methods=["get", "post"])
    def adherence(self, request, pk=None):
        """GET: proportion of days covered per medication and class over the last 12 months. POST a
        `medication` under 80% with its `nonadherence_cause` to make it a problem."""
        review = self.get_object()
        per_medication, per_class = selectors.adherence(review.patient, today=timezone.localdate())
        if request.method == "POST":
            data = self.body(s.AdherenceConfirmSerializer)
            line = next((m for m in per_medication if m.medication.pk == data["medication"]), None)
            if line is None or not line.coverage.below_threshold:
                return Response({"medication": ["This medication's adherence is not below 80%."]}, status=400)
            problem = services.adherence_problem_confirm(
                review=review, medication=line.medication, pdc=line.coverage.pdc,
                cause=data["nonadherence_cause"], by=self.actor(),
            )  # fmt: skip
            return Response(
                s.ProblemSerializer(problem, context={"review": review}).data, status=status.HTTP_201_CREATED
            )

        def figure(line):
            c = line.coverage
            return {"label": line.label, "pdc": round(c.pdc, 3), "since": c.start, "days": c.days_in_period,
                    "days_covered": c.days_covered, "below_80_percent": c.below_threshold}  # fmt: skip

        return Response(
            {
                "medications": [
                    {"medication": line.medication.pk, **figure(line)} for line in per_medication
                ],
                "classes": [figure(line) for line in per_class],
            }
        )


class ProblemViewSet(
    ReviewAPIMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """/reviews/{review_pk}/problems/: the review's drug-related problems and their recommendations."""

    serializer_class = s.ProblemSerializer
    http_method_names = ["get", "post", "patch"]

    def get_review(self):
        if not hasattr(self, "_review"):
            self._review = selectors.review_get(user=self.request.user, review_id=self.kwargs["review_pk"])
        return self._review

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Problem.objects.none()
        return self.get_review().problems.prefetch_related("medications", "recommendations")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "review_pk" in self.kwargs and self.request.user.is_authenticated:
            context["review"] = self.get_review()
        return context

    def create(self, request, *args, **kwargs):
        review = self.get_review()
        data = self.body(s.ProblemSerializer)
        data.pop("version", None)
        medications = data.pop("medications", [])
        problem = services.problem_add(review=review, data=data, medications=medications, by=self.actor())
        return Response(self.get_serializer(problem).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        problem = self.get_object()
        data = self.body(s.ProblemSerializer, instance=problem, partial=True)
        medications = data.pop("medications", None)
        problem = services.problem_update(
            problem=problem, data=data, version=data.pop("version"), by=self.actor()
        )
        if medications is not None and not problem.review.is_locked:
            problem.medications.set(medications)
        return Response(self.get_serializer(problem).data)

    @extend_schema(request=s.RecommendationSerializer, responses=s.RecommendationSerializer)
    @action(detail=True, methods=["post"])
    def recommendations(self, request, review_pk=None, pk=None):
        problem = self.get_object()
        data = self.body(s.RecommendationSerializer)
        data.pop("version", None)
        confirmed = data.pop("prescriber_confirmed", False)
        recommendation = services.recommendation_add(
            problem=problem, data=data, prescriber_confirmed=confirmed, by=self.actor()
        )
        return Response(
            s.RecommendationSerializer(recommendation, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class RecommendationViewSet(ReviewAPIMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recommendations to prescribers and their answers, which staff record as they come back."""

    serializer_class = s.RecommendationSerializer
    write_capability = Capability.RESPONSE_RECORD

    def get_queryset(self):
        return selectors.recommendations_visible_to(self.request.user)

    @extend_schema(responses=s.RecommendationSerializer(many=True))
    @action(detail=False, methods=["get"])
    def overdue(self, request):
        """Sent to a prescriber and not answered within the organisation's number of days."""
        overdue = selectors.awaiting_answer(user=request.user, today=timezone.localdate())
        page = self.paginate_queryset(overdue)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=s.ResponseSerializer, responses=s.RecommendationSerializer)
    @action(detail=True, methods=["post"], url_path="response")
    def answer(self, request, pk=None):
        """Record the prescriber's answer, or correct it (send again) and the day the letter was sent."""
        recommendation = get_object_or_404(self.get_queryset(), pk=pk)
        data = self.body(s.ResponseSerializer)
        corrections = {"sent_on": data["sent_on"]} if "sent_on" in data else {}
        recommendation = services.prescriber_response_record(
            recommendation=recommendation, response=data["response"], on=data["response_on"],
            note=data["response_note"], version=data["version"], by=self.actor(), **corrections,
        )  # fmt: skip
        return Response(self.get_serializer(recommendation).data)


class MeasureRatesView(APIView):
    """The organisation's quality measure rates for a measurement year, from the results the last
    program run stored (reviews/program.py): not official PQA or CMS rates."""

    read_capability = Capability.REPORTS_VIEW
    write_capability = Capability.REPORTS_VIEW

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True, description="The measurement year")],
        responses=s.MeasureRatesResponseSerializer,
    )
    def get(self, request):
        query = s.MeasureYearSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data["year"]
        organisation = request.user.organisation
        try:
            rates = program.organisation_rates(organisation=organisation, year=year)
        except MeasureRulesError as error:
            raise ValidationError({"year": [str(error)]}) from error
        run = program.latest_run(organisation=organisation, year=year)
        done = program.latest_run(organisation=organisation, year=year, done=True)
        return Response(
            {
                "year": year,
                "computed_at": done.finished_at if done else None,
                "run_status": run.status if run else None,
                "measures": s.MeasureRateSerializer(rates, many=True).data,
            }
        )
