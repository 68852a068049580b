import datetime
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from mtm.models import AuditAction, AuditEvent
from patients.models import MedicationEntry
from patients.selectors import patient_record, patient_screening
from tests import factories
from tests.conftest import client_for

HTMX = {"HTTP_HX_REQUEST": "true"}


def section_url(name, patient, section, *extra):
    return reverse(name, args=[patient.pk, section, *extra])


def test_patient_list_finds_patients_by_name_words(pharmacist_client, org):
    factories.make_patient(org, first_name="John", last_name="Smithers")
    factories.make_patient(org, first_name="Joan", last_name="Smith")
    factories.make_patient(org, first_name="Mary", last_name="Jones")
    response = pharmacist_client.post(reverse("patient_list"), {"q": "smi jo"})
    names = [f"{p.first_name} {p.last_name}" for p in response.context["page"].object_list]
    assert names == ["Joan Smith", "John Smithers"]


@pytest.mark.parametrize("typed", ["03/14/1948", "1948-03-14", "3/14/1948"])
def test_patient_list_finds_patients_by_birth_date(pharmacist_client, org, typed):
    factories.make_patient(org, last_name="Born1948", date_of_birth=datetime.date(1948, 3, 14))
    factories.make_patient(org, last_name="Born1950", date_of_birth=datetime.date(1950, 3, 14))
    response = pharmacist_client.post(reverse("patient_list"), {"q": typed})
    assert [p.last_name for p in response.context["page"].object_list] == ["Born1948"]


def test_patient_list_is_paginated_and_htmx_gets_only_the_results(pharmacist_client, org):
    for n in range(30):
        factories.make_patient(org, last_name=f"Zed{n:02d}")
    response = pharmacist_client.post(reverse("patient_list"), {"q": "zed", "page": 2}, **HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="results"' in body
    assert "Page 2 of 2" in body
    assert body.count("/patients/") == 5
    assert "← Previous" in body


def test_patient_list_never_shows_another_organisations_patients(pharmacist_client, other_patient):
    response = pharmacist_client.post(reverse("patient_list"), {"q": "olive"})
    assert list(response.context["page"].object_list) == []


def test_registering_a_patient(staff_client, org):
    response = staff_client.post(
        reverse("patient_create"),
        {
            "first_name": "Nell",
            "last_name": "Gwynn",
            "date_of_birth": "1950-02-02",
            "sex": "female",
            "preferred_language": "en",
        },
    )
    patient = org.patients.get()
    assert response.status_code == 302 and response.url == reverse("patient_detail", args=[patient.pk])


def test_registering_with_a_future_birth_date_shows_the_error_on_the_field(staff_client, org):
    future = (factories.today() + datetime.timedelta(days=3)).isoformat()
    response = staff_client.post(
        reverse("patient_create"),
        {
            "first_name": "Nell",
            "last_name": "Gwynn",
            "date_of_birth": future,
            "sex": "female",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 422
    assert response.context["form"].errors["date_of_birth"] == ["This date is in the future."]
    assert not org.patients.exists()


def test_patient_page_shows_every_section_and_is_audited(pharmacist_client, patient, org):
    prescriber = factories.make_prescriber(org)
    entry = factories.make_medication(patient, name="Coumadin 5 mg", prescriber=prescriber)
    factories.make_allergy(patient, substance="penicillin", reaction="hives")
    factories.make_condition(patient)
    factories.make_measurement(patient, kind="serum_creatinine", value="1.4")
    factories.make_fill(patient, drug_name="warfarin 5 mg")
    patient.care_team.create(prescriber=prescriber, is_primary_care=True)
    response = pharmacist_client.get(reverse("patient_detail", args=[patient.pk]), REMOTE_ADDR="192.0.2.4")
    body = response.content.decode()
    for text in [
        "Coumadin 5 mg", "Allergy: penicillin", "hives", "Essential (primary) hypertension", "1.4 mg/dL",
        "warfarin 5 mg", "Rita Moreno, MD", "Primary care", "Details", "Recent changes",
    ]:  # fmt: skip
        assert text in body, text
    assert f"/medications/{entry.pk}/end/" in body  # the Stop button
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.patient_id, event.ip_address, event.actor_username) == (
        patient.pk,
        "192.0.2.4",
        "pharmacist",
    )


def test_patient_page_query_count_does_not_grow_with_the_record(pharmacist_client, org):
    def queries_for(n):
        patient = factories.make_patient(org)
        prescriber = factories.make_prescriber(org, npi=factories.valid_npi(f"1{n:08d}"))
        for i in range(n):
            entry = factories.make_medication(patient, name=f"drug {i}", prescriber=prescriber)
            factories.make_fill(patient, medication=entry)
            factories.make_measurement(patient, value=str(60 + i))
            factories.make_allergy(patient, substance=f"substance {i}")
        with CaptureQueriesContext(connection) as queries:
            assert pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).status_code == 200
        return len(queries)

    assert queries_for(5) == queries_for(40)


def test_adding_a_medication_inline_returns_the_updated_section(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "medications"),
        {"name": "Lipitor 20 mg tablet", "directions": "1 at bedtime", "source": "prescription"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<section id="section-medications"') and "Lipitor 20 mg tablet" in body
    assert "Saved." in body
    assert patient.medications.get().name == "Lipitor 20 mg tablet"


def test_a_medication_without_a_name_shows_the_field_error_in_place(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "medications"), {"name": "", "source": "otc"}, **HTMX
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not MedicationEntry.objects.exists()


def test_stopping_a_medication_inline(pharmacist_client, patient):
    entry = factories.make_medication(patient)
    response = pharmacist_client.post(
        section_url("section_end", patient, "medications", entry.pk),
        {"stop_date": factories.today().isoformat(), "stop_reason": "cough", "version": 1},
        **HTMX,
    )
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.status == "stopped"
    assert "Stopped medications (1)" in response.content.decode()


def test_editing_with_an_outdated_version_is_refused_with_a_message(pharmacist_client, patient):
    entry = factories.make_medication(patient)
    MedicationEntry.objects.filter(pk=entry.pk).update(version=2, directions="changed by a colleague")
    response = pharmacist_client.post(
        section_url("section_edit", patient, "medications", entry.pk),
        {"name": "lisinopril", "source": "prescription", "directions": "mine", "version": 1},
        **HTMX,
    )
    assert response.status_code == 409
    assert "Someone else changed this medication" in response.content.decode()
    entry.refresh_from_db()
    assert entry.directions == "changed by a colleague"


def test_unknown_icd10cm_code_is_shown_on_the_field(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "conditions"), {"icd10_code": "I99.99"}, **HTMX
    )
    assert response.status_code == 422
    assert "I99.99 is not an ICD-10-CM diagnosis code" in response.content.decode()


def test_care_team_with_a_new_prescriber_and_a_bad_npi(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "care-team"),
        {"new_first_name": "Ann", "new_last_name": "Lee", "new_npi": "1234567890"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "check digit is wrong" in response.content.decode()
    assert not patient.care_team.exists()


def test_weight_in_pounds_from_the_page(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "measurements"),
        {"kind": "weight", "value": "154", "unit": "lb", "measured_on": factories.today().isoformat()},
        **HTMX,
    )
    assert response.status_code == 200
    assert "69.85 kg" in response.content.decode()


@pytest.mark.parametrize("value", ["0", "-1"])
def test_weight_zero_or_less_from_the_page(pharmacist_client, patient, value):
    response = pharmacist_client.post(
        section_url("section_add", patient, "measurements"),
        {"kind": "weight", "value": value, "unit": "kg", "measured_on": factories.today().isoformat()},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Weight must be more than 0." in response.content.decode()


def test_editing_details_inline(staff_client, patient):
    url = reverse("patient_details", args=[patient.pk])
    form = staff_client.get(url, {"edit": "1"}, **HTMX)
    assert 'name="version"' in form.content.decode()
    data = {
        "first_name": "Walter", "last_name": "Brennan", "date_of_birth": "1950-05-17", "sex": "male",
        "preferred_language": "es", "address_line1": "12 Elm St", "city": "Middleton", "version": 1,
    }  # fmt: skip
    response = staff_client.post(url, data, **HTMX)
    assert response.status_code == 200 and "Middleton" in response.content.decode()
    patient.refresh_from_db()
    assert patient.preferred_language == "es"


def test_history_page_lists_changes(pharmacist_client, patient):
    pharmacist_client.post(
        section_url("section_add", patient, "allergies"),
        {"substance": "codeine", "kind": "intolerance", "severity": "mild"},
        **HTMX,
    )
    response = pharmacist_client.get(reverse("patient_history", args=[patient.pk]))
    assert "codeine" in response.content.decode()


def test_audit_page_shows_who_saw_what_to_org_admins_only(
    admin_client_org, pharmacist_client, patient, other_patient, other_pharmacist
):
    from tests.conftest import client_for

    pharmacist_client.get(reverse("patient_detail", args=[patient.pk]))
    client_for(other_pharmacist).get(reverse("patient_detail", args=[other_patient.pk]))
    response = admin_client_org.get(reverse("audit_log"), {"action": "view"})
    events = list(response.context["page"].object_list)
    assert [(e.actor_username, e.patient) for e in events] == [("pharmacist", patient)]
    assert pharmacist_client.get(reverse("audit_log")).status_code == 403


def test_portal_shows_the_patient_their_own_page(patient_user, patient):
    from tests.conftest import client_for

    response = client_for(patient_user).get(reverse("portal"))
    assert response.status_code == 200 and "Hello, Walter" in response.content.decode()


def test_condition_code_suggestions_by_words_or_code(pharmacist_client):
    by_words = pharmacist_client.get(
        reverse("icd10_options"), {"icd10_code": "chronic systolic heart failure"}
    )
    assert (
        '<option value="I50.22">I50.22 Chronic systolic (congestive) heart failure</option>'
        in by_words.content.decode()
    )
    by_code = pharmacist_client.get(reverse("icd10_options"), {"icd10_code": "e11.2"})
    assert 'value="E11.22"' in by_code.content.decode()


def test_prescriber_directory_and_editing_a_fax_number(staff_client, org, other_org):
    prescriber = factories.make_prescriber(org, fax="608-555-0100")
    factories.make_prescriber(other_org, last_name="Elsewhere")
    listing = staff_client.get(reverse("prescriber_list")).content.decode()
    assert "Rita Moreno, MD" in listing and "Elsewhere" not in listing
    data = {
        "first_name": "Rita",
        "last_name": "Moreno",
        "credentials": "MD",
        "npi": "1234567893",
        "fax": "608-555-0199",
        "version": 1,
    }
    assert staff_client.post(reverse("prescriber_edit", args=[prescriber.pk]), data).status_code == 302
    prescriber.refresh_from_db()
    assert prescriber.fax == "(608) 555-0199"  # stored in one format
    data["npi"] = "1234567890"
    response = staff_client.post(reverse("prescriber_edit", args=[prescriber.pk]), {**data, "version": 2})
    assert response.status_code == 422 and "check digit is wrong" in response.content.decode()


def test_without_javascript_the_forms_still_work(pharmacist_client, patient):
    url = section_url("section_add", patient, "allergies")
    page = pharmacist_client.get(url)
    assert "<html" in page.content.decode() and f'action="{url}"' in page.content.decode()
    invalid = pharmacist_client.post(url, {"substance": ""})
    assert invalid.status_code == 422 and "<html" in invalid.content.decode()
    saved = pharmacist_client.post(url, {"substance": "latex", "severity": "mild", "kind": "allergy"})
    assert saved.status_code == 302
    assert saved.url == reverse("patient_detail", args=[patient.pk]) + "#section-allergies"


def test_patient_page_screens_the_active_list_and_shows_kidney_function(pharmacist_client, patient):
    factories.make_medication(patient, name="Coumadin 5 mg")
    factories.make_medication(patient, name="Diflucan 150 mg")
    factories.make_medication(patient, name="grandma's tonic")
    factories.make_measurement(patient, kind="weight", value="70")
    factories.make_measurement(patient, kind="serum_creatinine", value="1.0")
    body = pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert 'id="screening"' in body
    assert "Warfarin with fluconazole, miconazole or voriconazole" in body
    assert "fluconazole is a moderate CYP2C9 inhibitor" in body
    assert "Not recognised, so not screened:</strong> grandma&#x27;s tonic" in body
    # female born 1950-05-17; CrCl (140 - age) x 70 / 72 x 0.85
    assert "Creatinine clearance" in body and "Cockcroft-Gault" in body


def test_saving_a_section_tells_the_screening_panel_to_refresh(pharmacist_client, patient):
    response = pharmacist_client.post(
        section_url("section_add", patient, "medications"),
        {"name": "Biaxin", "source": "prescription"},
        **HTMX,
    )
    assert response.headers["HX-Trigger"] == "record-changed"
    panel = pharmacist_client.get(reverse("patient_screening", args=[patient.pk]), **HTMX)
    assert panel.content.decode().strip().startswith('<section id="screening"')


def test_medication_name_suggestions(pharmacist_client):
    response = pharmacist_client.get(reverse("medication_names"), {"name": "coumad"})
    assert '<option value="coumadin">' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-02-31"}, "Enter a real date for “From” (“since”), as YYYY-MM-DD."),
        ({"until": "soon"}, "Enter a real date for “To” (“until”), as YYYY-MM-DD."),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "“To” (“until”) is before “From” (“since”)."),
        ({"action": "delete"}, "“action” cannot be “delete”: use"),
        ({"user": "mallory"}, "“user” must be the user name of someone in your pharmacy; “mallory” is not."),
        ({"patient": "12"}, "“patient” must be a patient&#x27;s id."),
    ],
)
def test_audit_filters_the_page_cannot_use_are_a_400_naming_the_parameter(admin_client_org, params, message):
    response = admin_client_org.get(reverse("audit_log"), params)
    assert response.status_code == 400 and message in response.content.decode()
    assert "page" not in response.context  # never the whole trail instead


def test_audit_filters_by_user_action_and_dates(admin_client_org, pharmacist_client, patient):
    pharmacist_client.get(reverse("patient_detail", args=[patient.pk]))
    today = factories.today().isoformat()
    response = admin_client_org.get(
        reverse("audit_log"),
        {"user": "pharmacist", "action": "view", "since": today, "until": today, "patient": str(patient.pk)},
    )
    assert response.status_code == 200
    assert [(e.actor_username, e.action) for e in response.context["page"].object_list] == [
        ("pharmacist", "view")
    ]


def test_a_folded_finding_sends_its_explanation_when_opened(pharmacist_client, patient, other_pharmacist):
    """The page carries the explanations of the findings it shows open (major, contraindicated);
    a folded one's is fetched when it is opened, or followed as a link without JavaScript."""
    for name in ("atazanavir", "omeprazole", "Coumadin 5 mg", "Diflucan 150 mg"):
        factories.make_medication(patient, name=name)
    findings = patient_screening(patient_record(patient=patient), today=factories.today()).findings
    folded = next(f for f in findings if f["severity"] not in ("major", "contraindicated"))
    shown = next(f for f in findings if f["severity"] in ("major", "contraindicated"))
    body = pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    url = f"{reverse('finding_explanation', args=[patient.pk])}?{urlencode({'id': folded['id']})}"
    assert escape(shown["management"]) in body
    assert escape(folded["management"]) not in body and escape(url) in body

    fragment = pharmacist_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert escape(folded["management"]) in fragment and "<html" not in fragment
    page = pharmacist_client.get(url).content.decode()
    assert "<html" in page and escape(folded["management"]) in page and escape(folded["title"]) in page

    assert (
        pharmacist_client.get(reverse("finding_explanation", args=[patient.pk]) + "?id=nope").status_code
        == 404
    )
    assert client_for(other_pharmacist).get(url).status_code == 404


def test_patient_page_rows_keep_their_edit_and_stop_buttons_and_where_they_open(pharmacist_client, patient):
    entry = factories.make_medication(patient, name="Coumadin 5 mg")
    fill = factories.make_fill(patient, drug_name="warfarin 5 mg")
    body = pharmacist_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    for section, item, actions in [("medications", entry, ["edit", "end"]), ("fills", fill, ["edit"])]:
        table = body[body.index(f'id="section-{section}"') :]
        table = table[: table.index("</table>")]
        # htmx opens the form in place of the section: the table says so once for all its rows.
        assert f'<table hx-target="#section-{section}" hx-swap="outerHTML">' in table
        for action in actions:
            address = section_url("section_show", patient, section) + f"{item.pk}/{action}/"
            assert f'action="{address}" hx-get="{address}"' in table


def test_patient_page_lists_scheduled_follow_ups_soonest_first_then_the_history(
    pharmacist_client, patient, org
):
    from followups.models import FollowUp

    now = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
    for days, status, notes in [(10, "scheduled", "later"), (2, "scheduled", "sooner"), (-30, "done", "long ago"),
                                (-3, "missed", "lately")]:  # fmt: skip
        FollowUp.objects.create(
            organisation=org, patient=patient, kind="phone_check_in", status=status, notes=notes,
            due_at=now + datetime.timedelta(days=days),
        )  # fmt: skip
    response = pharmacist_client.get(reverse("patient_detail", args=[patient.pk]))
    assert [f.notes for f in response.context["follow_ups"]] == ["sooner", "later", "lately", "long ago"]


def test_recent_changes_are_the_latest_first_without_views(pharmacist_client, patient):
    for substance in ["codeine", "latex", "sulfa"]:
        pharmacist_client.post(
            section_url("section_add", patient, "allergies"),
            {"substance": substance, "kind": "intolerance", "severity": "mild"},
            **HTMX,
        )
        pharmacist_client.get(reverse("patient_detail", args=[patient.pk]))  # a view, never a change
    record = patient_record(patient=patient)
    assert [event.action for event in record.recent_changes] == ["create"] * 3
    stamps = [(event.at, event.pk) for event in record.recent_changes]
    assert stamps == sorted(stamps, reverse=True)
