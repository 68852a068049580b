"""The patient-record API. Viewsets only translate HTTP to the same services the pages call."""

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from interactions.api.serializers import ScreeningResponseSerializer
from mtm.api.fields import version_from_query
from mtm.audit import actor_from_request, audit_record
from mtm.models import AuditAction
from mtm.permissions import Capability
from patients import selectors, services
from patients.api import serializers as s
from patients.interop.views import record_response
from patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    GeneResult,
    Measurement,
    MedicationEntry,
    PatientFactor,
    PharmacyFill,
)
from reviews.api.serializers import MeasuresResponseSerializer, MeasureYearSerializer, measure_json
from reviews.measures import MeasureRulesError
from reviews.selectors import patient_measures


class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    read_capability = Capability.PATIENT_VIEW
    write_capability = Capability.PATIENT_EDIT

    def actor(self):
        return actor_from_request(self.request, via="api")

    def _run(self, operation, serializer_class=None, *, status_code=status.HTTP_200_OK, **kwargs):
        """Validate the body, call one service inside a transaction, answer with the saved record."""
        serializer = (serializer_class or self.get_serializer_class())(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if serializer.instance is None:
            data.pop("version", None)  # a new record starts at version 1
        with transaction.atomic():
            record = operation(data)
        return Response(self.get_serializer(record).data, status=status_code)


class PatientViewSet(RecordViewSet, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    serializer_class = s.PatientSerializer

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user).order_by(
            "last_name_lower", "first_name_lower"
        )

    @extend_schema(request=s.PatientSearchSerializer, responses=s.PatientSerializer(many=True))
    @action(detail=False, methods=["post"], url_path="search")
    def search(self, request):
        """Patients whose names start with every word of `query`, or born on the date it gives.
        A POST, so that names and birth dates never travel in a URL (or land in access logs)."""
        query = s.PatientSearchSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        patients = selectors.patient_search(user=request.user, query=query.validated_data["query"])
        page = self.paginate_queryset(patients)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        audit_record(actor=self.actor(), action=AuditAction.VIEW, patient_id=patient.pk, obj=patient)
        return Response(self.get_serializer(patient).data)

    @extend_schema(
        responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT},
        description="The patient's record as a FHIR R4 Bundle (collection) following the US Core profiles.",
    )
    @action(detail=True, methods=["get"])
    def fhir(self, request, pk=None):
        return record_response(request, self.get_object())

    @extend_schema(responses=ScreeningResponseSerializer)
    @action(detail=True, methods=["get"])
    def screening(self, request, pk=None):
        """The screening of the patient's active medication list with their age, kidney function,
        allergies and conditions, as on the patient page."""
        patient = self.get_object()
        audit_record(
            actor=self.actor(),
            action=AuditAction.VIEW,
            patient_id=patient.pk,
            changes={"section": "screening"},
        )
        record = selectors.patient_record(patient=patient)
        return Response(selectors.patient_screening(record, today=timezone.localdate()).response)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year", int, required=True, description="The measurement year (1 January - 31 December)"
            )
        ],
        responses=MeasuresResponseSerializer,
    )
    @action(detail=True, methods=["get"])
    def measures(self, request, pk=None):
        """The quality measures of a measurement year computed from the patient's fills (not official
        PQA or CMS rates): per measure whether the patient is in the denominator, the exclusion that
        applied, the figure (PDC with its days, or days of concurrent use) and whether it is met."""
        patient = self.get_object()
        year = MeasureYearSerializer(data=request.query_params)
        year.is_valid(raise_exception=True)
        today = timezone.localdate()
        try:
            results = patient_measures(patient, year=year.validated_data["year"], today=today)
        except MeasureRulesError as error:
            raise ValidationError({"year": [str(error)]}) from error
        audit_record(
            actor=self.actor(),
            action=AuditAction.VIEW,
            patient_id=patient.pk,
            changes={"section": "measures"},
        )
        return Response({"year": year.validated_data["year"], "measures": [measure_json(r) for r in results]})

    def create(self, request, *args, **kwargs):
        return self._run(
            lambda data: services.patient_create(
                organisation=request.user.organisation, data=data, by=self.actor()
            ),
            status_code=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, partial=False, **kwargs):
        patient = self.get_object()
        return self._run(
            lambda data: services.patient_update(
                patient=patient, data=data, version=data.pop("version"), by=self.actor()
            ),
            instance=patient,
            partial=partial,
        )


class PrescriberViewSet(RecordViewSet, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    serializer_class = s.PrescriberSerializer
    write_capability = Capability.PRESCRIBER_EDIT

    def get_queryset(self):
        return selectors.prescribers_visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        return self._run(
            lambda data: services.prescriber_create(
                organisation=request.user.organisation, data=data, by=self.actor()
            ),
            status_code=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, partial=False, **kwargs):
        prescriber = self.get_object()
        return self._run(
            lambda data: services.prescriber_update(
                prescriber=prescriber, data=data, version=data.pop("version"), by=self.actor()
            ),
            instance=prescriber,
            partial=partial,
        )


class PatientRecordViewSet(RecordViewSet, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    """A list that belongs to one patient: /patients/{patient_pk}/<list>/. The patient is looked up
    through the organisation-scoped selector first, so another organisation's patient is a 404."""

    model = None
    add_service = None  # service(patient=, data=, by=)
    update_service = None  # service(<record>, data=, version=, by=)

    def get_patient(self):
        if not hasattr(self, "_patient"):
            self._patient = selectors.patient_get(
                user=self.request.user, patient_id=self.kwargs["patient_pk"]
            )
        return self._patient

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return self.model.objects.none()
        return self.model.objects.filter(patient=self.get_patient())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "patient_pk" in self.kwargs and self.request.user.is_authenticated:
            context["patient"] = self.get_patient()
        return context

    def list(self, request, *args, **kwargs):
        patient = self.get_patient()
        audit_record(
            actor=self.actor(),
            action=AuditAction.VIEW,
            patient_id=patient.pk,
            changes={"section": str(self.model._meta.verbose_name_plural)},
        )
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        audit_record(actor=self.actor(), action=AuditAction.VIEW, patient_id=record.patient_id, obj=record)
        return Response(self.get_serializer(record).data)

    def create(self, request, *args, **kwargs):
        patient = self.get_patient()
        return self._run(
            lambda data: type(self).add_service(patient=patient, data=data, by=self.actor()),
            status_code=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, partial=False, **kwargs):
        record = self.get_object()
        return self._run(
            lambda data: type(self).update_service(
                record, data=data, version=data.pop("version"), by=self.actor()
            ),
            instance=record,
            partial=partial,
        )

    def end(self, serializer_class, operation):
        """POST .../<id>/<stop|inactivate|resolve>/: one service ends the item."""
        record = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            operation(record, dict(serializer.validated_data))
        return Response(self.get_serializer(record).data)


class MedicationViewSet(PatientRecordViewSet):
    model = MedicationEntry
    serializer_class = s.MedicationSerializer
    add_service = services.medication_add
    update_service = staticmethod(lambda entry, **kw: services.medication_update(entry=entry, **kw))

    def get_queryset(self):
        return super().get_queryset().select_related("prescriber").order_by("status", Lower("name"))

    @extend_schema(request=s.MedicationStopSerializer, responses=s.MedicationSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, *args, **kwargs):
        return self.end(
            s.MedicationStopSerializer,
            lambda entry, data: services.medication_stop(
                entry=entry,
                on=data["stop_date"],
                reason=data["stop_reason"],
                version=data["version"],
                by=self.actor(),
            ),
        )


class AllergyViewSet(PatientRecordViewSet):
    model = Allergy
    serializer_class = s.AllergySerializer
    add_service = services.allergy_add
    update_service = staticmethod(lambda allergy, **kw: services.allergy_update(allergy=allergy, **kw))

    @extend_schema(request=s.AllergyInactivateSerializer, responses=s.AllergySerializer)
    @action(detail=True, methods=["post"])
    def inactivate(self, request, *args, **kwargs):
        return self.end(
            s.AllergyInactivateSerializer,
            lambda allergy, data: services.allergy_inactivate(
                allergy=allergy, reason=data["reason"], version=data["version"], by=self.actor()
            ),
        )


class ConditionViewSet(PatientRecordViewSet):
    model = Condition
    serializer_class = s.ConditionSerializer
    add_service = services.condition_add
    update_service = staticmethod(
        lambda condition, **kw: services.condition_update(condition=condition, **kw)
    )

    @extend_schema(request=s.ConditionResolveSerializer, responses=s.ConditionSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, *args, **kwargs):
        return self.end(
            s.ConditionResolveSerializer,
            lambda condition, data: services.condition_resolve(
                condition=condition, on=data["resolved_date"], version=data["version"], by=self.actor()
            ),
        )


class GeneResultViewSet(PatientRecordViewSet):
    model = GeneResult
    serializer_class = s.GeneResultSerializer
    add_service = services.gene_result_add
    update_service = staticmethod(lambda result, **kw: services.gene_result_update(result=result, **kw))

    def get_queryset(self):
        return super().get_queryset().order_by("status", "gene", "allele")

    @extend_schema(request=s.GeneResultErrorSerializer, responses=s.GeneResultSerializer)
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request, *args, **kwargs):
        return self.end(
            s.GeneResultErrorSerializer,
            lambda result, data: services.gene_result_entered_in_error(
                result=result, reason=data["reason"], version=data["version"], by=self.actor()
            ),
        )


class PatientFactorViewSet(PatientRecordViewSet):
    model = PatientFactor
    serializer_class = s.PatientFactorSerializer
    add_service = services.factor_add
    update_service = staticmethod(lambda factor, **kw: services.factor_update(factor=factor, **kw))

    def get_queryset(self):
        return super().get_queryset().order_by("status", "-noted_on", "factor")

    @extend_schema(request=s.PatientFactorEndSerializer, responses=s.PatientFactorSerializer)
    @action(detail=True, methods=["post"], url_path="end")
    def no_longer_applies(self, request, *args, **kwargs):
        return self.end(
            s.PatientFactorEndSerializer,
            lambda factor, data: services.factor_end(
                factor=factor, on=data["ended_on"], version=data["version"], by=self.actor()
            ),
        )


def _measurement_add(*, patient, data, by):
    return services.measurement_record(patient=patient, data=data, unit=data.pop("unit", None), by=by)


def _measurement_update(measurement, *, data, version, by):
    return services.measurement_update(
        measurement=measurement, data=data, unit=data.pop("unit", None), version=version, by=by
    )


class MeasurementViewSet(PatientRecordViewSet):
    model = Measurement
    serializer_class = s.MeasurementSerializer
    add_service = staticmethod(_measurement_add)
    update_service = staticmethod(_measurement_update)

    def get_queryset(self):
        return super().get_queryset().order_by("kind", "-measured_on")


class FillViewSet(PatientRecordViewSet):
    model = PharmacyFill
    serializer_class = s.FillSerializer
    add_service = services.fill_record
    update_service = staticmethod(lambda fill, **kw: services.fill_update(fill=fill, **kw))


class CareTeamViewSet(PatientRecordViewSet, mixins.DestroyModelMixin):
    model = CareTeamMember
    serializer_class = s.CareTeamMemberSerializer
    add_service = services.care_team_add
    update_service = staticmethod(lambda member, **kw: services.care_team_update(member=member, **kw))

    def get_queryset(self):
        return super().get_queryset().select_related("prescriber")

    def create(self, request, *args, **kwargs):
        patient = self.get_patient()
        return self._run(
            lambda data: services.care_team_add(patient=patient, by=self.actor(), **data),
            status_code=status.HTTP_201_CREATED,
        )

    @extend_schema(parameters=[OpenApiParameter("version", int, required=True)])
    def destroy(self, request, *args, **kwargs):
        member = self.get_object()
        version = version_from_query(request)
        services.care_team_remove(member=member, version=version, by=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)
