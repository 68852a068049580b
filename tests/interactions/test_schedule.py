"""The dosing schedule read from a medication's directions: real-world sigs as US pharmacy labels, EHRs
and e-prescriptions write them, with the slots each one gives."""

from datetime import time

import pytest

from interactions.engine.schedule import Schedule, read_schedule
from interactions.engine.sig import split_directions

MORNING, NOON, EVENING, BEDTIME = "morning", "noon", "evening", "bedtime"
EVERY_SLOT = (MORNING, NOON, EVENING, BEDTIME)
# What every sig is checked for; a row names only what differs.
DEFAULTS = {
    "every_hours": None,
    "interval_days": None,
    "weekly": False,
    "weekdays": (),
    "as_needed": False,
    "understood": True,
}


def sig(directions, *slots, **fields):
    return pytest.param(directions, slots, fields, id=directions)


SIGS = [
    # Once a day: the morning unless the words say when
    sig("Take 1 tablet by mouth daily", MORNING, units_per_dose=1),
    sig("TAKE 1 TABLET BY MOUTH EVERY DAY", MORNING, units_per_dose=1),
    sig("Take 1 tablet by mouth once a day", MORNING),
    sig("Take 1 tablet (25 mg total) by mouth daily.", MORNING, units_per_dose=1),
    sig("1 tab po qd", MORNING, units_per_dose=1),
    sig("Take 1 tablet by mouth q.d.", MORNING),
    sig("1 po qAM", MORNING, units_per_dose=1),
    sig("Take 1 tablet by mouth every morning on an empty stomach", MORNING),
    sig("Take 1 tablet by mouth on an empty stomach in the morning", MORNING),
    sig("Take 1 tablet by mouth daily 30 minutes before breakfast", MORNING),
    sig("Take 1 capsule by mouth daily with breakfast", MORNING),
    sig("Take 1 capsule by mouth daily 30 minutes after the same meal each day", MORNING),
    sig("Take 1 tablet by mouth every 24 hours", MORNING),
    sig("Take 1/2 tablet by mouth daily", MORNING, units_per_dose=0.5),
    sig("Take 1 and 1/2 tablets by mouth daily", MORNING, units_per_dose=1.5),
    sig("Take 1 tablet by mouth qPM", EVENING),
    sig("Take 1 tablet by mouth once daily in the evening", EVENING),
    sig("Take 1 tablet by mouth every evening with supper", EVENING),
    sig("Take 1 tablet by mouth daily with dinner", EVENING),
    sig("Take 1 tablet by mouth at bedtime", BEDTIME),
    sig("1 tab p.o. q.h.s.", BEDTIME, units_per_dose=1),
    sig("Take 1 tablet (10 mg total) by mouth nightly.", BEDTIME),
    sig("Take 1 tablet by mouth at night", BEDTIME),
    sig("TAKE ONE TABLET BY MOUTH AT BEDTIME", BEDTIME, units_per_dose=1),
    sig("Inject 20 units subcutaneously at bedtime", BEDTIME, units_per_dose=None),
    sig("Instill 1 drop into each eye at bedtime", BEDTIME, units_per_dose=1),
    # Several times a day
    sig("Take 1 tablet by mouth twice daily", MORNING, EVENING),
    sig("TAKE 1 TABLET BY MOUTH TWICE DAILY WITH MEALS", MORNING, EVENING, units_per_dose=1),
    sig("Take 1 tablet by mouth b.i.d.", MORNING, EVENING),
    sig("Take 1 tab PO BID", MORNING, EVENING),
    sig("Take one tablet by mouth twice a day", MORNING, EVENING, units_per_dose=1),
    sig(
        "Take 2 tablets (1,000 mg total) by mouth 2 (two) times a day with meals.",
        MORNING,
        EVENING,
        units_per_dose=2,
    ),
    sig("Take 1 tablet by mouth with breakfast and supper", MORNING, EVENING),
    sig("1 tab PO AM and PM", MORNING, EVENING),
    sig("Take 1 1/2 tablets by mouth twice daily", MORNING, EVENING, units_per_dose=1.5),
    sig(
        "Inhale 2 puffs into the lungs twice daily. Rinse mouth after use.",
        MORNING,
        EVENING,
        units_per_dose=2,
    ),
    sig("Place 1 drop into both eyes 2 times daily", MORNING, EVENING, units_per_dose=1),
    sig("Apply to affected area twice daily", MORNING, EVENING, units_per_dose=None),
    sig("Take 1 tablet by mouth 3 times a day", MORNING, NOON, EVENING),
    sig("Take 1 tablet by mouth t.i.d. with meals", MORNING, NOON, EVENING),
    sig("Take 1 tablet by mouth with meals", MORNING, NOON, EVENING),
    sig("Take 1 tablet by mouth with breakfast, lunch and dinner", MORNING, NOON, EVENING),
    sig("Take 5 mL by mouth 3 (three) times a day for 10 days", MORNING, NOON, EVENING, duration_days=10),
    sig(
        "Take 2 capsules by mouth with each meal and 1 capsule with snacks",
        MORNING,
        NOON,
        EVENING,
        units_per_dose=2,
    ),
    sig("Take 1 capsule by mouth four times daily", *EVERY_SLOT),
    sig("Take 1 capsule by mouth q.i.d.", *EVERY_SLOT),
    sig("Take 1 capsule by mouth three times daily and at bedtime", *EVERY_SLOT),
    sig("Take 1 tablet by mouth before meals and at bedtime", *EVERY_SLOT),
    # Different amounts at different times: one dose per slot
    sig(
        "Take 1 tablet in the morning and 2 at bedtime",
        MORNING,
        BEDTIME,
        units_by_slot=(1, 2),
        units_per_dose=None,
    ),
    sig("1 tab qam, 2 tabs qhs", MORNING, BEDTIME, units_by_slot=(1, 2)),
    sig(
        "Take 1 tablet by mouth every morning and 1/2 tablet every evening",
        MORNING,
        EVENING,
        units_by_slot=(1, 0.5),
    ),
    sig(
        "Take 1 capsule by mouth three times daily and 2 capsules at bedtime",
        *EVERY_SLOT,
        units_by_slot=(1, 1, 1, 2),
    ),
    sig("Inject 10 units under the skin in the morning and 20 units at bedtime", MORNING, BEDTIME),
    # Clock times
    sig("Take 1 tablet at 8 am and 8 pm", time(8), time(20)),
    sig("Take 1 tablet by mouth daily at 9 AM", time(9)),
    sig("Take 1 tablet (5 mg total) by mouth daily at 6 PM.", time(18)),
    sig("Take 1 tablet by mouth at 8:00 AM and 1 tablet at 2:00 PM", time(8), time(14), units_per_dose=1),
    # Every N hours
    sig("Take 1 tab PO Q12H", MORNING, EVENING, every_hours=12),
    sig(
        "Take 1 tablet by mouth every 12 hours for 10 days",
        MORNING,
        EVENING,
        every_hours=12,
        duration_days=10,
    ),
    sig("Take 1 tablet by mouth every 12 hours at 9 am and 9 pm", time(9), time(21), every_hours=12),
    sig("Take 1 tablet by mouth every 8 hours", time(8), time(16), time(0), every_hours=8),
    sig("Take 1 tablet by mouth every 8 (eight) hours", time(8), time(16), time(0), every_hours=8),
    sig("Take 1 tablet by mouth every 8 hours starting at 6 am", time(6), time(14), time(22), every_hours=8),
    sig(
        "Take 1 capsule by mouth q6h x 10 days",
        time(8),
        time(14),
        time(20),
        time(2),
        every_hours=6,
        duration_days=10,
    ),
    sig("Inhale 2 puffs every 4 hours while awake", time(8), time(12), time(16), time(20), every_hours=4),
    # Every other day, every N days, weekly
    sig("Take 1 tablet by mouth every other day", MORNING, interval_days=2),
    sig("Take 1 tablet by mouth QOD", MORNING, interval_days=2),
    sig("Take 1 tablet by mouth every other night at bedtime", BEDTIME, interval_days=2),
    sig("Apply 1 patch every 72 hours", MORNING, interval_days=3, units_per_dose=1),
    sig("Apply 1 patch onto the skin every 3 (three) days.", MORNING, interval_days=3),
    sig("Take 1 tablet by mouth every 2 weeks", MORNING, interval_days=14),
    sig(
        "Take 6 tablets by mouth once weekly on Mondays",
        MORNING,
        weekly=True,
        weekdays=("monday",),
        units_per_dose=6,
    ),
    sig("Take 1 tablet every Monday", MORNING, weekly=True, weekdays=("monday",), times_per_week=1),
    sig(
        "Take 1 tablet by mouth every Sunday morning 30 minutes before breakfast with a full glass of water",
        MORNING,
        weekly=True,
        weekdays=("sunday",),
    ),
    sig("Take 1 tablet by mouth once weekly on Sundays", MORNING, weekly=True, weekdays=("sunday",)),
    sig("Inject 0.25 mg subcutaneously once weekly", MORNING, weekly=True, times_per_week=1),
    sig("Apply 1 patch to skin q week", MORNING, weekly=True),
    sig("Take 1 tablet by mouth every 7 days", MORNING, weekly=True, times_per_week=1),
    sig("Take 1 tablet Mon/Wed/Fri", MORNING, weekly=True, weekdays=("monday", "wednesday", "friday")),
    sig("Take 1 tablet M-W-F", MORNING, weekly=True, weekdays=("monday", "wednesday", "friday")),
    sig(
        "Take 1 tablet by mouth 3 times a week on Monday, Wednesday, and Friday",
        MORNING,
        weekly=True,
        weekdays=("monday", "wednesday", "friday"),
        times_per_week=3,
    ),
    sig("Take 1 tablet by mouth three times a week", MORNING, weekly=True, times_per_week=3),
    sig("Take 1 tablet by mouth twice weekly", MORNING, weekly=True, times_per_week=2),
    sig(
        "Take 1 tablet by mouth Monday through Friday",
        MORNING,
        weekly=True,
        weekdays=("monday", "tuesday", "wednesday", "thursday", "friday"),
    ),
    sig(
        "Take 1 tablet by mouth daily except Sundays",
        MORNING,
        weekly=True,
        weekdays=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"),
    ),
    # As needed: on the card, never reminded
    sig("Take 1-2 tablets by mouth every 4-6 hours as needed for pain", as_needed=True, units_per_dose=2),
    sig("2 tabs q4-6h prn", as_needed=True, units_per_dose=2),
    sig("1 tab PO Q8H PRN nausea", as_needed=True),
    sig("Take 1 tablet by mouth every 6 hours p.r.n. pain", as_needed=True),
    sig(
        "Inhale 2 puffs into the lungs every 4 (four) hours as needed for wheezing or shortness of breath.",
        as_needed=True,
        units_per_dose=2,
    ),
    sig("Take 2 tablets by mouth at bedtime as needed for sleep", as_needed=True),
    sig("Take 1 tablet by mouth three times daily as needed for muscle spasms", as_needed=True),
    sig(
        "Dissolve 1 tablet under the tongue every 5 minutes as needed for chest pain. Max 3 doses.",
        as_needed=True,
    ),
    sig("Take 1 tablet at onset of migraine; may repeat in 2 hours if needed", as_needed=True),
    sig("Take 1 tablet by mouth 1 hour before sexual activity", as_needed=True),
    sig("Inject per sliding scale as needed", as_needed=True, note="dose by sliding scale"),
    # Scheduled and as needed: the schedule stays
    sig(
        "Take 1 tablet by mouth twice daily and 1 tablet at bedtime as needed for sleep",
        MORNING,
        EVENING,
        as_needed=True,
    ),
    sig(
        "Take 1 tablet by mouth daily. May take an additional tablet as needed for swelling.",
        MORNING,
        as_needed=True,
    ),
    sig(
        "Inhale 2 puffs twice daily and every 4 hours as needed for wheezing",
        MORNING,
        EVENING,
        as_needed=True,
    ),
    # One dose, a course, steps
    sig("Take 1 tablet by mouth once", MORNING, duration_days=1),
    sig("take 2 caps po bid x 14 days", MORNING, EVENING, units_per_dose=2, duration_days=14),
    sig("Take 1 capsule by mouth twice daily x7d", MORNING, EVENING, duration_days=7),
    sig("Take 1 tablet by mouth twice daily for 2 weeks", MORNING, EVENING, duration_days=14),
    sig(
        "take 1 tablet by mouth daily x 7 days then 1/2 tablet daily",
        MORNING,
        units_per_dose=1,
        duration_days=7,
        note="not scheduled: then 1/2 tablet daily",
    ),
    sig(
        "Take 2 tablets on day 1, then 1 tablet daily on days 2-5",
        MORNING,
        units_per_dose=2,
        duration_days=1,
        note="not scheduled: then 1 tablet daily on days 2-5",
    ),
    sig(
        "Take 4 tablets daily x 3 days, 3 tablets daily x 3 days, 2 tablets daily x 3 days",
        MORNING,
        units_per_dose=4,
        duration_days=3,
        note="not scheduled: then 3 tablets daily x 3 days, 2 tablets daily x 3 days",
    ),
    sig("Inject before meals and at bedtime per sliding scale", *EVERY_SLOT, note="dose by sliding scale"),
    # Not understood: the pharmacist sets the schedule
    sig("Use as directed", understood=False),
    sig("Take as directed per package instructions", understood=False),
    sig("Take 1 tablet by mouth as directed", understood=False),
    sig("UD", understood=False),
    sig("", understood=False),
    sig("Inject per sliding scale", understood=False, note="dose by sliding scale"),
    sig("Apply topically to affected area", understood=False),
    sig("Take 1 tablet every 4 to 6 hours", understood=False, note="not scheduled: every 4 to 6 hours"),
    sig(
        "Take 1 capsule by mouth 5 times daily for 7 days",
        understood=False,
        note="not scheduled: 5 times a day",
    ),
    sig("Take 1 tablet by mouth once a month", understood=False, note="not scheduled: once a month"),
    sig("Inject 1 mL intramuscularly every 3 months", understood=False),
    sig(
        "Take 1 tablet by mouth daily. Take 1/2 tablet on Sundays.",
        understood=False,
        note="different days in one sig",
    ),
]


@pytest.mark.parametrize(("directions", "slots", "fields"), SIGS)
def test_the_schedule_is_read_from_real_world_sigs(directions, slots, fields):
    schedule = read_schedule(directions)
    expected = {**DEFAULTS, "slots": slots, **fields}
    assert {name: getattr(schedule, name) for name in expected} == expected


def test_the_table_is_large():
    assert len(SIGS) >= 60


@pytest.mark.parametrize(
    ("directions", "reading"),
    [
        ("Take 1 tablet by mouth daily", "morning"),
        ("Take 1 tablet in the morning and 2 at bedtime", "morning (1) and bedtime (2)"),
        ("Take 1 tablet by mouth every 8 hours", "every 8 hours: 08:00, 16:00 and 00:00"),
        ("Take 1 tab PO Q12H", "every 12 hours: morning and evening"),
        ("Take 1 tablet every Monday", "Mondays: morning"),
        ("Take 1 tablet by mouth three times a week", "3 times a week, days to set: morning"),
        ("Take 1 tablet by mouth every other day", "every other day: morning"),
        ("1 tab PO Q8H PRN nausea", "as needed"),
        ("Take 1 tablet by mouth daily. May take an additional tablet as needed.", "morning; also as needed"),
        ("take 2 caps po bid x 14 days", "morning and evening, for 14 days"),
        ("Use as directed", ""),
    ],
)
def test_the_reading_says_what_was_understood(directions, reading):
    assert read_schedule(directions).reading == reading


def test_each_slot_has_what_to_take_there():
    schedule = read_schedule("Take 1 tablet in the morning and 2 at bedtime")
    assert schedule.doses == (("morning", 1), ("bedtime", 2))


def test_the_directions_of_an_entry_give_its_schedule():
    product, directions = split_directions("metformin 500 mg 1 tab po bid with meals")
    assert product == "metformin 500 mg"
    assert read_schedule(directions).slots == ("morning", "evening")


def test_a_schedule_is_a_value():
    assert read_schedule("Take 1 tablet by mouth daily") == read_schedule("take 1 tablet by mouth daily")
    assert read_schedule("Use as directed") == Schedule()
