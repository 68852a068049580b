"""Phone and fax numbers: checked with libphonenumber, stored in one format."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mtm.demo import ORGANISATIONS
from mtm.validators import phone_number_normalise, phone_number_uri
from patients.demo import DEMO_PATIENTS, PRESCRIBERS


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(608) 555-0120", "(608) 555-0120"),
        ("608-555-0199", "(608) 555-0199"),
        ("608.555.0199", "(608) 555-0199"),
        ("6085550199", "(608) 555-0199"),
        ("+1 608 555 0199", "(608) 555-0199"),
        ("1-800-555-0199", "(800) 555-0199"),
        ("(608) 555-0120 ext 12", "(608) 555-0120 ext. 12"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("", ""),
    ],
)
def test_it_stores_numbers_in_one_format(typed, stored):
    assert phone_number_normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("12", "not a valid phone number"),
        ("555-CALL-NOW", "not a valid phone number"),  # letters dial as (555) 225-5669: no such area code
        ("abc", "is not a phone number"),
        ("call me", "is not a phone number"),
        ("123-456-7890", "not a valid phone number"),
        ("(608) 123-4567", "not a valid phone number"),  # no exchange starts with 1
        ("608 555 01200", "not a valid phone number"),
        ("555-0142", "has no area code"),
    ],
)
def test_it_refuses_what_is_not_a_phone_number(typed, reason):
    with pytest.raises(ValidationError) as error:
        phone_number_normalise(typed)
    assert reason in error.value.messages[0] and typed in error.value.messages[0]


def test_the_demo_datas_fictional_555_01xx_numbers_are_accepted_as_they_are():
    records = [
        *ORGANISATIONS,
        *(prescriber for directory in PRESCRIBERS.values() for prescriber in directory.values()),
        *(patient.details for patient in DEMO_PATIENTS),
    ]
    numbers = [
        value
        for record in records
        for key, value in record.items()
        if key in {"phone", "mobile_phone", "representative_phone", "fax"} and value
    ]
    assert len(numbers) > 20
    assert [phone_number_normalise(number) for number in numbers] == numbers


def test_a_number_becomes_a_link_a_phone_can_dial():
    assert phone_number_uri("(608) 555-0142") == "tel:+16085550142"
    assert phone_number_uri("not a number") == ""


def test_the_pharmacys_phone_and_fax_are_checked_and_stored_in_one_format(org, admin_client_org):
    data = {"name": "Riverside Pharmacy", "time_zone": "America/Chicago", "prescriber_response_days": "10"}
    bad = admin_client_org.post(
        reverse("organisation_settings"),
        {**data, "phone": "555-CALL-NOW", "fax": "12", "version": org.version},
    )
    assert bad.status_code == 422
    assert bad.context["form"].errors["phone"] == [
        "“555-CALL-NOW” is not a valid phone number: check the number of digits and the area code."
    ]
    assert "fax" in bad.context["form"].errors
    org.refresh_from_db()
    assert (org.phone, org.version) == ("", 1)

    saved = admin_client_org.post(
        reverse("organisation_settings"), {**data, "phone": "608.555.0142", "fax": "6085550143", "version": 1}
    )
    assert saved.status_code == 302
    org.refresh_from_db()
    assert (org.phone, org.fax) == ("(608) 555-0142", "(608) 555-0143")
