"""The written-summary editor keeps every edit: one form for the page and one Save, every record saved
in one transaction with its version checked, errors next to their field, what was typed kept on any
error. Posted here as a browser without JavaScript posts it."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actionplans import services
from actionplans.models import ActionPlan, Education, IssuedDocument, Topic
from mtm.audit import Actor
from mtm.permissions import Role
from patients import services as patient_services
from reviews.models import PatientAction
from tests import factories
from tests.actionplans.conftest import completed_cmr, editor_form, editor_post

TWO_TOPICS = [
    {"title": "Ibuprofen with CKD", "medications": ["Advil"], "action": PatientAction.EDUCATION,
     "talked_about": "Advil can hurt your kidneys.", "to_do": "Use Tylenol for pain."},
    {"title": "Blood pressure", "medications": ["lisinopril 10 mg"], "action": PatientAction.MONITORING,
     "talked_about": "Your blood pressure is a bit high.", "to_do": "Check it at home."},
]  # fmt: skip


def two_topic_plan(patient, by):
    review, _ = completed_cmr(patient, by, medications=["Advil", "lisinopril 10 mg"], problems=TWO_TOPICS)
    plan = services.plan_prepare(review=review, by=by)
    return plan, *plan.topics.order_by("position")


def test_the_page_is_one_form_with_one_save(patient, by, pharmacist_client):
    plan, first, second = two_topic_plan(patient, by)
    page = pharmacist_client.get(reverse("plan_edit", args=[plan.review_id])).content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    assert main.count("<form") == 1 and 'class="plan-editor"' in main
    assert main.count('name="action" value="save"') == 2  # Enter's default, and the Save button
    assert f'name="t-{first.pk}-talked_about"' in main and f'name="t-{second.pk}-to_do"' in main


def test_saving_keeps_the_edits_of_every_topic_medicine_and_note(patient, by, pharmacist_client):
    plan, first, second = two_topic_plan(patient, by)
    lisinopril = plan.education.get(name__startswith="lisinopril")
    form = editor_form(pharmacist_client, plan.review)
    form |= {
        f"t-{first.pk}-to_do": ["Stop Advil. Use Tylenol for pain."],
        f"t-{second.pk}-talked_about": ["Your blood pressure was 150 over 90 today."],
        f"e-{lisinopril.pk}-how_to_take": ["Take it every morning."], f"e-{lisinopril.pk}-included": ["on"],
        "plan-follow_up": ["We will call you in 3 months."],
        "new-talked_about": ["Your vaccines are due."], "new-to_do": ["Get a flu shot in October."],
    }  # fmt: skip
    response = editor_post(pharmacist_client, plan.review, form, action="save")
    assert response.status_code == 302
    first.refresh_from_db(), second.refresh_from_db(), lisinopril.refresh_from_db(), plan.refresh_from_db()
    assert first.to_do == "Stop Advil. Use Tylenol for pain."
    assert second.talked_about == "Your blood pressure was 150 over 90 today."
    assert lisinopril.included and lisinopril.how_to_take == "Take it every morning."
    assert plan.follow_up == "We will call you in 3 months."
    assert list(plan.topics.values_list("talked_about", flat=True))[-1] == "Your vaccines are due."
    assert "Saved." in pharmacist_client.get(response.url).content.decode()


def test_a_colleagues_newer_save_is_a_conflict_and_nothing_is_half_saved(patient, by, pharmacist_client, org):
    plan, first, second = two_topic_plan(patient, by)
    form = editor_form(pharmacist_client, plan.review)  # the page as opened
    colleague = factories.make_user(org, Role.PHARMACIST, username="lee", first_name="Lee", last_name="Chan")
    services.topic_update(
        topic=second, data={"to_do": "Check it every Monday."}, version=second.version, by=Actor(colleague)
    )
    form |= {
        f"t-{first.pk}-to_do": ["Stop Advil today."],
        f"t-{second.pk}-to_do": ["Check it at home twice a week."],
        "plan-questions": ["Is my kidney test due?"],
    }  # fmt: skip
    response = editor_post(pharmacist_client, plan.review, form, action="save")
    page = response.content.decode()
    assert response.status_code == 409
    first.refresh_from_db(), second.refresh_from_db(), plan.refresh_from_db()
    assert first.to_do == "Use Tylenol for pain." and plan.questions == ""  # nothing saved...
    assert second.to_do == "Check it every Monday."  # ...and the colleague's save stands
    assert "Lee Chan saved this after you opened the page" in page
    assert "What Lee Chan saved: “Check it every Monday.”" in page  # next to the box
    assert (
        ">\nStop Advil today.</textarea>" in page and ">\nCheck it at home twice a week.</textarea>" in page
    )
    assert ">\nIs my kidney test due?</textarea>" in page  # what was typed is all still there
    again = {name: values for name, values in form.items()}
    again[f"t-{second.pk}-version"] = [re.search(rf'name="t-{second.pk}-version" value="(\d+)"', page)[1]]
    assert (
        editor_post(pharmacist_client, plan.review, again, action="save").status_code == 302
    )  # on purpose, now
    second.refresh_from_db(), first.refresh_from_db()
    assert second.to_do == "Check it at home twice a week." and first.to_do == "Stop Advil today."


def test_errors_show_next_to_their_field_keep_what_was_typed_and_save_nothing(patient, by, pharmacist_client):
    plan, first, second = two_topic_plan(patient, by)
    form = editor_form(pharmacist_client, plan.review)
    form |= {
        f"t-{first.pk}-to_do": ["Stop Advil today."],
        f"t-{second.pk}-stops": ["00000000-0000-0000-0000-000000000000"],  # not one of the patient's medications
        "issue-reason": ["x" * 301],
    }  # fmt: skip
    response = editor_post(pharmacist_client, plan.review, form, action="issue")
    page = response.content.decode()
    assert response.status_code == 422 and not IssuedDocument.objects.exists()
    first.refresh_from_db()
    assert first.to_do == "Use Tylenol for pain."
    assert "Nothing was saved: 2 parts of the page need attention" in page
    assert ">\nStop Advil today.</textarea>" in page
    stops_field = page[page.index(f'id="id_t-{second.pk}-stops_helptext"') - 600 :]
    assert "Select a valid choice." in stops_field[:3000]
    reason_field = page[page.index('name="issue-reason"') - 800 : page.index('name="issue-reason"')]
    assert "Ensure this value has at most 300 characters" in reason_field


def test_a_topic_can_be_removed_and_one_a_colleague_added_meanwhile_is_left_alone(
    patient, by, pharmacist_client
):
    plan, first, second = two_topic_plan(patient, by)
    form = editor_form(pharmacist_client, plan.review)
    added = services.topic_add(
        plan=plan, data={"talked_about": "Added by a colleague.", "to_do": "Keep it."}, by=by
    )
    form[f"t-{first.pk}-remove"] = ["on"]
    assert editor_post(pharmacist_client, plan.review, form, action="save").status_code == 302
    assert list(plan.topics.values_list("pk", flat=True)) == [second.pk, added.pk]
    added.refresh_from_db()
    assert added.talked_about == "Added by a colleague."


def test_issue_saves_first_and_issues_what_was_just_typed(patient, by, pharmacist_client):
    plan, first, _ = two_topic_plan(patient, by)
    form = editor_form(pharmacist_client, plan.review)
    form[f"t-{first.pk}-to_do"] = ["Use Tylenol for knee pain, not Advil."]
    response = editor_post(pharmacist_client, plan.review, form, action="issue")
    assert response.status_code == 302
    assert (
        IssuedDocument.objects.get().snapshot["topics"][0]["to_do"] == "Use Tylenol for knee pain, not Advil."
    )
    assert "Saved and issued: version 1." in pharmacist_client.get(response.url).content.decode()
    response = editor_post(
        pharmacist_client, plan.review, editor_form(pharmacist_client, plan.review), action="issue"
    )
    assert (
        "Nothing changed since version 1: it is still the current one."
        in pharmacist_client.get(response.url).content.decode()
    )
    assert IssuedDocument.objects.count() == 1


def test_the_page_costs_the_same_queries_whatever_the_number_of_medicines(patient, by, pharmacist_client):
    plan, *_ = two_topic_plan(patient, by)
    target = reverse("plan_edit", args=[plan.review_id])
    with CaptureQueriesContext(connection) as few:
        assert pharmacist_client.get(target).status_code == 200
    for number in range(6):
        patient_services.medication_add(patient=patient, data={"name": f"vitamin {number}"}, by=by)
    services.education_sync(plan=plan, by=by)
    assert Education.objects.filter(plan=plan).count() == 8
    with CaptureQueriesContext(connection) as many:
        assert pharmacist_client.get(target).status_code == 200
    assert len(many) == len(few) <= 40


def test_another_organisations_pharmacist_gets_404(patient, by, other_pharmacist):
    from tests.conftest import client_for

    plan, *_ = two_topic_plan(patient, by)
    other = client_for(other_pharmacist)
    assert other.get(reverse("plan_edit", args=[plan.review_id])).status_code == 404
    assert other.post(reverse("plan_edit", args=[plan.review_id]), {"action": "save"}).status_code == 404
    assert ActionPlan.objects.count() == 1 and Topic.objects.filter(plan=plan).count() == 2
