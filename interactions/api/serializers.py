from rest_framework import serializers


class ScreeningRequestSerializer(serializers.Serializer):
    """Documents the request; the engine itself validates it and names the bad field."""

    patient = serializers.DictField(
        required=False,
        help_text="age, sex ('female'/'male'), weight_kg, serum_creatinine_mg_dl, allergies [text], conditions [ICD-10-CM]",
    )
    medications = serializers.ListField(
        child=serializers.DictField(), help_text='[{"name": "Coumadin 5 mg"} or {"rxcui": "6809"}]'
    )


class ScreeningResponseSerializer(serializers.Serializer):
    knowledge_base = serializers.DictField()
    resolved = serializers.ListField(child=serializers.DictField())
    unresolved = serializers.ListField(child=serializers.CharField())
    patient_context = serializers.DictField()
    findings = serializers.ListField(child=serializers.DictField())
