"""Validation of codes and identifiers that have an authoritative definition."""

import datetime
import functools
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

ICD10CM_RELEASE = "ICD-10-CM April 2026 (CDC/NCHS), via simple-icd-10-cm"
# simple_icd_10_cm is imported where it is used: importing it reads the whole code set (seconds), which
# every process loading the models (manage.py commands, the Celery worker and beat) would pay.


def normalise_icd10cm(code: str) -> str:
    """'i5022', ' I50.22 ' -> 'I50.22'."""
    import simple_icd_10_cm as icd10cm

    compact = re.sub(r"[\s.]", "", code or "").upper()
    return icd10cm.add_dot(compact) if compact and icd10cm.is_valid_item(compact) else compact


def icd10cm_description(code: str) -> str | None:
    """The official description of a diagnosis code, or None when it is not one.

    Chapters and blocks (ranges such as E08-E13) are not diagnoses and are refused.
    """
    import simple_icd_10_cm as icd10cm

    compact = re.sub(r"[\s.]", "", code or "").upper()
    if not compact or not icd10cm.is_valid_item(compact) or icd10cm.is_chapter_or_block(compact):
        return None
    return icd10cm.get_description(compact)


def validate_icd10cm(code: str) -> None:
    if icd10cm_description(code) is None:
        raise ValidationError(
            "%(code)s is not an ICD-10-CM diagnosis code (%(release)s).",
            code="unknown_icd10cm",
            params={"code": code, "release": ICD10CM_RELEASE},
        )


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn check over the 10-digit NPI prefixed with 80840 (CMS NPI check digit standard)."""
    if not re.fullmatch(r"\d{10}", npi or ""):
        return False
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def validate_npi(npi: str) -> None:
    if not re.fullmatch(r"\d{10}", npi or ""):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not npi_check_digit_ok(npi):
        raise ValidationError(
            "%(npi)s is not a valid NPI: its check digit is wrong.", code="npi_check", params={"npi": npi}
        )


def validate_not_future(value: datetime.date) -> None:
    if value and value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")


def validate_plausible_birth_date(value: datetime.date) -> None:
    validate_not_future(value)
    if value and value.year < 1900:
        raise ValidationError("Enter a birth date after 1900.", code="implausible_birth_date")


@functools.cache
def _icd10cm_index() -> list[tuple[str, str, str]]:
    """(code, description, lower-case description) for every diagnosis code, built once (~1 s)."""
    import simple_icd_10_cm as icd10cm

    index = []
    for code in icd10cm.get_all_codes(with_dots=True):
        if icd10cm.is_category_or_subcategory(code):
            description = icd10cm.get_description(code)
            index.append((code, description, description.lower()))
    return index


def icd10cm_search(query: str, limit: int = 20) -> list[tuple[str, str]]:
    """Codes starting with what was typed ("I50.2"), or whose description holds every word typed
    ("systolic heart failure"); broader codes first."""
    text = query.strip()
    if len(text) < 2:
        return []
    code_prefix = re.sub(r"[\s.]", "", text).upper()
    if re.fullmatch(r"[A-Z]\d[0-9A-Z]*", code_prefix):
        matches = [(c, d) for c, d, _ in _icd10cm_index() if c.replace(".", "").startswith(code_prefix)]
    else:
        words = text.lower().split()
        matches = [(c, d) for c, d, lower in _icd10cm_index() if all(word in lower for word in words)]
    matches.sort(key=lambda item: (len(item[0]), item[0]))
    return matches[:limit]


# An amount in a dose text: "5", "0.5", ".5", "1,000", "0,5". A minus sign counts only directly
# before the digits at the start or after a space or bracket ("-5 mg", "(-5 mg)"), so that ranges
# ("1-2 tablets", "5 mg - 10 mg") stay ranges.
_DOSE_AMOUNT = re.compile(
    r"(?:(?:^|(?<=[\s(/]))(?P<minus>[-\u2212\u2013]))?(?<![\w.,])(?P<number>\d+(?:[.,]\d+)*|[.,]\d+)"
)


def validate_dose_text(text: str) -> None:
    """A strength or dose as people write it ("10 mg", "1-2 tablets", "0.5 mL", "as directed") is
    refused when it gives a negative amount, or only amounts of zero: that is no dose at all."""
    text = (text or "").strip()
    amounts = list(_DOSE_AMOUNT.finditer(text))
    negative = any(match["minus"] for match in amounts) or re.match(r"^[-\u2212\u2013]\s*[.,\d]", text)
    if negative:
        raise ValidationError(
            "The strength / dose cannot be negative (“%(text)s”): enter the amount, more than zero.",
            code="dose_negative",
            params={"text": text},
        )
    if amounts and all(set(match["number"]) <= {"0", ".", ","} for match in amounts):
        raise ValidationError(
            "The strength / dose must be more than zero (“%(text)s”).",
            code="dose_zero",
            params={"text": text},
        )


def validate_fill_quantity(value) -> None:
    if value is not None and value <= 0:
        raise ValidationError("The quantity dispensed must be more than zero.", code="quantity_not_positive")


def validate_fill_cost(value) -> None:
    if value is not None and value < 0:
        raise ValidationError("The cost of a fill cannot be negative.", code="cost_negative")


def validate_days_supply(value) -> None:
    if value is not None and not 1 <= value <= 365:
        raise ValidationError(
            "The days' supply must be from 1 to 365 days (%(value)s).",
            code="days_supply_range",
            params={"value": value},
        )
