"""The dosing schedule in a medication's directions: at which times of the day, on which days, how much.

"1 tablet in the morning and 2 at bedtime" is two slots, morning (1) and bedtime (2), every day.

Slots are the times of one dosing day, in day order: the named slots "morning", "noon", "evening" and
"bedtime", or clock times (`datetime.time`) when the words give them ("at 8 am and 8 pm"). A named slot
is the patient's to put on the clock. `units_by_slot` says what to take at each slot (tablets, puffs,
drops, counted as sig.py counts them; None when the words give an amount in mg, mL or insulin units).
Which days: every day, unless `interval_days` (every other day is 2) or `weekly` (on `weekdays`, or
`times_per_week` days still to choose). Once a day with no time said ("daily", "once weekly", "every
other day", a single dose) is the morning; twice a day is morning and evening; three times, or with
meals, adds noon; four times adds bedtime.

Every N hours keeps `every_hours`: every 12 hours is morning and evening; a shorter interval is clock
times from 08:00 in dosing order (every 8 hours: 08:00, 16:00, 00:00), so reminders run every N hours
from the first slot wherever the patient moves it; every 24 hours or more is days (a patch every 72
hours is every 3 days).

"As needed" is never a slot: such a clause is kept for the pill card (`as_needed`), and a scheduled
clause beside it keeps its slots ("twice daily, and 1 at bedtime as needed for sleep"). Only the first
step of a sig in steps is read ("daily x 7 days then 1/2 tablet daily"); `note` says what was left.
When the words give no schedule ("as directed", "every 4 to 6 hours" without "as needed", five times a
day, monthly, different days in one sig), `understood` is False and the pharmacist sets it.
"""

import re
from dataclasses import dataclass, replace
from datetime import time

from interactions.engine.sig import _COUNT, _FORM, _count, _number  # the same counts and forms as dosing

Slot = str | time
SLOTS = ("morning", "noon", "evening", "bedtime")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SLOTS_FOR_TIMES_A_DAY = {1: ("morning",), 2: ("morning", "evening"), 3: SLOTS[:3], 4: SLOTS}
_SLOT_HOURS = {"morning": 8, "noon": 12, "evening": 18, "bedtime": 22}  # only to order a mixed day
_FIRST_DOSE = time(8)
_AWAKE_HOURS = range(6, 23)  # "every 4 hours while awake"

_WORDS = {"once": 1, "twice": 2, "thrice": 3, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "eight": 8, "ten": 10, "twelve": 12, "other": 2}  # fmt: skip
_NUM = r"(?:\d+|one|two|three|four|five|six|seven|eight|ten|twelve)(?:\s*\([a-z]+\))?"  # "2 (two)"
_TIMES = rf"(?:once|twice|thrice|{_NUM}\s*(?:times?|x))"
_PER = r"\s*(?:a|per|each|every|/|in\s+a)?\s*"
_DAY = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)s?\.?"
_FULL_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_DAY_JOIN = r"\s*(?:,\s*and|,|/|&|-|and|through|thru|to)\s*"

# What the words say: (words, kind, value), a value of None being read from the words themselves.
# Where two could match at the same place, the first listed wins ("once weekly" before "once").
_TABLE = [
    (r"as\s+needed|p\.?r\.?n\.?|if\s+needed|when\s+needed|at\s+(?:the\s+)?(?:onset|first\s+sign)"
     r"|may\s+repeat|before\s+sexual\s+activity", "as_needed", True),
    (r"sliding\s+scale|ssi", "note", "dose by sliding scale"),
    (r"(?:once\s+)?(?:a|per|every|each)\s+month|monthly|every\s+(?:other|\d+)\s+months?|every\s+\d+\s*min(?:ute)?s?",
     "unclear", None),
    (r"while\s+awake", "awake", True),
    (r"(?:x|for)\s*\d+(?:\s*\([a-z]+\))?\s*(?:d|days?|wks?|weeks?|mos?|months?)", "duration_days", None),
    (rf"{_TIMES}{_PER}(?:week|weekly|wk)", "times_per_week", None),
    (r"weekly|(?:every|each|a|per)\s+week|q\.?\s?(?:week|wk)\.?", "times_per_week", 1),
    (r"t\.?i\.?w\.?", "times_per_week", 3),
    (rf"every\s+(?:other|{_NUM})\s+weeks?|q\.?\s?\d+\s*w(?:ee)?ks?", "every_weeks", None),
    (rf"every\s+other(?:\s+day)?|q\.?o\.?d\.?|alternate\s+days|every\s+{_NUM}\s+days?|q\.?\s?\d+\s*d(?:ays?)?",
     "every_days", None),
    (rf"(?:every|q\.?)\s*{_NUM}(?:\s*(?:-|to|or)\s*{_NUM})?\s*(?:hours?|hrs?|h)\.?", "every_hours", None),
    (rf"{_TIMES}{_PER}(?:day|daily|d)", "times_a_day", None),
    (r"b\.?i\.?d\.?", "times_a_day", 2),
    (r"t\.?i\.?d\.?", "times_a_day", 3),
    (r"q\.?i\.?d\.?", "times_a_day", 4),
    (r"daily|q\.?\s?d\.?|q\.?\s?day|(?:every|each|a|per)\s+day", "times_a_day", 1),
    (rf"(?:except|but\s+not|not\s+on)(?:\s+on)?\s+{_DAY}(?:{_DAY_JOIN}{_DAY})*", "not_weekdays", None),
    (r"m\W?w\W?f", "weekdays", ("monday", "wednesday", "friday")),
    (r"tu?\W?th", "weekdays", ("tuesday", "thursday")),
    (rf"{_DAY}(?:{_DAY_JOIN}{_DAY})+|{_FULL_DAY}|(?:(?<=every\s)|(?<=on\s)){_DAY}", "weekdays", None),
    (r"(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*[ap]\.?\s?m\.?|(?:[01]?\d|2[0-3]):[0-5]\d|midnight", "clock", None),
    (r"(?:with|before|after|at)\s+(?:each\s+|all\s+|your\s+)?meals|each\s+meal|a\.?c\.?|p\.?c\.?", "meals", True),
    (r"mornings?|breakfast|q\.?\s?a\.?m\.?|a\.?m\.?", "slot", "morning"),
    (r"noon|mid-?day|lunch|afternoon", "slot", "noon"),
    (r"evenings?|supper|dinner|q\.?\s?p\.?m\.?|p\.?m\.?", "slot", "evening"),
    (r"bed\s*time|bed|night(?:ly|s)?|q\.?\s?h\.?s\.?|h\.?s\.?", "slot", "bedtime"),
    (r"once|one\s+time(?:\s+only)?|x\s*1|single\s+dose|one\s+dose|on\s+day\s+(?:1|one)", "once", True),
]  # fmt: skip
_PHRASES = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?P<k{i}>{words})" for i, (words, _, _) in enumerate(_TABLE)) + r")(?!\w)",
    re.IGNORECASE,
)
_UNITS = re.compile(
    rf"(?<![\w./,])(?P<low>{_COUNT})(?P<half>\s+(?:and\s+)?(?:a\s+)?(?:1/2|½|half))?"
    rf"(?:\s*(?:-|to|or)\s*(?P<high>{_COUNT}))?(?=\s*{_FORM}\b"
    r"|\s+(?:by\s+mouth|p\.?o\.?|orally|at|in|every|each|with|before|after|on|daily|nightly|q\w*)(?!\w))",
    re.IGNORECASE,
)
_NEXT_STEP = re.compile(r",?\s*\b(?:and\s+)?(?:then|followed\s+by)\b\s*", re.IGNORECASE)
# A new clause: a sentence, or a new dose ("..., and 2 at bedtime", "... and 1 tablet as needed").
_CLAUSE_BREAK = re.compile(
    r"(?<=[a-z]{2})\.\s+|;\s*|(?:,\s*(?:and\s+)?|(?<![\d½])\s+and\s+)"
    rf"(?=(?:(?:take|use|inhale|apply|inject|instill|give|also)\s+)?{_COUNT}\s*(?:{_FORM}\b"
    r"|(?:at|in|every|each|with|before|after|on|q\w*)(?!\w))|may\s"
    rf"|(?:every\s+{_NUM}|q\.?\s?\d|once|twice|daily|up\s+to)[^;.]*?(?:as\s+needed|p\.?r\.?n))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Schedule:
    """When a medication is taken, as read from its directions (the conventions are the module's)."""

    slots: tuple[Slot, ...] = ()
    units_by_slot: tuple[float | None, ...] = ()  # what to take at each slot, in step with `slots`
    units_per_dose: float | None = None  # the same at every slot; None when none is said or slots differ
    every_hours: int | None = None
    interval_days: int | None = None  # 2: every other day
    weekly: bool = False
    weekdays: tuple[str, ...] = ()  # "monday" ...; empty on a weekly schedule whose days are still to set
    times_per_week: int | None = None
    as_needed: bool = False
    duration_days: int | None = None
    understood: bool = False
    reading: str = ""  # "morning and bedtime", "every 8 hours: 08:00, 16:00 and 00:00", "as needed"
    note: str = ""  # what was left for the pharmacist: later steps, words without a schedule

    @property
    def doses(self) -> tuple[tuple[Slot, float | None], ...]:
        return tuple(zip(self.slots, self.units_by_slot, strict=True))


def read_schedule(directions: str) -> Schedule:
    """The schedule of 'take 1 tablet by mouth twice daily with meals': morning and evening, 1 each."""
    first_step, *later = _NEXT_STEP.split(" ".join(directions.split()), maxsplit=1)
    clauses = [clause for clause in _CLAUSE_BREAK.split(first_step) if clause.strip(" ,.")]
    parts = [_read_clause(clause) for clause in clauses]
    for i, part in enumerate(parts):  # a taper without "then": "4 daily x 3 days, 3 daily x 3 days"
        if part.duration_days and any(p.understood for p in parts[i + 1 :]):
            later = [", ".join(clauses[i + 1 :]), *later]
            parts = parts[: i + 1]
            break
    notes = [part.note for part in parts if part.note]
    if later:
        notes.append("not scheduled: then " + " then ".join(later))
    scheduled = [part for part in parts if part.slots]
    doses = [dose for part in scheduled for dose in part.doses]
    as_needed = any(part.as_needed for part in parts)
    unclear = any(part.note and not part.understood for part in parts)
    if len({(p.interval_days, p.weekly, p.weekdays, p.times_per_week) for p in scheduled}) > 1:
        notes, unclear = [*notes, "different days in one sig"], True
    elif len({slot for slot, _ in doses}) < len(doses):
        notes, unclear = [*notes, "the same time twice"], True
    if unclear or not (doses or as_needed):
        return Schedule(note="; ".join(notes))
    if len(scheduled) > 1:
        doses.sort(key=lambda dose: _hour_of_day(dose[0]))
    units = [units for _, units in doses] or [next(p.units_per_dose for p in parts if p.as_needed)]
    days = scheduled[0] if scheduled else Schedule()
    schedule = Schedule(
        slots=tuple(slot for slot, _ in doses),
        units_by_slot=tuple(units[: len(doses)]),
        units_per_dose=units[0] if len(set(units)) == 1 else None,
        every_hours=next((p.every_hours for p in scheduled if p.every_hours), None),
        interval_days=days.interval_days,
        weekly=days.weekly,
        weekdays=days.weekdays,
        times_per_week=days.times_per_week,
        as_needed=as_needed,
        duration_days=next((p.duration_days for p in parts if p.duration_days), None),
        understood=True,
        note="; ".join(notes),
    )
    return replace(schedule, reading=_reading(schedule))


def _read_clause(clause: str) -> Schedule:
    said: dict[str, list] = {}
    for match in _PHRASES.finditer(clause):
        _, kind, value = _TABLE[int(match.lastgroup[1:])]
        said.setdefault(kind, []).append(_value(kind, match.group()) if value is None else value)
    units = _units(clause)
    duration = said.get("duration_days", [1 if "once" in said else None])[0]
    if "as_needed" in said:  # its times are limits, not slots
        note = "; ".join(said.get("note", []))
        return Schedule(
            as_needed=True, units_per_dose=units, duration_days=duration, understood=True, note=note
        )
    unclear = said.get("unclear", [])
    every_hours = interval_days = None
    times_a_day = said.get("times_a_day", [None])[0]
    if hours := said.get("every_hours"):
        low, high = hours[0]
        if high != low or not low or (low % 24 and 24 % low):  # "every 4 to 6 hours", "every 5 hours"
            unclear.append(f"every {low} to {high} hours" if high != low else f"every {low} hours")
        elif low % 24 == 0:
            interval_days = low // 24
        else:
            every_hours, times_a_day = low, 24 // low
    if times_a_day not in (None, *_SLOTS_FOR_TIMES_A_DAY) and not every_hours:
        unclear.append(f"{times_a_day} times a day")
    interval_days = said.get("every_days", [None])[0] or 7 * said.get("every_weeks", [0])[0] or interval_days
    weekdays = tuple(day for day in WEEKDAYS if any(day in days for days in said.get("weekdays", [])))
    if not_on := [day for days in said.get("not_weekdays", []) for day in days]:  # "daily except Sundays"
        weekdays = tuple(day for day in weekdays or WEEKDAYS if day not in not_on)
    times_per_week = (
        len(weekdays) or said.get("times_per_week", [None])[0] or (1 if interval_days == 7 else None)
    )
    if interval_days in (1, 7):  # every day; every week
        interval_days, times_a_day = None, times_a_day or (interval_days == 1) or None
    notes = "; ".join([*(f"not scheduled: {words}" for words in unclear), *said.get("note", [])])
    if unclear:
        return Schedule(units_per_dose=units, note=notes)
    anchors = _in_day_order({*said.get("slot", []), *said.get("clock", [])})
    slots = _slots(times_a_day, every_hours, anchors, meals="meals" in said, awake="awake" in said)
    if not slots and (times_per_week or interval_days or "once" in said):
        slots = ("morning",)
    return Schedule(
        slots=slots,
        units_by_slot=(units,) * len(slots),
        units_per_dose=units,
        every_hours=every_hours,
        interval_days=interval_days,
        weekly=bool(times_per_week),
        weekdays=weekdays,
        times_per_week=times_per_week,
        duration_days=duration,
        understood=bool(slots),
        note=notes,
    )


def _slots(times_a_day, every_hours, anchors, *, meals: bool, awake: bool) -> tuple[Slot, ...]:
    clocks = [slot for slot in anchors if isinstance(slot, time)]
    if every_hours and len(anchors) != times_a_day and (every_hours != 12 or clocks):
        start = clocks[0] if clocks else _FIRST_DOSE
        times = [time((start.hour + k * every_hours) % 24, start.minute) for k in range(times_a_day)]
        return tuple(slot for slot in times if not awake or slot.hour in _AWAKE_HOURS)
    if times_a_day and len(anchors) < times_a_day:  # "three times daily and at bedtime" is four
        return _in_day_order({*_SLOTS_FOR_TIMES_A_DAY[times_a_day], *anchors})
    if meals and not times_a_day:  # "with meals" alone is three times; "twice daily with meals" is two
        return _in_day_order({*_SLOTS_FOR_TIMES_A_DAY[3], *anchors})
    return anchors


def _value(kind: str, words: str):
    words = words.lower()
    numbers = [
        int(w) if w.isdigit() else _WORDS[w]
        for w in re.findall(r"\d+|[a-z]+", words)
        if w.isdigit() or w in _WORDS
    ]
    if kind == "clock":
        return _clock(words)
    if kind in ("weekdays", "not_weekdays"):
        days = [
            next(d for d in WEEKDAYS if d.startswith(short))
            for short in re.findall(r"mon|tue|wed|thu|fri|sat|sun", words)
        ]
        if len(days) == 2 and re.search(
            r"-|\b(?:through|thru|to)\b", words
        ):  # "Mon-Fri", "Monday through Friday"
            days = WEEKDAYS[WEEKDAYS.index(days[0]) : WEEKDAYS.index(days[1]) + 1]
        return tuple(days)
    if kind == "every_hours":
        return numbers[0], numbers[-1]
    if kind == "duration_days":
        return numbers[0] * (7 if "w" in words else 30 if "mo" in words else 1)
    if kind == "unclear":
        return words
    return numbers[0] if numbers else 2 if kind == "every_days" else 1


def _clock(words: str) -> time:
    if words == "midnight":
        return time(0)
    hour, minute, half = re.match(r"(\d+)(?::(\d+))?\s*([ap])?", words).groups()
    hour = int(hour) % 12 + (12 if half == "p" else 0) if half else int(hour)
    return time(hour, int(minute or 0))


def _units(clause: str) -> float | None:
    if found := _UNITS.search(clause):
        low = _count(found["low"]) + (0.5 if found["half"] else 0)  # "1 and 1/2 tablets"
        return max(low, _count(found["high"]) if found["high"] else 0)
    return None


def _hour_of_day(slot: Slot) -> float:
    hour = _SLOT_HOURS[slot] if isinstance(slot, str) else slot.hour + slot.minute / 60
    return (hour - 4) % 24  # the day runs from 04:00: "at 1 am" comes after bedtime


def _in_day_order(slots) -> tuple[Slot, ...]:
    return tuple(sorted(slots, key=_hour_of_day))


def _slot_words(slot: Slot) -> str:
    return slot if isinstance(slot, str) else slot.strftime("%H:%M")


def _and(words: list[str]) -> str:
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _reading(schedule: Schedule) -> str:
    days = ""
    if schedule.weekdays:
        days = _and([day.capitalize() + "s" for day in schedule.weekdays])
    elif schedule.weekly:
        times = schedule.times_per_week
        days = "once a week" if times == 1 else f"{times} times a week, days to set"
    elif schedule.interval_days:
        days = "every other day" if schedule.interval_days == 2 else f"every {schedule.interval_days} days"
    hours = f"every {schedule.every_hours} hours" if schedule.every_hours else ""
    split = schedule.units_per_dose is None
    times = _and([_slot_words(s) + (f" ({_number(u)})" if split and u else "") for s, u in schedule.doses])
    when = ", ".join(filter(None, [days, hours]))
    words = f"{when}: {times}" if when and times else when or times
    if schedule.as_needed:
        words = f"{words}; also as needed" if words else "as needed"
    if schedule.duration_days:
        words += f", for {schedule.duration_days} day{'s' * (schedule.duration_days > 1)}"
    return words
