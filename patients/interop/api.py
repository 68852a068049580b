"""The FHIR import API: the same service as the pages (patients/interop/fhir_import.py).

POST /api/v1/imports/ (multipart `files` and `source_system`, optional `patient`) answers 202 with
the import, which the worker reads; GET it until its status is "ready", then see per patient the
lines it proposes, and accept or decline them (all, or by id)."""

from django.core.exceptions import ValidationError as ModelValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mtm.audit import actor_from_request
from mtm.permissions import Capability
from patients import selectors
from patients.interop import fhir_import
from patients.models import FhirImport, FhirImportLine, FhirImportPatient


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = FhirImportLine
        fields = ["id", "number", "category", "action", "summary", "changes", "target_id", "decision"]


class ImportPatientSerializer(serializers.ModelSerializer):
    lines = LineSerializer(many=True, read_only=True)
    patient = serializers.UUIDField(source="patient_id", read_only=True, allow_null=True)

    class Meta:
        model = FhirImportPatient
        fields = ["id", "key", "name", "birth_date", "match", "confirmed", "patient", "lines"]


class ImportSerializer(serializers.ModelSerializer):
    patients = ImportPatientSerializer(many=True, read_only=True)
    target_patient = serializers.UUIDField(source="target_patient_id", read_only=True, allow_null=True)
    report = serializers.JSONField(
        read_only=True,
        help_text="read: resources read by type; skipped: by type, with why; problems: [{where, reason}] "
        "(the first 500; problem_count says how many); patients; lines",
    )

    class Meta:
        model = FhirImport
        fields = [
            "id", "status", "source_system", "file_names", "target_patient", "created_at", "finished_at",
            "error", "report", "patients",
        ]  # fmt: skip


class ImportListSerializer(ImportSerializer):
    class Meta(ImportSerializer.Meta):
        fields = [name for name in ImportSerializer.Meta.fields if name != "patients"]


class ImportRequestSerializer(serializers.Serializer):
    source_system = serializers.CharField(max_length=200, help_text="Where the data comes from")
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text=".json (a Bundle or a resource) or .ndjson",
    )
    patient = serializers.UUIDField(required=False, help_text="Import for this patient (as from their page)")


class DecideSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.UUIDField(), required=False, help_text="The lines' ids")
    all = serializers.BooleanField(
        required=False, default=False, help_text="Every pending line (accept only)"
    )

    def validate(self, data):
        if not data.get("lines") and not data.get("all"):
            raise ValidationError({"lines": ["Name the lines, or send all: true."]})
        return data


class ConfirmSerializer(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The id of the import's patient (not of the record)")
    same_person = serializers.BooleanField()


DecideResult = inline_serializer(
    "ImportDecision",
    {"applied": serializers.IntegerField(), "refused": serializers.IntegerField(),
     "reasons": serializers.DictField(child=serializers.CharField(), help_text="per patient name: why nothing was written")},
)  # fmt: skip


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    read_capability = Capability.PATIENT_EDIT
    write_capability = Capability.PATIENT_EDIT

    def get_queryset(self):
        imports = fhir_import.imports_visible_to(self.request.user).order_by("-created_at")
        if self.action == "retrieve":
            return imports.prefetch_related("patients__lines")
        return imports

    def get_serializer_class(self):
        return ImportListSerializer if self.action == "list" else ImportSerializer

    def actor(self):
        return actor_from_request(self.request, via="api")

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer}, responses={202: ImportSerializer}
    )
    def create(self, request):
        if not isinstance(request.data, dict) and not hasattr(request.data, "getlist"):
            raise ValidationError({"files": ["Send the files as multipart/form-data."]})
        data = {
            "source_system": request.data.get("source_system", ""),
            "files": request.FILES.getlist("files"),
        }
        if request.data.get("patient"):
            data["patient"] = request.data.get("patient")
        body = ImportRequestSerializer(data=data)
        body.is_valid(raise_exception=True)
        target = None
        if body.validated_data.get("patient"):
            target = selectors.patient_get(user=request.user, patient_id=body.validated_data["patient"])
        files = [(f.name, f.read()) for f in body.validated_data["files"]]
        try:
            job = fhir_import.fhir_import_request(
                user=request.user, files=files, source_system=body.validated_data["source_system"],
                by=self.actor(), target_patient=target,
            )  # fmt: skip
        except ModelValidationError as error:
            raise ValidationError(error.message_dict) from None
        return Response(ImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=DecideSerializer, responses=DecideResult)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        job = self.get_object()
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        line_ids = None if body.validated_data["all"] else body.validated_data["lines"]
        return Response(fhir_import.import_lines_apply(job=job, line_ids=line_ids, by=self.actor()))

    @extend_schema(
        request=DecideSerializer,
        responses=inline_serializer("ImportDeclined", {"declined": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        job = self.get_object()
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        line_ids = (
            list(job.lines.values_list("pk", flat=True))
            if body.validated_data["all"]
            else body.validated_data["lines"]
        )
        count = fhir_import.import_lines_decline(job=job, line_ids=line_ids, by=self.actor())
        return Response({"declined": count})

    @extend_schema(request=ConfirmSerializer, responses=ImportPatientSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        job = self.get_object()
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        import_patient = job.patients.filter(pk=body.validated_data["patient"]).first()
        if import_patient is None:
            raise ValidationError({"patient": ["No patient of this import has that id."]})
        try:
            import_patient = fhir_import.import_patient_confirm(
                import_patient=import_patient, same_person=body.validated_data["same_person"], by=self.actor()
            )
        except ModelValidationError as error:
            raise ValidationError({"patient": error.messages}) from None
        return Response(ImportPatientSerializer(import_patient).data)
