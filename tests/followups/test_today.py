"""The Today page: where each role lands after signing in, with the work waiting for them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups.models import FollowUpKind
from followups.services import follow_up_create
from mtm.audit import Actor
from mtm.permissions import Role
from reviews import services as review_services
from reviews.models import Audience, ProblemCategory
from tests import factories
from tests.conftest import client_for


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


def open_review(patient, by):
    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return review_services.review_start(review=review, version=review.version, by=by)


def completed_cmr_with_a_letter(patient, by, prescriber, *, sent_days_ago=None):
    review = open_review(patient, by)
    problem = review_services.problem_add(
        review=review, data={"title": "NSAID with warfarin", "category": ProblemCategory.ADVERSE_REACTION},
        medications=[], by=by,
    )  # fmt: skip
    recommendation = review_services.recommendation_add(
        problem=problem,
        data={"audience": Audience.PRESCRIBER, "prescriber": prescriber, "text": "Stop ibuprofen"},
        prescriber_confirmed=True,
        by=by,
    )
    review = review_services.review_complete(review=review, version=review.version, minutes_spent=20, by=by)
    if sent_days_ago is not None:
        day = timezone.localdate() - datetime.timedelta(days=sent_days_ago)
        review_services.recommendations_sent(recommendations=[recommendation], on=day, by=by)
    return review


def test_every_staff_role_lands_on_today(pharmacist_client, staff_client, admin_client_org):
    for client in (pharmacist_client, staff_client, admin_client_org):
        response = client.get(reverse("home"))
        assert response.status_code == 302 and response.url == reverse("today")
        assert client.get(reverse("today")).status_code == 200


def test_a_patient_user_has_no_today_page(patient_user):
    assert client_for(patient_user).get(reverse("today")).status_code == 403


def test_the_pharmacist_sees_their_open_reviews_summaries_to_deliver_and_follow_ups(
    org, pharmacist, patient, by, pharmacist_client
):
    colleague = factories.make_user(org, Role.PHARMACIST, username="colleague")
    other = factories.make_patient(org, first_name="Nora", last_name="Colleagues")
    open_review(patient, by)
    open_review(other, Actor(user=colleague))  # not theirs
    done_patient = factories.make_patient(org, first_name="Ida", last_name="Delivered")
    prescriber = factories.make_prescriber(org)
    completed_cmr_with_a_letter(done_patient, by, prescriber)
    follow_up_create(
        patient=patient, by=by, trigger="test:today",
        data={"kind": FollowUpKind.PHONE_CHECK_IN, "due_at": timezone.now() - datetime.timedelta(hours=2),
              "assigned_to": pharmacist},
    )  # fmt: skip
    html = pharmacist_client.get(reverse("today")).content.decode()
    assert 'My open reviews <span class="count">(1)</span>' in html
    assert patient.last_name in html and "Colleagues" not in html
    assert 'Written summaries to deliver <span class="count">(1)</span>' in html and "Delivered, Ida" in html
    assert 'My follow-ups due <span class="count">(1)</span>' in html and "Overdue" in html


def test_staff_see_the_queue_letters_to_fax_and_answers_overdue(org, patient, by, staff_client):
    prescriber = factories.make_prescriber(org, first_name="Rachel", last_name="Kim", fax="(608) 555-0199")
    completed_cmr_with_a_letter(patient, by, prescriber)
    late = factories.make_patient(org, first_name="Lou", last_name="Waiting")
    completed_cmr_with_a_letter(late, by, prescriber, sent_days_ago=org.prescriber_response_days + 2)
    html = staff_client.get(reverse("today")).content.decode()
    assert 'Letters to fax <span class="count">(1)</span>' in html
    assert f"{patient.last_name}, {patient.first_name}</a> → Rachel Kim" in html
    assert 'Answers to record or chase <span class="count">(1)</span>' in html and "Waiting, Lou" in html


def test_the_admin_sees_the_organisations_figures_and_settings_in_the_top_bar(
    org, patient, by, admin_client_org, other_patient, other_pharmacist
):
    prescriber = factories.make_prescriber(org)
    completed_cmr_with_a_letter(patient, by, prescriber)
    open_review(other_patient, Actor(user=other_pharmacist))  # another organisation's: not counted
    html = admin_client_org.get(reverse("today")).content.decode()
    assert '<span class="figure">1</span> reviews completed this month' in html
    assert '<span class="figure">0</span> reviews open' in html
    assert f'href="{reverse("organisation_settings")}"' in html.split("</header>")[0]


def test_today_costs_the_same_queries_with_more_work_waiting(org, pharmacist, by, staff, admin_client_org):
    prescriber = factories.make_prescriber(org)

    def add_work(n):
        for _ in range(n):
            patient = factories.make_patient(org)
            completed_cmr_with_a_letter(patient, by, prescriber, sent_days_ago=30)
            open_review(factories.make_patient(org), by)

    counts = {}
    for n in (1, 6):
        add_work(n)
        for name, user in (("pharmacist", pharmacist), ("staff", staff)):
            with CaptureQueriesContext(connection) as queries:
                assert client_for(user).get(reverse("today")).status_code == 200
            counts.setdefault(name, []).append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            admin_client_org.get(reverse("today"))
        counts.setdefault("admin", []).append(len(queries))
    for name, (few, many) in counts.items():
        assert few == many, f"{name}: {few} queries with little work, {many} with more"
