"""The outcomes report's and the billing export's period, from the address: a period the address
gives wrongly is a 400 with the page saying which parameter, never this month instead."""

import pytest
from django.urls import reverse


@pytest.mark.parametrize("report", ["outcomes_report", "billing_export"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"start": "2026-02-31", "end": "2026-03-31"},
            "Enter a real date for “From” (“start”), as YYYY-MM-DD.",
        ),
        ({"start": "2026-01-01", "end": "next week"}, "Enter a real date for “To” (“end”), as YYYY-MM-DD."),
        ({"start": "2026-01-01"}, "Enter “To” (“end”)."),
        ({"end": "2026-01-01"}, "Enter “From” (“start”)."),
        (
            {"start": "2026-03-01", "end": "2026-02-01"},
            "The end of the period (“end”) is before its start (“start”).",
        ),
    ],
)
def test_a_period_the_address_gives_wrongly_is_a_400_naming_the_parameter(
    admin_client_org, report, params, message
):
    response = admin_client_org.get(reverse(report), params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")  # the page, with the fields to correct
    body = response.content.decode()
    assert message in body and "Billing export (CSV)" not in body


def test_without_a_period_the_reports_show_this_month(admin_client_org):
    assert admin_client_org.get(reverse("outcomes_report")).status_code == 200
    response = admin_client_org.get(reverse("billing_export"))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
