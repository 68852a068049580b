from rest_framework import serializers


class ScreeningRequestSerializer(serializers.Serializer):
    """Documents the request; the engine itself validates it and names the bad field."""

    patient = serializers.DictField(
        required=False,
        help_text=(
            "age, sex ('female'/'male'), weight_kg, height_cm, serum_creatinine_mg_dl, egfr_ml_min_1_73m2, "
            "potassium_mmol_l, qtc_ms, allergies [text, or {substance, reaction, type: allergy|intolerance}], "
            "conditions [ICD-10-CM], pregnant (bool), gestational_weeks, lactating (bool), pharmacogenomics "
            '[{"gene": "CYP2C19", "phenotype": "poor metabolizer"} or {"gene": "HLA-B", "allele": "*57:01", '
            '"result": "positive"}], lifestyle [grapefruit, alcohol, smoking, vitamin k rich diet, '
            "tyramine rich food, dairy, caffeine, high potassium diet, licorice]"
        ),
    )
    medications = serializers.ListField(
        child=serializers.DictField(),
        help_text='[{"name": "Coumadin 5 mg", "dose": "1 tablet daily"} or {"rxcui": "6809"}]; a name has at most '
        "200 characters and may carry its directions; `dose` (optional) is the strength and directions",
    )


class ScreeningResponseSerializer(serializers.Serializer):
    knowledge_base = serializers.DictField()
    resolved = serializers.ListField(child=serializers.DictField())
    unresolved = serializers.ListField(child=serializers.CharField())
    partly_recognised = serializers.ListField(
        child=serializers.CharField(),
        help_text="entries screened for the ingredients recognised, with words left over that may name more",
    )
    patient_context = serializers.DictField()
    findings = serializers.ListField(child=serializers.DictField())
