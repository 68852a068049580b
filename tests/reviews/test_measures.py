"""Quality measures from fill history, built from worked cases (reviews/measures.py)."""

import datetime

import pytest

from interactions.selectors import knowledge_base
from reviews.measures import (
    MeasureFill,
    MeasurePatient,
    MeasureRulesError,
    load_measure_sets,
    measure_patient,
    measures_for_year,
)

D = datetime.date
YEAR = 2026


@pytest.fixture(scope="module")
def measures():
    return measures_for_year(knowledge_base(), YEAR).measures


def fill(day, days, *ingredients):
    return MeasureFill(day, days, frozenset(ingredients))


BORN_1950 = D(1950, 6, 1)


def person(*fills, born=BORN_1950, conditions=(), hospice=False):
    return MeasurePatient(born, tuple(fills), tuple(conditions), hospice)


def monthly(drug, first, count, days=30):
    return [fill(first + datetime.timedelta(days=days * n), days, drug) for n in range(count)]


# --- PDC ----------------------------------------------------------------------------------------


def test_pdc_counts_days_covered_from_the_index_date_to_31_december(measures):
    # Atorvastatin filled 1 July for 30 days, then 1 October for 90 days: 184 days in the period
    # (1 July - 31 December), 120 covered.
    result = measure_patient(
        measures["PDC-STA"],
        person(fill(D(YEAR, 7, 1), 30, "atorvastatin"), fill(D(YEAR, 10, 1), 90, "atorvastatin")),
        year=YEAR,
    )
    assert result.in_denominator
    assert (result.index_date, result.period_end) == (D(YEAR, 7, 1), D(YEAR, 12, 31))
    assert (result.days_covered, result.days_in_period) == (120, 184)
    assert result.met is False


def test_an_early_refill_of_the_same_drug_shifts_forward(measures):
    # Lisinopril 30 days on 1 March, refilled 10 days early on 21 March and again on 20 April: the
    # refills run on from 31 March and 30 April, so nothing is counted twice and no day is lost.
    fills = [
        fill(D(YEAR, 3, 1), 30, "lisinopril"),
        fill(D(YEAR, 3, 21), 30, "lisinopril"),
        fill(D(YEAR, 4, 20), 30, "lisinopril"),
    ]
    result = measure_patient(measures["PDC-RASA"], person(*fills), year=YEAR)
    assert result.days_covered == 90  # 1 March - 29 May
    assert result.days_in_period == (D(YEAR, 12, 31) - D(YEAR, 3, 1)).days + 1


def test_different_drugs_of_a_class_on_the_same_days_count_once(measures):
    # Metformin and glipizide both filled for 90 days on the same dates: 180 days covered, not 360.
    fills = [
        fill(D(YEAR, 7, 5), 90, "metformin"),
        fill(D(YEAR, 7, 5), 90, "glipizide"),
        fill(D(YEAR, 10, 3), 90, "metformin"),
        fill(D(YEAR, 10, 3), 90, "glipizide"),
    ]
    result = measure_patient(measures["PDC-DR"], person(*fills), year=YEAR)
    assert result.days_covered == 180
    assert result.days_in_period == 180
    assert result.met is True


def test_supply_past_31_december_does_not_count(measures):
    fills = [fill(D(YEAR, 9, 1), 90, "rosuvastatin"), fill(D(YEAR, 11, 30), 90, "rosuvastatin")]
    result = measure_patient(measures["PDC-STA"], person(*fills), year=YEAR)
    assert result.days_in_period == 122  # 1 September - 31 December
    assert result.days_covered == 122
    assert result.pdc == 1.0


def test_a_fill_of_the_year_before_shifts_the_first_refill_but_is_not_the_index(measures):
    # 90 days on 15 December of the year before (covers to 14 March); refills on 1 March and 1 June.
    fills = [
        fill(D(YEAR - 1, 12, 15), 90, "simvastatin"),
        fill(D(YEAR, 3, 1), 90, "simvastatin"),
        fill(D(YEAR, 6, 1), 90, "simvastatin"),
    ]
    result = measure_patient(measures["PDC-STA"], person(*fills), year=YEAR)
    assert result.index_date == D(YEAR, 3, 1)
    # 1 March - 14 March from the old supply, then 15 March + 90 days and the next fill shifted on:
    # covered without a gap to 10 September.
    assert result.days_covered == (D(YEAR, 9, 10) - D(YEAR, 3, 1)).days + 1


def test_the_treatment_period_must_be_at_least_91_days(measures):
    # First fill on 2 October: 91 days to 31 December (counted); on 3 October: 90 days (not).
    in_period = person(fill(D(YEAR, 10, 2), 30, "losartan"), fill(D(YEAR, 11, 1), 30, "losartan"))
    too_short = person(fill(D(YEAR, 10, 3), 30, "losartan"), fill(D(YEAR, 11, 1), 30, "losartan"))
    assert measure_patient(measures["PDC-RASA"], in_period, year=YEAR).days_in_period == 91
    result = measure_patient(measures["PDC-RASA"], too_short, year=YEAR)
    assert not result.in_denominator
    assert "90 days" in result.reason


def test_two_fills_on_the_same_date_are_not_two_fills(measures):
    result = measure_patient(
        measures["PDC-STA"],
        person(fill(D(YEAR, 2, 1), 30, "pravastatin"), fill(D(YEAR, 2, 1), 30, "pravastatin")),
        year=YEAR,
    )
    assert not result.in_denominator
    assert "Fewer than 2 fills" in result.reason


def test_leap_year_has_366_days(measures):
    fills = monthly("atorvastatin", D(2024, 1, 1), 13)
    result = measure_patient(
        measures_for_year(knowledge_base(), 2024).measures["PDC-STA"], person(*fills), year=2024
    )
    assert result.days_in_period == 366
    assert result.days_covered == 366


def test_the_threshold_is_80_percent_inclusive(measures):
    # 100 days in the period (23 September - 31 December), exactly 80 covered.
    fills = [fill(D(YEAR, 9, 23), 40, "metformin"), fill(D(YEAR, 11, 2), 40, "metformin")]
    result = measure_patient(measures["PDC-DR"], person(*fills), year=YEAR)
    assert (result.days_covered, result.days_in_period) == (80, 100)
    assert result.met is True


@pytest.mark.parametrize(
    ("code", "patient_kwargs", "extra_fill", "exclusion"),
    [
        ("PDC-DR", {"conditions": ["N18.6"]}, None, "esrd"),
        ("PDC-DR", {"hospice": True}, None, "hospice"),
        ("PDC-DR", {}, ("insulin glargine",), "insulin"),
        ("PDC-RASA", {}, ("sacubitril", "valsartan"), "sacubitril-valsartan"),
        ("PDC-STA", {"conditions": ["Z99.2"]}, None, "esrd"),
    ],
)
def test_pdc_exclusions(measures, code, patient_kwargs, extra_fill, exclusion):
    drug = {"PDC-DR": "metformin", "PDC-RASA": "lisinopril", "PDC-STA": "atorvastatin"}[code]
    fills = monthly(drug, D(YEAR, 1, 10), 6)
    if extra_fill:
        fills.append(fill(D(YEAR, 5, 1), 30, *extra_fill))
    result = measure_patient(measures[code], person(*fills, **patient_kwargs), year=YEAR)
    assert not result.in_denominator
    assert result.exclusion == exclusion
    assert result.exclusion_label in result.reason


def test_days_that_can_still_be_missed(measures):
    # Index 1 July: 184 days in the period, 36 may go uncovered (184 - ceil(0.8 * 184) = 36). Covered
    # 1 July - 30 August, nothing since: by 14 September 15 days are missed, 21 remain.
    fills = [fill(D(YEAR, 7, 1), 30, "atorvastatin"), fill(D(YEAR, 7, 31), 31, "atorvastatin")]
    result = measure_patient(measures["PDC-STA"], person(*fills), year=YEAR, today=D(YEAR, 9, 14))
    assert result.days_can_miss == 21
    assert result.at_risk
    lost = measure_patient(measures["PDC-STA"], person(*fills), year=YEAR, today=D(YEAR, 10, 30))
    assert lost.days_can_miss < 0


# --- SUPD ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "counted"),
    [
        (D(YEAR - 40, 12, 31), True),
        (D(YEAR - 39, 1, 1), False),
        (D(YEAR - 75, 1, 1), True),
        (D(YEAR - 76, 12, 30), False),
    ],
)
def test_supd_age_band_is_40_to_75_on_31_december(measures, born, counted):
    fills = [fill(D(YEAR, 2, 1), 30, "metformin"), fill(D(YEAR, 3, 1), 30, "metformin")]
    result = measure_patient(measures["SUPD"], person(*fills, born=born), year=YEAR)
    assert result.in_denominator is counted


def test_supd_met_with_one_statin_fill_and_counts_insulin_as_diabetes_medication(measures):
    insulin_only = [fill(D(YEAR, 2, 1), 30, "insulin glargine"), fill(D(YEAR, 3, 1), 30, "insulin glargine")]
    without = measure_patient(measures["SUPD"], person(*insulin_only, born=D(1960, 3, 3)), year=YEAR)
    assert without.in_denominator and without.met is False
    with_statin = measure_patient(
        measures["SUPD"],
        person(*insulin_only, fill(D(YEAR, 4, 1), 30, "pravastatin"), born=D(1960, 3, 3)),
        year=YEAR,
    )
    assert with_statin.met is True


@pytest.mark.parametrize(
    ("code", "exclusion"),
    [
        ("M62.82", "rhabdomyolysis-myopathy"),
        ("O24.410", "pregnancy-lactation-fertility"),
        ("K74.60", "liver-disease"),
        ("R73.03", "prediabetes"),
        ("E28.2", "pcos"),
    ],
)
def test_supd_exclusions(measures, code, exclusion):
    fills = [fill(D(YEAR, 2, 1), 30, "metformin"), fill(D(YEAR, 3, 1), 30, "metformin")]
    result = measure_patient(
        measures["SUPD"], person(*fills, conditions=[code], born=D(1960, 3, 3)), year=YEAR
    )
    assert result.exclusion == exclusion


# --- Polypharmacy -------------------------------------------------------------------------------


def test_poly_ach_needs_30_days_of_two_anticholinergics_each_filled_twice(measures):
    # Oxybutynin all year; amitriptyline 2 fills of 15 days from 1 March: 30 days together.
    base = monthly("oxybutynin", D(YEAR, 1, 1), 12)
    amitriptyline = [fill(D(YEAR, 3, 1), 15, "amitriptyline"), fill(D(YEAR, 3, 16), 15, "amitriptyline")]
    result = measure_patient(measures["POLY-ACH"], person(*base, *amitriptyline), year=YEAR)
    assert result.in_denominator and result.concurrent_days == 30 and result.met is True
    # 29 days together: not met.
    short = [fill(D(YEAR, 3, 1), 15, "amitriptyline"), fill(D(YEAR, 3, 16), 14, "amitriptyline")]
    assert measure_patient(measures["POLY-ACH"], person(*base, *short), year=YEAR).met is False
    # Filled once only: the second drug does not count, whatever the days.
    once = [fill(D(YEAR, 3, 1), 90, "amitriptyline")]
    assert measure_patient(measures["POLY-ACH"], person(*base, *once), year=YEAR).met is False


def test_poly_ach_counts_people_65_or_older_on_1_january(measures):
    base = monthly("oxybutynin", D(YEAR, 1, 1), 3)
    assert measure_patient(
        measures["POLY-ACH"], person(*base, born=D(YEAR - 65, 1, 1)), year=YEAR
    ).in_denominator
    assert not measure_patient(
        measures["POLY-ACH"], person(*base, born=D(YEAR - 65, 1, 2)), year=YEAR
    ).in_denominator


def test_poly_cns_needs_three_drugs_and_excludes_seizure_disorder(measures):
    fills = [
        *monthly("sertraline", D(YEAR, 1, 1), 6),
        *monthly("zolpidem", D(YEAR, 1, 1), 3),
        *monthly("gabapentin", D(YEAR, 2, 1), 2),
    ]
    result = measure_patient(measures["POLY-CNS"], person(*fills), year=YEAR)
    assert result.met is True and result.concurrent_days == 59  # 1 February - 31 March, all three
    two = measure_patient(measures["POLY-CNS"], person(*fills[:9]), year=YEAR)
    assert two.in_denominator and two.met is False
    excluded = measure_patient(measures["POLY-CNS"], person(*fills, conditions=["G40.909"]), year=YEAR)
    assert excluded.exclusion == "seizure-disorder"


# --- COB ----------------------------------------------------------------------------------------


def test_cob_denominator_needs_two_opioid_fills_with_15_days(measures):
    few_days = [fill(D(YEAR, 1, 5), 7, "oxycodone"), fill(D(YEAR, 2, 5), 7, "oxycodone")]
    assert not measure_patient(measures["COB"], person(*few_days), year=YEAR).in_denominator
    enough = [fill(D(YEAR, 1, 5), 7, "oxycodone"), fill(D(YEAR, 2, 5), 8, "oxycodone")]
    assert measure_patient(measures["COB"], person(*enough), year=YEAR).in_denominator


def test_cob_met_with_two_benzodiazepine_fills_and_30_days_of_overlap(measures):
    opioid = monthly("hydrocodone", D(YEAR, 1, 1), 4)
    benzo = [fill(D(YEAR, 2, 1), 15, "alprazolam"), fill(D(YEAR, 2, 16), 15, "alprazolam")]
    result = measure_patient(measures["COB"], person(*opioid, *benzo), year=YEAR)
    assert result.concurrent_days == 30 and result.met is True
    one_fill = [fill(D(YEAR, 2, 1), 60, "alprazolam")]
    assert measure_patient(measures["COB"], person(*opioid, *one_fill), year=YEAR).met is False


@pytest.mark.parametrize(
    ("code", "exclusion"), [("C50.911", "cancer"), ("D57.1", "sickle-cell"), ("Z51.5", "palliative-care")]
)
def test_cob_exclusions(measures, code, exclusion):
    opioid = monthly("hydrocodone", D(YEAR, 1, 1), 4)
    assert (
        measure_patient(measures["COB"], person(*opioid, conditions=[code]), year=YEAR).exclusion == exclusion
    )


# --- Rules as data ------------------------------------------------------------------------------


def test_a_year_without_rules_is_refused_with_where_to_add_it():
    with pytest.raises(MeasureRulesError, match=r"2031.*measures\.yaml"):
        measures_for_year(knowledge_base(), 2031)


def test_rules_naming_an_unknown_class_are_refused(tmp_path):
    rules = tmp_path / "measures.yaml"
    rules.write_text(
        "sources: {s: A source}\nmeasure_sets:\n- years: [2026]\n  measures:\n"
        "    X: {name: x, kind: pdc, drugs: [class:no-such-class], sources: [s]}\n"
    )
    with pytest.raises(MeasureRulesError, match="unknown class 'no-such-class'"):
        load_measure_sets(knowledge_base(), rules)


def test_every_measure_of_the_shipped_rules_has_drugs_and_sources():
    kb = knowledge_base()
    for measure_set in load_measure_sets(kb):
        assert {"PDC-DR", "PDC-RASA", "PDC-STA", "SUPD", "POLY-ACH", "POLY-CNS", "COB"} <= set(
            measure_set.measures
        )
        for measure in measure_set.measures.values():
            assert measure.drugs and all(s in measure_set.sources for s in measure.sources)
    statins = load_measure_sets(kb)[0].measures["PDC-STA"].drugs
    assert {"atorvastatin", "rosuvastatin", "simvastatin", "pravastatin"} <= statins
    assert "metformin" not in statins
