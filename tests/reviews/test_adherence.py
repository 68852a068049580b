import datetime

from reviews.adherence import Fill, coverage, covered_days
from reviews.selectors import adherence
from tests import factories

TODAY = datetime.date(2026, 11, 30)


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def test_regular_monthly_fills_cover_every_day():
    fills = [Fill(day("2026-09-01"), 30), Fill(day("2026-10-01"), 30), Fill(day("2026-10-31"), 31)]
    found = coverage({"a": fills}, today=TODAY)
    assert (found.start, found.days_in_period, found.days_covered) == (day("2026-09-01"), 91, 91)
    assert found.pdc == 1 and not found.below_threshold


def test_an_early_refill_is_shifted_forward_not_counted_twice():
    early = [Fill(day("2026-11-01"), 10), Fill(day("2026-11-05"), 10)]  # refilled 6 days early
    assert sorted(covered_days(early, end=TODAY)) == [
        day("2026-11-01") + datetime.timedelta(n) for n in range(20)
    ]


def test_gaps_lower_the_pdc_below_80_percent():
    fills = [Fill(day("2026-09-01"), 30), Fill(day("2026-11-01"), 30)]  # October missed
    found = coverage({"a": fills}, today=TODAY)
    assert found.days_covered == 60 and found.days_in_period == 91
    assert round(found.pdc, 3) == 0.659 and found.below_threshold


def test_two_drugs_of_a_class_filled_the_same_day_run_concurrently():
    same_day = {"lisinopril": [Fill(day("2026-11-01"), 30)], "losartan": [Fill(day("2026-11-01"), 30)]}
    found = coverage(same_day, today=TODAY)
    assert found.days_covered == 30 and found.pdc == 1


def test_supply_carried_in_from_before_the_window_counts():
    fills = [Fill(day("2025-11-25"), 90), Fill(day("2026-02-20"), 90)]
    found = coverage({"a": fills}, today=day("2026-05-20"))
    # the window starts 2025-05-21; index date is the first fill in it
    assert found.start == day("2025-11-25") and found.days_covered == found.days_in_period


def test_no_fill_in_the_last_12_months_gives_no_figure():
    assert coverage({"a": [Fill(day("2024-01-01"), 30)]}, today=TODAY) is None


def test_adherence_per_medication_and_per_class_from_the_record(patient, pharmacist):
    from mtm.audit import Actor
    from patients import services

    by = Actor(pharmacist)
    lisinopril = services.medication_add(patient=patient, data={"name": "lisinopril 10 mg"}, by=by)
    amlodipine = services.medication_add(patient=patient, data={"name": "amlodipine 5 mg"}, by=by)
    for month in (9, 10, 11):
        factories.make_fill(
            patient, medication=lisinopril, fill_date=datetime.date(2026, month, 1), days_supply=30
        )
    factories.make_fill(patient, medication=amlodipine, fill_date=datetime.date(2026, 9, 1), days_supply=30)
    per_medication, per_class = adherence(patient, today=TODAY)
    figures = {line.medication.name: round(line.coverage.pdc, 2) for line in per_medication}
    assert figures == {"amlodipine 5 mg": 0.33, "lisinopril 10 mg": 0.99}
    assert per_class == []  # each class has one drug with fills
