"""Validation shared by every app: telephone and fax numbers.

Numbers are checked with libphonenumber (the `phonenumbers` package, Google's metadata of every
country's numbering plan) and kept in one format, so that a number typed as 608.555.0120,
6085550120 or +1 608 555 0120 is stored, shown, faxed and texted as (608) 555-0120.
"""

import phonenumbers
from django.core.exceptions import ValidationError

# Our pharmacies are in the United States: a number without a country code is a US number.
DEFAULT_PHONE_REGION = "US"


def phone_number_normalise(text: str) -> str:
    """The number in its stored format: national for North American numbers ("(608) 555-0120",
    with "ext. 12" when there is one), international for others ("+44 20 7946 0958").

    Refuses what is not a dialable number: too few or too many digits, a missing area code, an
    area code or exchange that does not exist ("(555) 225-5669", "123-456-7890"), words.
    """
    text = (text or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "“%(text)s” is not a phone number.", code="phone_not_a_number", params={"text": text}
        ) from None
    if phonenumbers.is_possible_number_with_reason(number) == (
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    ):
        raise ValidationError(
            "“%(text)s” has no area code: enter all 10 digits, e.g. (608) 555-0120.",
            code="phone_no_area_code",
            params={"text": text},
        )
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "“%(text)s” is not a valid phone number: check the number of digits and the area code.",
            code="phone_invalid",
            params={"text": text},
        )
    north_american = number.country_code == 1
    return phonenumbers.format_number(
        number,
        phonenumbers.PhoneNumberFormat.NATIONAL
        if north_american
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    )


def validate_phone_number(text: str) -> None:
    phone_number_normalise(text)


def phone_number_uri(text: str) -> str:
    """ "tel:+16085550142" for a link a phone can dial; "" when the text is not a number."""
    try:
        number = phonenumbers.parse(text or "", DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
