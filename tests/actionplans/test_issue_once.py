"""Issuing the written summary twice at once (a double click, two tabs) makes one version: the plan's
row is locked, so the second issue waits for the first and finds its version."""

import threading

import pytest
from django.db import connection

from actionplans import services
from actionplans.models import ActionPlan, IssuedDocument
from mtm.audit import Actor
from reviews.models import PatientAction
from tests.actionplans.conftest import completed_cmr

ONE_TOPIC = [
    {"title": "Blood pressure", "medications": ["lisinopril 10 mg"], "action": PatientAction.MONITORING,
     "talked_about": "Your blood pressure is a bit high.", "to_do": "Check it at home twice a week."},
]  # fmt: skip


def test_issuing_again_with_nothing_changed_returns_the_current_version(plan, by, today):
    first = services.document_issue(plan=plan, by=by, today=today)
    again = services.document_issue(plan=plan, by=by, today=today)  # the second click of a double click
    assert again.pk == first.pk and IssuedDocument.objects.count() == 1
    large = services.document_issue(
        plan=plan, by=by, today=today, large_print=True, reason="Large print, asked for"
    )
    assert large.number == 2  # a different document is a new version


@pytest.mark.django_db(transaction=True)
def test_two_issues_at_once_make_one_version(org, pharmacist, patient):
    if connection.vendor != "postgresql":
        pytest.skip("two database connections at once: run against PostgreSQL (CI does)")
    by = Actor(user=pharmacist)
    review, _ = completed_cmr(patient, by, medications=["lisinopril 10 mg"], problems=ONE_TOPIC)
    prepared, results, errors, start = [], [], [], threading.Barrier(2)

    def prepare():
        try:
            start.wait()
            prepared.append(services.plan_prepare(review=review, by=by).pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def issue(plan):
        try:
            start.wait()
            results.append(services.document_issue(plan=plan, by=by, today=review.started_at.date()))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    for target, args in [(prepare, ()), (issue, None)]:
        if args is None:
            args = (ActionPlan.objects.get(review=review),)
        threads = [threading.Thread(target=target, args=args) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
    assert len(set(prepared)) == 1 and ActionPlan.objects.filter(review=review).count() == 1
    assert IssuedDocument.objects.filter(review=review).count() == 1
    assert len(results) == 2 and results[0].pk == results[1].pk and results[0].number == 1
