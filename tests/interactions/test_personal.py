"""Screening that depends on the patient: directions and doses, kidney function as the record gives
it, genes, pregnancy, lifestyle, risk factors, intolerances (mechanics, on the fixture knowledge base;
the clinical content is in tests/interactions/scenarios)."""

import time

import pytest

from interactions.engine import ScreeningInputError, screen
from interactions.engine.patient import (
    ckd_stage,
    cockcroft_gault_weight,
    egfr_ckd_epi_2021,
    ideal_body_weight,
)
from interactions.engine.sig import parse_dose, split_directions


def run(kb, *names, doses=(), **patient):
    medications = [{"name": n} for n in names]
    for medication, dose in zip(medications, doses, strict=False):
        medication["dose"] = dose
    return screen({"patient": patient, "medications": medications}, kb)


def kinds(response, kind):
    return [f for f in response["findings"] if f["kind"] == kind]


# --- Directions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "product", "directions"),
    [
        ("metformin 1000 mg twice daily", "metformin 1000 mg", "twice daily"),
        ("Tylenol ES 500 mg 2 tabs q6h prn", "Tylenol ES 500 mg", "2 tabs q6h prn"),
        ("metformin 500 mg with meals", "metformin 500 mg", "with meals"),
        ("lisinopril 10 mg with supper", "lisinopril 10 mg", "with supper"),
        ("zolpidem 5 mg at bedtime", "zolpidem 5 mg", "at bedtime"),
        ("Advil as needed for pain", "Advil", "as needed for pain"),
        ("amoxicillin 500 mg tid x7d", "amoxicillin 500 mg", "tid x7d"),
        ("prednisone 10 mg daily x 5 days", "prednisone 10 mg", "daily x 5 days"),
        ("Lasix 40 mg BID", "Lasix 40 mg", "BID"),
        ("albuterol 2 puffs q4h prn wheezing", "albuterol", "2 puffs q4h prn wheezing"),
        ("Tylenol with Codeine #3 at bedtime", "Tylenol with Codeine #3", "at bedtime"),
        ("Claritin D 12 hour", "Claritin D 12 hour", ""),
        ("Mucinex DM", "Mucinex DM", ""),
        ("One A Day Women's", "One A Day Women's", ""),
        ("vitamin D3 2000 IU every morning", "vitamin D3 2000 IU", "every morning"),
        ("levothyroxine 88 mcg on an empty stomach", "levothyroxine 88 mcg", "on an empty stomach"),
    ],
)
def test_directions_are_split_from_the_product(entry, product, directions):
    assert split_directions(entry) == (product, directions)


@pytest.mark.parametrize(
    ("product", "directions", "strengths", "units", "times", "weekly"),
    [
        ("metformin 1000 mg", "twice daily", (1000,), None, 2, False),
        ("Tylenol ES 500 mg", "2 tabs q6h prn", (500,), 2, 4, False),
        (
            "Norco 10-325",
            "1-2 tablets every 4-6 hours as needed, max 8 tablets per day",
            (10, 325),
            2,
            4,
            False,
        ),
        ("methotrexate 2.5 mg", "6 tablets once weekly", (2.5,), 6, None, True),
        ("levothyroxine 88 mcg", "daily", (0.088,), None, 1, False),
        ("Tylenol", "take 1000 mg three times a day", (1000,), 1, 3, False),
        ("oxycodone 5 mg", "1 tab every 4 hours as needed", (5,), 1, 6, False),
        ("apixaban 2.5 mg", "BID", (2.5,), None, 2, False),
        ("metformin 500 mg", "with meals", (500,), None, 3, False),
        ("aspirin 81 mg", "every other day", (81,), None, 0.5, False),
        ("amoxicillin", "875 mg q12h", (875,), 1, 2, False),
        ("insulin glargine", "20 units at bedtime", (), None, 1, False),
        ("metformin 1000 mg", "1 tablet 2 (two) times a day with meals", (1000,), 1, 2, False),
        ("carvedilol 6.25 mg", "1 and 1/2 tablets twice daily", (6.25,), 1.5, 2, False),
        ("amoxicillin 500 mg", "1 capsule every 8 (eight) hours", (500,), 1, 3, False),
        ("prednisone 10 mg", "every other night", (10,), None, 0.5, False),
    ],
)
def test_the_dose_is_read_where_the_words_say_it(product, directions, strengths, units, times, weekly):
    dose = parse_dose(product, directions)
    assert (dose.strengths, dose.units_per_dose, dose.times_per_day, dose.weekly) == (
        strengths,
        units,
        times,
        weekly,
    )


def test_a_patch_is_read_per_hour():
    dose = parse_dose("fentanyl 25 mcg/hr patch", "every 72 hours")
    assert dose.per_hour_mcg and dose.strengths == (25,)


# --- Doses ---------------------------------------------------------------------------------------


def test_acetaminophen_is_added_up_across_products(kb):
    response = run(
        kb, "Tylenol ES 500 mg 2 tabs q6h prn", "Norco 10-325", doses=["", "1 tablet every 6 hours"]
    )
    finding = kinds(response, "dose")[0]
    assert finding["drugs"] == ["acetaminophen"] and finding["daily_mg"] == 5300
    assert "4,000 mg" in finding["why"] and "1,300 mg" in finding["why"]  # 325 x 4 from Norco
    norco = next(r for r in response["resolved"] if r["input"] == "Norco 10-325")
    assert norco["dose"]["times_per_day"] == 4


def test_the_lower_maximum_applies_when_its_conditions_hold(kb):
    assert kinds(run(kb, "Tylenol 500 mg", doses=["2 tablets every 6 hours"], age=50), "dose") == []
    older = kinds(run(kb, "Tylenol 500 mg", doses=["2 tablets every 6 hours"], age=70), "dose")[0]
    assert "above 3,000 mg" in older["why"] and older["management"].startswith("Keep to 3,000 mg")


def test_an_unread_dose_is_never_counted_and_is_named(kb):
    response = run(kb, "Tylenol ES 500 mg 2 tabs q4h", "Norco")
    finding = kinds(response, "dose")[0]
    assert finding["daily_mg"] == 6000 and "not counted, dose unread: Norco" in finding["why"]
    assert kinds(run(kb, "Tylenol", "Norco"), "dose") == []


def test_a_weekly_drug_on_a_daily_schedule(kb):
    assert kinds(run(kb, "metformin 2.5 mg once weekly"), "dose") == []
    assert kinds(run(kb, "metformin 2.5 mg daily"), "dose")[0]["severity"] == "major"


def test_label_dose_adjustment_needs_its_criteria(kb):
    high = {"doses": ["5 mg twice daily"], "age": 82, "weight_kg": 55, "sex": "female"}
    finding = kinds(run(kb, "warfarin", **high), "dose")[0]
    assert "age 80 or over and weight 60 kg or less" in finding["why"]
    assert kinds(run(kb, "warfarin", doses=["2.5 mg twice daily"], age=82, weight_kg=55), "dose") == []
    assert kinds(run(kb, "warfarin", doses=["5 mg twice daily"], age=82, weight_kg=80), "dose") == []


def test_morphine_milligram_equivalents_add_up(kb):
    finding = kinds(run(kb, "hydrocodone 10 mg every 4 hours"), "dose")[0]
    assert (finding["severity"], finding["daily_mme"]) == ("moderate", 60)
    assert kinds(run(kb, "hydrocodone 5 mg every 6 hours"), "dose") == []


# --- Kidney function -----------------------------------------------------------------------------


def test_ckd_epi_2021_without_race():
    # 142 x (1.0/0.9)^-1.200 x 0.9938^60 = 86 (man); x (1.0/0.7)^-1.200 x 1.012 for a woman = 64
    assert egfr_ckd_epi_2021(age=60, sex="male", serum_creatinine_mg_dl=1.0) == 86
    assert egfr_ckd_epi_2021(age=60, sex="female", serum_creatinine_mg_dl=1.0) == 64


def test_cockcroft_gault_weight_follows_height_and_the_label():
    assert ideal_body_weight(sex="male", height_cm=177.8) == 73.0  # 70 inches: 50 + 2.3 x 10
    assert cockcroft_gault_weight(sex="male", weight_kg=60, height_cm=177.8)[0] == 60  # below ideal: actual
    assert cockcroft_gault_weight(sex="male", weight_kg=80, height_cm=177.8)[0] == 73.0  # up to 120%: ideal
    assert cockcroft_gault_weight(sex="male", weight_kg=120, height_cm=177.8)[0] == 91.8  # 73 + 0.4 x 47
    assert cockcroft_gault_weight(sex="male", weight_kg=120, height_cm=177.8, rule_weight="actual")[0] == 120
    assert "height not recorded" in cockcroft_gault_weight(sex="male", weight_kg=120, height_cm=None)[1]


def test_ckd_stage_codes():
    assert ckd_stage(["I10", "N184"])[0] == "N184"
    assert ckd_stage(["N1831", "N185"])[0] == "N185"  # the most advanced
    assert ckd_stage(["E119"]) is None


def test_no_cockcroft_gault_under_18(kb):
    context = run(kb, "metformin", age=15, sex="male", weight_kg=60, serum_creatinine_mg_dl=0.8)[
        "patient_context"
    ]
    assert context["crcl_ml_min"] is None and "adult_age" in context["crcl_missing"]
    assert "egfr_ml_min_1_73m2" not in context  # CKD-EPI is for adults too


# --- Genes, pregnancy, lifestyle, risk factors ---------------------------------------------------


def test_pharmacogenomic_finding_by_phenotype_and_by_hla_allele(kb):
    poor = [{"gene": "SLCO1B1", "phenotype": "Poor Function"}]
    finding = kinds(run(kb, "Zocor 40 mg", pharmacogenomics=poor), "pharmacogenomic")[0]
    assert (
        finding["why"].startswith("the patient is a SLCO1B1 poor function") and finding["cpic_level"] == "A"
    )
    normal = [{"gene": "SLCO1B1", "phenotype": "normal function"}]
    assert kinds(run(kb, "Zocor 40 mg", pharmacogenomics=normal), "pharmacogenomic") == []
    positive = [{"gene": "HLA-B", "allele": "*57:01", "result": "positive"}]
    assert (
        kinds(run(kb, "amoxicillin", pharmacogenomics=positive), "pharmacogenomic")[0]["severity"]
        == "contraindicated"
    )
    negative = [{"gene": "HLA-B", "allele": "*57:01", "result": "negative"}]
    assert kinds(run(kb, "amoxicillin", pharmacogenomics=negative), "pharmacogenomic") == []


def test_pregnancy_from_the_flag_or_a_code_never_for_a_man(kb):
    assert kinds(run(kb, "lisinopril", sex="female", age=30, pregnant=True), "pregnancy")[0][
        "why"
    ].startswith("the patient is pregnant (recorded)")
    coded = kinds(run(kb, "lisinopril", sex="female", age=30, conditions=["Z33.1"]), "pregnancy")[0]
    assert "coded Z33.1" in coded["why"]
    assert kinds(run(kb, "lisinopril", sex="male", age=40), "pregnancy") == []
    assert kinds(run(kb, "lisinopril", sex="male", age=40, conditions=["Z33.1"]), "pregnancy") == []
    assert kinds(run(kb, "Norco", sex="female", lactating=True), "pregnancy")[0]["drugs"] == ["hydrocodone"]
    with pytest.raises(ScreeningInputError) as error:
        run(kb, "lisinopril", sex="male", pregnant=True)
    assert "patient.pregnant" in error.value.errors


def test_lifestyle_finding_carries_advice_for_the_patient(kb):
    finding = kinds(run(kb, "simvastatin", lifestyle=["grapefruit"]), "lifestyle")[0]
    assert finding["advice"].startswith("Do not eat grapefruit")
    assert kinds(run(kb, "pravastatin", lifestyle=["grapefruit"]), "lifestyle") == []
    assert kinds(run(kb, "metoprolol", lifestyle=["smoking"], age=30), "lifestyle") == []
    assert kinds(run(kb, "metoprolol", lifestyle=["smoking"], age=40), "lifestyle") != []
    with pytest.raises(ScreeningInputError) as error:
        run(kb, "metoprolol", lifestyle=["skydiving"])
    assert "patient.lifestyle[0]" in error.value.errors


def test_a_rule_that_requires_a_risk_factor_is_quiet_without_one(kb):
    assert kinds(run(kb, "metoprolol", "propranolol"), "interaction") == []
    assert kinds(run(kb, "metoprolol", "propranolol", potassium_mmol_l=3.1), "interaction") != []
    assert kinds(run(kb, "metoprolol", "propranolol", qtc_ms=490), "interaction") != []
    assert kinds(run(kb, "metoprolol", "propranolol", qtc_ms=430, potassium_mmol_l=4.2), "interaction") == []


# --- Allergies and intolerances ------------------------------------------------------------------


def test_an_intolerance_is_not_an_allergy_to_the_class(kb):
    nausea = {"substance": "amoxicillin", "reaction": "nausea", "type": "intolerance"}
    same = kinds(run(kb, "amoxicillin", allergies=[nausea]), "allergy")[0]
    assert same["severity"] == "minor" and "intolerance" in same["title"]
    assert kinds(run(kb, "cephalexin", allergies=[nausea]), "allergy") == []
    # Recorded as an allergy, but the reaction is a side effect: read as an intolerance.
    written_as_allergy = {"substance": "amoxicillin", "reaction": "upset stomach", "type": "allergy"}
    assert kinds(run(kb, "amoxicillin", allergies=[written_as_allergy]), "allergy")[0]["severity"] == "minor"
    hives = {"substance": "amoxicillin", "reaction": "hives", "type": "allergy"}
    assert kinds(run(kb, "amoxicillin", allergies=[hives]), "allergy")[0]["severity"] == "contraindicated"


# --- Anticholinergic burden ----------------------------------------------------------------------


def test_anticholinergic_burden_is_a_total_in_older_adults(kb):
    assert kinds(run(kb, "Benadryl", age=80), "anticholinergic-burden") == []  # one drug: its own findings
    assert kinds(run(kb, "Benadryl", "metoprolol", age=40), "anticholinergic-burden") == []
    assert kinds(run(kb, "Benadryl", "metoprolol", age=70), "anticholinergic-burden") != []


# --- Bad and long input --------------------------------------------------------------------------


def test_a_name_longer_than_200_characters_is_refused(kb):
    with pytest.raises(ScreeningInputError) as error:
        run(kb, "a" * 201)
    assert "200" in error.value.errors["medications[0].name"]


def test_resolution_time_grows_no_faster_than_the_entry(kb):
    def seconds(words: int) -> float:
        entry = " ".join(["Tylenol"] + [f"word{i}" for i in range(words)])[:200]
        start = time.perf_counter()
        for _ in range(20):
            run(kb, entry)
        return time.perf_counter() - start

    seconds(5)  # warm
    assert seconds(40) < 4 * seconds(20) + 0.05


# --- The compiled knowledge base -----------------------------------------------------------------


def test_the_compiled_knowledge_base_is_reused_until_a_file_changes(tmp_path):
    import shutil

    from interactions.engine import knowledge
    from tests.interactions.conftest import FIXTURE_KB

    folder, cache = tmp_path / "kb", tmp_path / "compiled"
    shutil.copytree(FIXTURE_KB, folder)
    load = knowledge._load_cached  # past the per-process memo, as a new process would
    first = load(folder, (), cache)
    (compiled,) = cache.glob("knowledge-*.pickle")
    again = load(folder, (), cache)
    assert again.names == first.names and again is not first
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace('"test-1"', '"test-2"'))
    changed = load(folder, (), cache)
    assert changed.version == "test-2" and not compiled.exists()  # the stale one is gone


def test_a_rule_for_part_of_pregnancy_reads_the_week(kb):
    from interactions.engine.personal import gestational_weeks
    from interactions.engine.request import PatientFacts

    assert gestational_weeks(PatientFacts(conditions=["Z3A24"])) == 24
    assert gestational_weeks(PatientFacts(conditions=["Z3A01"])) == 4  # under 8 weeks
    assert gestational_weeks(PatientFacts(conditions=["Z3A00"])) is None  # not specified
    assert gestational_weeks(PatientFacts(gestational_weeks=31, conditions=["Z3A24"])) == 31
    response = screen({"patient": {"sex": "female", "pregnant": True}, "medications": [{"name": "Advil"}]})
    finding = next(f for f in response["findings"] if f["kind"] == "pregnancy")
    assert "it applies from 20 weeks and the week of pregnancy is not recorded" in finding["why"]
    later = {"sex": "female", "pregnant": True, "gestational_weeks": 26}
    finding = next(
        f
        for f in screen({"patient": later, "medications": [{"name": "Advil"}]})["findings"]
        if f["kind"] == "pregnancy"
    )
    assert "at 26 weeks" in finding["why"]
