import pytest
from django.test import Client

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
    client = Client()
    client.force_login(user)
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
