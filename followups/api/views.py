"""The follow-up API: the agenda and queue as data, booking, moving and closing, through the same
services and organisation scoping as the pages."""

import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from followups import selectors, services
from followups.api import serializers as s
from followups.models import FollowUp, FollowUpStatus
from mtm.audit import actor_from_request, audit_record
from mtm.models import AuditAction
from mtm.permissions import Capability

FILTERS = [
    OpenApiParameter("status", str, description="scheduled, done, missed or cancelled"),
    OpenApiParameter("assigned_to", str, description="a staff member's id, or `me`"),
    OpenApiParameter("patient", str, description="a patient's id"),
    OpenApiParameter("due_from", OpenApiTypes.DATETIME, description="due at or after (ISO 8601)"),
    OpenApiParameter("due_before", OpenApiTypes.DATETIME, description="due before (ISO 8601)"),
]


@extend_schema(parameters=FILTERS)
class FollowUpViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Follow-ups of the organisation, soonest first. Book one with `patient`, `kind` and `due_at`;
    move or reassign it with PATCH and the version you read; close it with POST .../close/."""

    serializer_class = s.FollowUpSerializer
    http_method_names = ["get", "post", "patch"]
    read_capability = Capability.PATIENT_VIEW
    write_capability = Capability.PATIENT_EDIT

    def actor(self):
        return actor_from_request(self.request, via="api")

    def get_queryset(self):
        rows = (
            selectors.follow_ups_visible_to(self.request.user)
            .select_related(None)  # the API gives the patient's and the staff member's ids alone
            .prefetch_related("reminders")
            .order_by("due_at", "pk")
        )
        if self.action != "list":
            return rows
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in FollowUpStatus.values:
                raise serializers.ValidationError(
                    {"status": [f"Choose one of {', '.join(FollowUpStatus.values)}."]}
                )
            rows = rows.filter(status=params["status"])
        if params.get("assigned_to"):
            rows = rows.filter(
                assigned_to=self.request.user if params["assigned_to"] == "me" else self._uuid("assigned_to")
            )
        if params.get("patient"):
            rows = rows.filter(patient=self._uuid("patient"))
        if params.get("due_from"):
            rows = rows.filter(due_at__gte=self._time("due_from"))
        if params.get("due_before"):
            rows = rows.filter(due_at__lt=self._time("due_before"))
        return rows

    def _uuid(self, name: str) -> str:
        try:
            return str(serializers.UUIDField().to_internal_value(self.request.query_params[name]))
        except serializers.ValidationError:
            raise serializers.ValidationError({name: ["Not a valid id."]}) from None

    def _time(self, name: str) -> datetime.datetime:
        try:
            return serializers.DateTimeField().to_internal_value(self.request.query_params[name])
        except serializers.ValidationError:
            raise serializers.ValidationError(
                {name: ["Not a date and time (ISO 8601, e.g. 2027-03-15T10:00)."]}
            ) from None

    def _body(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, follow_up: FollowUp, code=status.HTTP_200_OK) -> Response:
        follow_up = self.get_queryset().get(pk=follow_up.pk)
        return Response(self.get_serializer(follow_up).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        follow_up = self.get_object()
        audit_record(
            actor=self.actor(), action=AuditAction.VIEW, patient_id=follow_up.patient_id, obj=follow_up
        )
        return Response(self.get_serializer(follow_up).data)

    def create(self, request, *args, **kwargs):
        data = self._body(s.FollowUpSerializer)
        patient = data.pop("patient")
        data.pop("version", None)
        book_anyway = data.pop("book_anyway", False)
        follow_up = services.follow_up_create(
            patient=patient, data=data, by=self.actor(), book_anyway=book_anyway
        )
        return self._answer(follow_up, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        follow_up = self.get_object()
        data = self._body(s.FollowUpSerializer, instance=follow_up, partial=True)
        version = data.pop("version")
        follow_up = services.follow_up_update(
            follow_up=follow_up, data=data, version=version, by=self.actor()
        )
        return self._answer(follow_up)

    @extend_schema(request=s.CloseSerializer, responses=s.FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Done, missed or cancelled, with an optional note; reminders not yet sent are cancelled."""
        data = self._body(s.CloseSerializer)
        follow_up = services.follow_up_close(follow_up=self.get_object(), by=self.actor(), **data)
        return self._answer(follow_up)
