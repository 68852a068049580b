"""MTM targeting criteria at each threshold (reviews/eligibility.py)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from interactions.selectors import knowledge_base
from reviews.eligibility import (
    DatedCondition,
    DrugFill,
    ListedDrug,
    ProgramCriteria,
    TargetingRulesError,
    patient_eligibility,
    targeting_year,
)

D = datetime.date
ON = D(2025, 11, 30)
EIGHT_DRUGS = [
    "metformin",
    "lisinopril",
    "atorvastatin",
    "amlodipine",
    "metoprolol",
    "sertraline",
    "levothyroxine",
    "omeprazole",
]
THREE_DISEASES = [
    DatedCondition("E11.9", D(2020, 1, 1)),
    DatedCondition("I10", D(2021, 5, 1)),
    DatedCondition("E78.5", D(2025, 3, 4)),
]


@pytest.fixture(scope="module")
def rules():
    return targeting_year(2025, knowledge_base())


def criteria(**changes):
    values = {"min_diseases": 3, "min_drugs": 8, "cost_threshold": Decimal("1623.00")} | changes
    return ProgramCriteria(**values)


FIRST_FILL = D(2025, 1, 15)


def monthly_fills(drugs, cost=None, first=FIRST_FILL, months=10):
    return [
        DrugFill(first + datetime.timedelta(days=30 * n), 30, frozenset([drug]), cost)
        for drug in drugs
        for n in range(months)
    ]


def decide(rules, *, conditions=THREE_DISEASES, fills=(), listed=(), **program):
    return patient_eligibility(
        criteria=criteria(**program),
        rules=rules,
        kb=knowledge_base(),
        conditions=list(conditions),
        fills=list(fills),
        listed=list(listed),
        on=ON,
    )


def test_the_2025_figures_come_from_the_rules(rules):
    assert rules.cost_threshold == Decimal("1623.00")
    assert (rules.max_required_diseases, rules.max_required_drugs) == (3, 8)
    assert "hiv-aids" in rules.core_diseases and rules.verify is False
    assert rules.estimated_cost_per_30_days == Decimal("16.91")  # 1,623 / 8 / 12
    assert targeting_year(2026).verify is True
    assert "hiv-aids" not in targeting_year(2024).core_diseases


def test_exactly_three_diseases_eight_drugs_and_the_threshold_qualify(rules):
    # 8 drugs x 10 fills at $20.29 = $1,623.20; the threshold is passed with the 80th fill.
    fills = monthly_fills(EIGHT_DRUGS, cost=Decimal("20.29"))
    result = decide(rules, fills=fills)
    assert result.met, result.missing
    assert len(result.diseases) == 3 and len(result.drugs) == 8
    assert result.annual_cost == Decimal("1623.20") and not result.cost_estimated
    assert result.date_met == max(f.day for f in fills)  # the fill that crossed the threshold


def test_exactly_the_threshold_qualifies_and_a_cent_less_does_not(rules):
    fills = monthly_fills(EIGHT_DRUGS[:1], cost=Decimal("162.30"))  # 10 x 162.30 = 1,623.00
    assert decide(rules, fills=fills, min_drugs=1).met
    short = [*fills[:-1], DrugFill(fills[-1].day, 30, fills[-1].ingredients, Decimal("162.29"))]
    result = decide(rules, fills=short, min_drugs=1)
    assert not result.met
    assert result.missing == ("$0.01 more annual drug cost",)


def test_two_diseases_or_seven_drugs_do_not(rules):
    fills = monthly_fills(EIGHT_DRUGS, cost=Decimal("30"))
    two = decide(rules, conditions=THREE_DISEASES[:2], fills=fills)
    assert not two.met and two.missing == ("1 more chronic disease of the core list",)
    seven = decide(rules, fills=monthly_fills(EIGHT_DRUGS[:7], cost=Decimal("30")))
    assert not seven.met and seven.missing == ("1 more maintenance drug",)


def test_a_program_may_require_fewer(rules):
    fills = monthly_fills(EIGHT_DRUGS[:2], cost=Decimal("90"))
    assert decide(rules, conditions=THREE_DISEASES[:2], fills=fills, min_diseases=2, min_drugs=2).met


def test_two_codes_of_one_disease_count_once(rules):
    same = [
        DatedCondition("E11.9", D(2020, 1, 1)),
        DatedCondition("E11.65", D(2021, 1, 1)),
        DatedCondition("I10", D(2021, 1, 1)),
    ]
    result = decide(rules, conditions=same, fills=monthly_fills(EIGHT_DRUGS, cost=Decimal("30")))
    assert result.diseases == ("diabetes", "hypertension")
    assert not result.met


def test_short_courses_are_not_maintenance_drugs_unless_the_program_counts_all(rules):
    drugs = [*EIGHT_DRUGS[:7], "amoxicillin"]
    fills = monthly_fills(drugs, cost=Decimal("30"))
    assert not decide(rules, fills=fills).met
    assert decide(rules, fills=fills, count_all_drugs=True).met


def test_cost_is_estimated_without_fill_costs_and_said_so(rules):
    listed = [ListedDrug(frozenset([drug]), D(2024, 6, 1)) for drug in EIGHT_DRUGS]
    result = decide(rules, listed=listed)
    # 8 drugs on the list with no fill: 12 months each at $16.91 per 30 days.
    assert result.annual_cost == Decimal("16.91") * 12 * 8
    assert result.cost_estimated and result.met
    assert "partly estimated" in result.reasons[-1]


def test_program_numbers_are_checked_against_the_year(rules):
    assert criteria(min_diseases=4).errors(rules) == {
        "min_diseases": "A program may require from 1 to 3 chronic diseases in 2025."
    }
    assert "min_drugs" in criteria(min_drugs=9).errors(rules)
    assert "cost_threshold" in criteria(cost_threshold=Decimal("5330")).errors(rules)
    assert criteria().errors(rules) == {}


def test_a_year_without_criteria_is_refused():
    with pytest.raises(TargetingRulesError, match=r"2031.*targeting\.yaml"):
        targeting_year(2031)


def test_the_shipped_program_rules_validate():
    out = io.StringIO()
    call_command("validate_program_rules", stdout=out)
    assert "Targeting 2025: up to 3 diseases of 10, up to 8 drugs, $1,623.00" in out.getvalue()
    assert "Program rules are valid." in out.getvalue()
