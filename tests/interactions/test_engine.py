"""The engine's mechanics, on the small fixture knowledge base (tests/interactions/fixture_kb)."""

import pytest

from interactions.engine import ScreeningInputError, screen
from interactions.engine.patient import crcl_cockcroft_gault


def run(kb, *names, **patient):
    return screen({"patient": patient, "medications": [{"name": n} for n in names]}, kb)


def kinds(response, kind):
    return [f for f in response["findings"] if f["kind"] == kind]


def ingredients_of(response, text):
    entry = next(r for r in response["resolved"] if r["input"] == text)
    return [i["name"] for i in entry["ingredients"]]


# --- Resolution ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "ingredients"),
    [
        ("Zocor 40 mg tablet", ["simvastatin"]),
        ("ZOCOR", ["simvastatin"]),
        ("simvastatin 20mg", ["simvastatin"]),
        ("APAP 500", ["acetaminophen"]),
        ("Tylenol Extra Strength", ["acetaminophen"]),
        ("Norco 10-325", ["acetaminophen", "hydrocodone"]),
        ("HCTZ 25", ["hydrochlorothiazide"]),
        ("lisinopril 10 mg / HCTZ 12.5 mg", ["hydrochlorothiazide", "lisinopril"]),
        ("Benadryl at night", ["diphenhydramine"]),
        ("calcium + D", ["fish oil"]),
        ("hierba (Coumadin)", ["warfarin"]),
        ("Coumadin (blood thinner)", ["warfarin"]),
    ],
)
def test_what_people_type_resolves_to_ingredients(kb, typed, ingredients):
    assert ingredients_of(run(kb, typed), typed) == ingredients


@pytest.mark.parametrize("typed", ["zzzfakemab", "Coumadin (Advil)", "(unclosed", "Tylenol #9"])
def test_unknown_names_are_unresolved_never_guessed(kb, typed):
    response = run(kb, typed)
    assert response["unresolved"] == [typed]
    assert response["resolved"] == []


@pytest.mark.parametrize(
    ("typed", "known"),
    [("Advil PM", ["ibuprofen"]), ("Aleve Sinus", ["naproxen"]), ("Tylenol with codeine", ["acetaminophen"])],
)
def test_a_product_with_more_ingredients_than_found_is_partly_recognised(kb, typed, known):
    """Screened for what is known, never silently taken for the plain product."""
    response = run(kb, typed)
    assert response["partly_recognised"] == [typed]
    assert ingredients_of(response, typed) == known
    assert response["resolved"][0]["partly_recognised"] is True


@pytest.mark.parametrize(
    ("typed", "directions"),
    [
        ("Benadryl at night", "at night"),
        ("metformin 500 mg with meals", "with meals"),
        ("Tylenol 500 mg 2 tabs q6h prn for pain", "2 tabs q6h prn for pain"),
        ("amoxicillin 500 mg tid x7d", "tid x7d"),
        ("Coumadin 5 mg as directed", "as directed"),
        ("lisinopril 10 mg with supper", "with supper"),
    ],
)
def test_directions_in_an_entry_never_change_the_product(kb, typed, directions):
    response = run(kb, typed)
    entry = response["resolved"][0]
    assert response["unresolved"] == [] and response["partly_recognised"] == []
    assert entry["directions"] == directions
    assert "ignored_words" not in entry


def test_rxcui_resolves_and_an_unknown_one_is_reported(kb):
    response = screen({"medications": [{"rxcui": "6809"}, {"rxcui": 11289}, {"rxcui": "999999"}]}, kb)
    assert [i["name"] for r in response["resolved"] for i in r["ingredients"]] == ["metformin", "warfarin"]
    assert response["unresolved"] == ["rxcui 999999"]


# --- Cockcroft-Gault -------------------------------------------------------------------------------


def test_cockcroft_gault():
    # (140 - 82) x 58 / (72 x 1.6) x 0.85 = 24.8
    assert crcl_cockcroft_gault(age=82, sex="female", weight_kg=58, serum_creatinine_mg_dl=1.6) == 24.8
    # (140 - 40) x 70 / (72 x 1.0) = 97.2
    assert crcl_cockcroft_gault(age=40, sex="male", weight_kg=70, serum_creatinine_mg_dl=1.0) == 97.2


def test_patient_context_says_what_is_missing_for_kidney_dosing(kb):
    context = run(kb, "metformin", age=80, sex="female", serum_creatinine_mg_dl=2.0)["patient_context"]
    # No weight: no Cockcroft-Gault; kidney rules use the CKD-EPI 2021 eGFR instead (25 at 80, female, 2.0).
    assert context == {
        "crcl_ml_min": None,
        "crcl_missing": ["weight_kg"],
        "crcl_method": "ckd-epi 2021",
        "egfr_ml_min_1_73m2": 25,
        "egfr_method": "ckd-epi 2021",
    }


# --- Interactions --------------------------------------------------------------------------------


def test_a_group_rule_fires_for_members_and_explains_why(kb):
    finding = kinds(run(kb, "Biaxin", "midazolam"), "interaction")[0]
    assert (finding["severity"], finding["drugs"]) == ("major", ["clarithromycin", "midazolam"])
    assert finding["why"] == (
        "clarithromycin is a strong CYP3A4 inhibitor; midazolam is a sensitive CYP3A4 substrate"
    )
    assert finding["sources"] == ["Test reference."]


def test_a_specific_rule_replaces_the_generic_one_for_its_pair(kb):
    findings = kinds(run(kb, "Zocor 40 mg", "Biaxin 500 mg"), "interaction")
    assert [(f["rule"], f["severity"]) for f in findings] == [
        ("simvastatin-strong-inhibitor", "contraindicated")
    ]
    assert findings[0]["inputs"] == ["Biaxin 500 mg", "Zocor 40 mg"]


def test_class_members_outside_the_rule_do_not_fire(kb):
    assert kinds(run(kb, "pravastatin", "Biaxin"), "interaction") == []


def test_except_keeps_a_member_out(kb):
    response = run(kb, "Coumadin", "Advil", "Aleve")
    assert [f["drugs"] for f in kinds(response, "interaction")] == [["ibuprofen", "warfarin"]]


def test_a_rule_of_three_drugs_needs_all_three(kb):
    assert [f["rule"] for f in kinds(run(kb, "Zestoretic", "Advil"), "interaction")] == ["triple-whammy"]
    assert kinds(run(kb, "lisinopril", "Advil"), "interaction") == []


# --- Duplication ---------------------------------------------------------------------------------


def test_the_same_ingredient_from_two_products(kb):
    finding = kinds(run(kb, "Tylenol Extra Strength", "Norco 10-325"), "duplication")[0]
    assert (finding["severity"], finding["drugs"]) == ("major", ["acetaminophen"])
    assert finding["management"] == "Keep the total under 3 g a day."
    assert "“Tylenol Extra Strength”" in finding["why"] and "“Norco 10-325”" in finding["why"]


def test_two_members_of_a_class_marked_for_duplication(kb):
    finding = kinds(run(kb, "Advil", "Aleve"), "duplication")[0]
    assert (finding["severity"], finding["drugs"], finding["title"]) == (
        "major",
        ["ibuprofen", "naproxen"],
        "Two or more NSAIDs",
    )
    assert kinds(run(kb, "lisinopril", "HCTZ"), "duplication") == []  # classes without a duplication setting


# --- Patient-dependent rules ---------------------------------------------------------------------


def test_elderly_rules_apply_from_65(kb):
    assert kinds(run(kb, "Benadryl", age=64), "elderly") == []
    finding = kinds(run(kb, "Benadryl", age=65), "elderly")[0]
    assert finding["why"] == "the patient is 65; diphenhydramine is potentially inappropriate from age 65"
    assert kinds(run(kb, "Benadryl"), "elderly") == []  # age unknown: no guess


@pytest.mark.parametrize(
    ("creatinine", "severity"), [(3.0, "contraindicated"), (1.2, "moderate"), (0.9, None)]
)
def test_renal_thresholds_follow_creatinine_clearance(kb, creatinine, severity):
    # woman, 75, 60 kg: CrCl 15.3 / 38.4 / 51.2 mL/min
    findings = kinds(
        run(kb, "metformin", age=75, sex="female", weight_kg=60, serum_creatinine_mg_dl=creatinine), "renal"
    )
    assert [f["severity"] for f in findings] == ([severity] if severity else [])


def test_drug_disease_by_icd10cm_prefix(kb):
    assert kinds(run(kb, "propranolol", conditions=["J45.909"]), "disease")[0]["why"] == (
        "the patient has asthma (J45.909) and takes propranolol"
    )
    assert kinds(run(kb, "metoprolol", conditions=["J45.909"]), "disease") == []
    assert kinds(run(kb, "propranolol", conditions=["J44.9"]), "disease") == []


def test_a_disease_rule_with_a_minimum_age(kb):
    assert kinds(run(kb, "Advil", conditions=["I50.22"], age=60), "disease") == []
    assert kinds(run(kb, "Advil", conditions=["I50.22"], age=70), "disease")[0]["severity"] == "major"


def test_allergy_same_drug_class_member_and_cross_reaction(kb):
    same = kinds(run(kb, "amoxicillin", allergies=["amoxicillin"]), "allergy")[0]
    assert same["severity"] == "contraindicated"
    assert (
        kinds(run(kb, "amoxicillin", allergies=["Penicillin (hives)"]), "allergy")[0]["severity"] == "major"
    )
    member = kinds(run(kb, "amoxicillin", allergies=["PCN"]), "allergy")[0]
    assert member["severity"] == "major" and "one of the penicillins" in member["why"]
    cross = kinds(run(kb, "cephalexin", allergies=["penicillin"]), "allergy")[0]
    assert cross["severity"] == "minor" and "one of the cephalosporins" in cross["why"]
    assert (
        "cross-reactivity is low" in cross["management"].lower()
    )  # the advice matches the low risk it states
    assert kinds(run(kb, "lisinopril", allergies=["penicillin"]), "allergy") == []


def test_anticholinergic_burden_counts_each_drug_once_and_fires_at_3(kb):
    assert kinds(run(kb, "metoprolol", "Coumadin"), "anticholinergic-burden") == []
    finding = kinds(run(kb, "Benadryl", "metoprolol", "Benadryl at night"), "anticholinergic-burden")[0]
    assert finding["title"] == "Anticholinergic burden score 4"
    assert finding["drugs"] == ["diphenhydramine", "metoprolol"]


# --- The contract --------------------------------------------------------------------------------


def test_findings_are_ordered_by_severity_and_deterministic(kb):
    request = {
        "patient": {"age": 80, "allergies": ["pcn"], "conditions": ["J45"]},
        "medications": [
            {"name": n}
            for n in ["Benadryl", "Zocor", "Biaxin", "amoxicillin", "Coumadin", "Advil", "propranolol"]
        ],
    }
    first = screen(request, kb)
    severities = [f["severity"] for f in first["findings"]]
    order = ["contraindicated", "major", "moderate", "minor"]
    assert severities == sorted(severities, key=order.index)
    assert screen(request, kb) == first
    assert all(name == name.lower() for f in first["findings"] for name in f["drugs"])
    assert first["knowledge_base"] == {"version": "test-1", "sources": ["Test reference."]}


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ([], "request"),
        ({}, "medications"),
        ({"medications": "aspirin"}, "medications"),
        ({"medications": [{"dose": 1}]}, "medications[0]"),
        ({"medications": [{"name": ""}]}, "medications[0].name"),
        ({"medications": [{"rxcui": "abc"}]}, "medications[0].rxcui"),
        ({"medications": [], "patient": {"age": "old"}}, "patient.age"),
        ({"medications": [], "patient": {"weight_kg": -1}}, "patient.weight_kg"),
        ({"medications": [], "patient": {"weight_kg": 0}}, "patient.weight_kg"),
        ({"medications": [], "patient": {"sex": "unknown"}}, "patient.sex"),
        ({"medications": [], "patient": {"serum_creatinine_mg_dl": True}}, "patient.serum_creatinine_mg_dl"),
        ({"medications": [], "patient": {"allergies": "penicillin"}}, "patient.allergies"),
        ({"medications": [], "patient": {"conditions": ["heart failure"]}}, "patient.conditions[0]"),
        ({"medications": [], "patient": {"height_cm": 5}}, "patient.height_cm"),
        ({"medications": [], "patient": []}, "patient"),
    ],
)
def test_bad_input_names_the_field(kb, request_body, field):
    with pytest.raises(ScreeningInputError) as error:
        screen(request_body, kb)
    assert field in error.value.errors


def test_a_rule_between_members_of_one_group_explains_both(kb):
    # three or more members make one finding too: tests/interactions/scenarios/review.yaml
    finding = kinds(run(kb, "metoprolol", "propranolol", conditions=["E87.6"]), "interaction")[0]
    assert finding["why"] == (
        "metoprolol and propranolol: each a QT-prolonging drug; "
        "a risk factor for torsades de pointes is on record (E87.6)"
    )
