import pytest
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections, transaction
from django.test import Client, override_settings

from mtm.permissions import Role
from tests import factories


@pytest.fixture
def org(db):
    return factories.make_organisation("Riverside Test Pharmacy")


@pytest.fixture
def other_org(db):
    return factories.make_organisation("Elsewhere Pharmacy")


@pytest.fixture
def pharmacist(org):
    return factories.make_user(org, Role.PHARMACIST, username="pharmacist")


@pytest.fixture
def staff(org):
    return factories.make_user(org, Role.STAFF, username="staff")


@pytest.fixture
def org_admin(org):
    return factories.make_user(org, Role.ORG_ADMIN, username="orgadmin")


@pytest.fixture
def patient(org):
    return factories.make_patient(org, first_name="Walter", last_name="Brennan")


@pytest.fixture
def patient_user(org, patient):
    user = factories.make_user(org, Role.PATIENT, username="walter")
    patient.portal_user = user
    patient.save()
    return user


@pytest.fixture
def other_pharmacist(other_org):
    return factories.make_user(other_org, Role.PHARMACIST, username="other")


@pytest.fixture
def other_patient(other_org):
    return factories.make_patient(other_org, first_name="Olive", last_name="Elsewhere")


def client_for(user) -> Client:
    """Signed in, with the session's idle clock started (mtm.middleware.IdleSessionMiddleware), so
    that the test's first request is not the one that writes the session."""
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def pharmacist_client(pharmacist):
    return client_for(pharmacist)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


@pytest.fixture
def admin_client_org(org_admin):
    return client_for(org_admin)


@pytest.fixture
def broker_down(settings):
    """This process's broker is a Redis nobody listens on (what a stopped Redis looks like to the
    app); queued work is no longer run in-process. Queued work stays in the database (mtm/outbox.py)."""
    from mtm import celery_app

    conf = celery_app.conf
    previous = (conf.task_always_eager, conf.broker_url, conf.broker_transport, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:1/0"  # port 1: refused
    conf.broker_transport = None  # the URL's
    conf.broker_transport_options = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
    celery_app._pool = celery_app.amqp._producer_pool = None
    settings.OUTBOX_RELAY_SECONDS = 0  # the relay runs what waits at once (in production: a minute)
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_transport, conf.broker_transport_options = (
            previous
        )
        celery_app._pool = celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (throttle counts, for one, would carry over)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """The demo organisations (`manage.py seed_demo`), made once for a module inside a transaction
    rolled back at its end; each test's own transaction, nested in it, undoes what that test
    changed. Requests sent straight to the WSGI app (not through the test client) must not close
    the test's connection, so that is switched off as the test client switches it off."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), override_settings(DEBUG=True), transaction.atomic():
            call_command("seed_demo", verbosity=0)
            yield
            transaction.set_rollback(True)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
