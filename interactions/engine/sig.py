"""Directions in a medication entry: where the product ends and the sig begins, and the daily dose.

"Tylenol ES 500 mg 2 tabs q6h prn" is the product "Tylenol ES 500 mg" taken as "2 tabs q6h prn":
up to 2 x 500 mg four times a day, 4,000 mg a day. Directions never change which product it is, and
a dose is read only where the words say it plainly; anything else is left unread, never guessed.
"""

import functools
import re
from dataclasses import dataclass

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "half": 0.5, "a": 1, "an": 1}
_COUNT = r"(?:\d+(?:\.\d+)?|1/2|½|one|two|three|four|five|six|half)"
_FORM = (
    r"(?:tab(?:let)?s?|cap(?:sule)?s?|caplets?|softgels?|gelcaps?|pills?|puffs?|sprays?|drops?|patch(?:es)?"
    r"|suppositor(?:y|ies)|lozenges?|pieces?|chews?|gumm(?:y|ies)|packets?|sachets?|inhalations?)"
)
_TIMES = (
    r"(?:once|twice|thrice|one time|two times|three times|four times|five times|six times|\d+\s*(?:x|times))"
)
_PERIOD = r"(?:a|per|each|every|/)\s*(?:day|d|24\s*h(?:ours?|rs?)?)"
# The start of the directions. Ordered only for readability: the earliest match in the text wins.
_DIRECTION_STARTS = [
    r"\b(?:take|use|inject|apply|inhale|instill|dissolve|chew|give|place)\b",
    rf"(?<![\w.]){_COUNT}(?:\s*(?:-|to)\s*{_COUNT})?\s*{_FORM}\b",
    rf"\b{_TIMES}\s*(?:a|per|each|every|/)?\s*(?:day|daily|week|weekly|d|wk)\b",
    r"\b(?:q\.?\s?(?:\d+(?:\s*-\s*\d+)?\s*h(?:ours?|rs?|r)?|d|am|pm|hs|od|week|wk|day|ac|pc|[1-9]d)|"
    r"b\.?i\.?d|t\.?i\.?d|q\.?i\.?d|q\.?d|q\.?o\.?d|prn|p\.?r\.?n|h\.?s|a\.?c|p\.?c|qhs|qam|qpm|qday|qwk)\b",
    r"\bevery\s+(?:\d+(?:\s*(?:-|to)\s*\d+)?\s*(?:hours?|hrs?|h|days?|weeks?)|other\s+day|day|morning|evening"
    r"|night|week|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    r"\b(?:daily|nightly|weekly|monthly|once|twice)\b",
    r"\b(?:with|after|before|between)\s+(?:a\s+)?(?:meals?|food|breakfast|lunch|supper|dinner|milk|water|a\s+snack)\b",
    r"\bon\s+an?\s+empty\s+stomach\b",
    r"\b(?:at|before)\s+(?:bed\s*time|bed|night|hs|sleep)\b",
    r"\bin\s+the\s+(?:morning|evening|afternoon)\b",
    r"\bas\s+(?:needed|directed|instructed)\b",
    r"\b(?:x|for)\s*\d+\s*(?:d|days?|wks?|weeks?|months?)\b",
    r"\bfor\s+(?:pain|sleep|anxiety|nausea|headaches?|migraines?|fever|cough|itching|allergies|constipation"
    r"|heartburn|blood\s+pressure|bp|cholesterol|diabetes|sugar|mood|depression|swelling|breathing)\b",
    r"\b(?:by\s+mouth|po|sublingually|under\s+the\s+tongue|subcutaneously|subq|sq)\b",
]
_DIRECTIONS = re.compile("|".join(f"(?:{pattern})" for pattern in _DIRECTION_STARTS), re.IGNORECASE)


@functools.lru_cache(maxsize=8192)  # a list is screened again at every change to the record
def split_directions(text: str) -> tuple[str, str]:
    """('Tylenol ES 500 mg', '2 tabs q6h prn') from 'Tylenol ES 500 mg 2 tabs q6h prn'. The product
    part keeps at least its first word: 'Once Daily Multivitamin' stays a product name."""
    first_word = re.match(r"\s*\S+", text)
    start = first_word.end() if first_word else 0
    found = _DIRECTIONS.search(text, start)
    if not found:
        return text.strip(), ""
    return text[: found.start()].strip(" ,;-"), text[found.start() :].strip()


# --- The dose ------------------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"(?<![\w.])(?P<numbers>\d[\d,]*(?:\.\d+)?(?:\s*[-/]\s*\d[\d,]*(?:\.\d+)?)*)\s*"
    r"(?P<unit>mcg\s*/\s*h(?:r|our)?|mg|mcg|µg|ug|g|gm|grams?)?(?![\w])",
    re.IGNORECASE,
)
_UNITS_PER_DOSE = re.compile(
    rf"(?<![\w.])(?P<low>{_COUNT})(?:\s*(?:-|to|or)\s*(?P<high>{_COUNT}))?\s*{_FORM}\b", re.IGNORECASE
)
_TAKE_COUNT = re.compile(
    rf"\btake\s+(?P<low>{_COUNT})(?:\s*(?:-|to|or)\s*(?P<high>{_COUNT}))?\b(?!\s*(?:mg|mcg|g)\b)",
    re.IGNORECASE,
)
_EVERY_HOURS = re.compile(
    r"\b(?:every|q\.?)\s*(?P<low>\d+)(?:\s*(?:-|to)\s*(?P<high>\d+))?\s*(?:hours?|hrs?|h)\b", re.IGNORECASE
)
_TIMES_A_DAY = re.compile(
    rf"\b(?P<times>{_TIMES})\s*(?:a|per|each|every|/)?\s*(?:day|daily|d)\b|\b(?P<abbr>b\.?i\.?d|t\.?i\.?d|q\.?i\.?d)\b",
    re.IGNORECASE,
)
_ONCE_DAILY = re.compile(
    r"\b(?:daily|nightly|every\s+(?:day|morning|evening|night)|q\.?d|qday|qam|qpm|qhs|h\.?s|at\s+bed\s*time"
    r"|at\s+night|in\s+the\s+(?:morning|evening)|(?:with|before|after)\s+(?:breakfast|lunch|supper|dinner))\b",
    re.IGNORECASE,
)
_WEEKLY = re.compile(
    r"\b(?:weekly|once\s+(?:a|per|each|every)\s+week|every\s+(?:week|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)|q\.?\s?(?:wk|week)|qweek|q7d|1\s*(?:x|times)\s*(?:a|per)?\s*week)\b",
    re.IGNORECASE,
)
_EVERY_OTHER_DAY = re.compile(
    r"\b(?:every\s+other\s+(?:day|night|morning|evening)|q\.?o\.?d|q48h)\b", re.IGNORECASE
)
# Written-out numbers in brackets, as e-prescriptions print them: "2 (two) times a day".
_SPELLED_OUT = re.compile(r"\s*\((?:one|two|three|four|five|six|eight|twelve|\d+)\)", re.IGNORECASE)
_AND_A_HALF = re.compile(r"\b(\d+)\s+and\s+(?:1/2|a\s+half)\b", re.IGNORECASE)
_AS_NEEDED = re.compile(r"\b(?:as\s+needed|prn|p\.r\.n)\b", re.IGNORECASE)
_WITH_MEALS = re.compile(r"\b(?:with|after|before)\s+(?:each\s+)?meals\b", re.IGNORECASE)
_DAILY_CAP = re.compile(
    rf"\b(?:max(?:imum)?|not\s+to\s+exceed|no\s+more\s+than|do\s+not\s+exceed|up\s+to)\s*(?:of\s+)?"
    rf"(?P<count>{_COUNT})\s*(?:{_FORM})?\s*(?:a|per|in|each|/)\s*(?:day|24\s*h(?:ours?|rs?)?)\b",
    re.IGNORECASE,
)
_TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3, "one time": 1, "two times": 2, "three times": 3,
                "four times": 4, "five times": 5, "six times": 6}  # fmt: skip
_ABBREVIATIONS = {"bid": 2, "tid": 3, "qid": 4}


def _count(text: str) -> float:
    text = text.lower()
    if text in ("1/2", "½"):
        return 0.5
    return float(_NUMBER_WORDS.get(text, text) if text in _NUMBER_WORDS else text)


@dataclass(frozen=True)
class Dose:
    """What the words say of one entry. `strengths` in mg (mcg/h for a patch), as written in order."""

    strengths: tuple[float, ...] = ()
    per_hour_mcg: bool = False  # a patch: "25 mcg/h"
    units_per_dose: float | None = None  # tablets, capsules ... at a time (the most the words allow)
    times_per_day: float | None = None  # the most the words allow
    weekly: bool = False
    as_needed: bool = False
    reading: str = ""  # how it was read, in words ("2 tablets of 500 mg up to 4 times a day")

    @property
    def amount_per_dose(self) -> float | None:
        """mg per administration, for a single-ingredient product (None when it cannot be read)."""
        if len(self.strengths) != 1:
            return None
        return self.strengths[0] * (self.units_per_dose or 1)


@functools.lru_cache(maxsize=8192)
def parse_dose(product: str, directions: str) -> Dose:
    """Strength from the product part ("500 mg", "10-325"), the rest from the directions."""
    directions = _AND_A_HALF.sub(lambda m: f"{int(m[1]) + 0.5:g}", _SPELLED_OUT.sub("", directions))
    strengths: tuple[float, ...] = ()
    per_hour = False
    sig_amount = None
    for text, is_product in ((product, True), (directions, False)):
        for match in _AMOUNT.finditer(text):
            unit = (match["unit"] or "").lower().replace(" ", "")
            numbers = [float(n.replace(",", "")) for n in re.split(r"\s*[-/]\s*", match["numbers"])]
            if not unit and not (is_product and len(numbers) > 1):
                continue  # a bare number is a count or a product number, not a strength
            factor = (
                0.001
                if unit.startswith(("mcg", "µg", "ug"))
                else 1000
                if unit in ("g", "gm", "gram", "grams")
                else 1
            )
            if "/h" in unit:
                per_hour, factor = True, 1
            values = tuple(n * factor for n in numbers)
            if is_product and not strengths:
                strengths = values
            elif not is_product and sig_amount is None and len(values) == 1:
                sig_amount = values[0]
    units = None
    if found := (_UNITS_PER_DOSE.search(directions) or _TAKE_COUNT.search(directions)):
        units = max(_count(found["low"]), _count(found["high"]) if found["high"] else 0)
    if sig_amount is not None and not strengths:
        strengths, units = (sig_amount,), units or 1  # "take 1000 mg twice daily"
    times = None
    weekly = bool(_WEEKLY.search(directions))
    if found := _EVERY_HOURS.search(directions):
        times = 24 / int(found["low"])  # "every 4 to 6 hours": up to 6 times a day
    elif found := _TIMES_A_DAY.search(directions):
        times = float(
            _ABBREVIATIONS[re.sub(r"\W", "", found["abbr"].lower())]
            if found["abbr"]
            else _TIMES_WORDS.get(found["times"].lower()) or int(re.match(r"\d+", found["times"])[0])
        )
    elif _EVERY_OTHER_DAY.search(directions):
        times = 0.5
    elif _ONCE_DAILY.search(directions) and not weekly:
        times = 1.0
    elif _WITH_MEALS.search(directions):
        times = 3.0
    if weekly:
        times = None
    if (cap := _DAILY_CAP.search(directions)) and units:
        cap_units = _count(cap["count"])
        times = cap_units / units if times is None else min(times, cap_units / units)
    dose = Dose(strengths, per_hour, units, times, weekly, bool(_AS_NEEDED.search(directions)))
    return Dose(**{**dose.__dict__, "reading": _reading(dose)})


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _reading(dose: Dose) -> str:
    parts = []
    if dose.units_per_dose:
        parts.append(f"{_number(dose.units_per_dose)} at a time")
    if dose.weekly:
        parts.append("once a week")
    elif dose.times_per_day:
        up_to = "up to " if dose.as_needed else ""
        times = {0.5: "every other day", 1: "once a day", 2: "twice a day"}.get(dose.times_per_day)
        parts.append(f"{up_to}{times or _number(dose.times_per_day) + ' times a day'}")
    elif dose.as_needed:
        parts.append("as needed")
    return ", ".join(parts)
