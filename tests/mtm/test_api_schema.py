"""The API against its own OpenAPI schema, with schemathesis: every operation, fed generated
requests (valid and not) as a signed-in pharmacist of the demo organisation, never answers with a
server error and always answers as the schema says.

Bounded and repeatable: a fixed number of examples per operation and Hypothesis derandomised
(the same examples on every run), so a failure here fails every time and shows its example."""

import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from followups.selectors import follow_ups_visible_to
from mtm.api.authentication import token_for
from mtm.models import User
from mtm.scoping import scope_to_organisation
from patients.models import Allergy, CareTeamMember, Condition, Measurement, MedicationEntry, PharmacyFill
from patients.selectors import patients_visible_to, prescribers_visible_to
from reviews.models import Problem
from reviews.selectors import recommendations_visible_to, reviews_visible_to

EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = WSGIHandler()

pytestmark = pytest.mark.django_db

# Ids of the pharmacist's organisation's records, per path, so that about half the generated
# requests reach a real record instead of a random id's 404. Filled in by `demo_world`.
REAL_IDS: list[tuple[str, dict[str, str]]] = []


def real_ids(pharmacist) -> list[tuple[str, dict[str, str]]]:
    def first(queryset):
        return queryset.order_by("pk").first()

    nested = [("medications", MedicationEntry), ("allergies", Allergy), ("conditions", Condition),
              ("measurements", Measurement), ("fills", PharmacyFill), ("care-team", CareTeamMember)]  # fmt: skip
    ids = []
    for section, model in nested:
        record = first(scope_to_organisation(model.objects.all(), pharmacist, path="patient__organisation"))
        if record is not None:
            ids.append(
                (
                    rf"/patients/\{{patient_pk\}}/{section}/",
                    {"patient_pk": record.patient_id, "id": record.pk},
                )
            )
    problem = first(scope_to_organisation(Problem.objects.all(), pharmacist, path="review__organisation"))
    ids.append((r"/reviews/\{review_pk\}/problems/", {"review_pk": problem.review_id, "id": problem.pk}))
    for prefix, queryset in [
        ("/patients/", patients_visible_to(pharmacist)),
        ("/prescribers/", prescribers_visible_to(pharmacist)),
        ("/reviews/", reviews_visible_to(pharmacist)),
        ("/recommendations/", recommendations_visible_to(pharmacist)),
        ("/follow-ups/", follow_ups_visible_to(pharmacist)),
    ]:
        ids.append((prefix, {"id": first(queryset).pk}))
    return [(pattern, {name: str(value) for name, value in values.items()}) for pattern, values in ids]


@pytest.fixture(scope="module")
def demo_world(demo_data, django_db_blocker):
    with django_db_blocker.unblock():
        pharmacist = User.objects.get(username="demo-pharmacist")
        REAL_IDS[:] = real_ids(pharmacist)
        yield {"token": token_for(pharmacist).key}
        REAL_IDS.clear()


@schema.hook("map_path_parameters")
def use_real_records(context, path_parameters):
    """Swap generated ids for real ones when the generated one starts with an even hex digit (so
    the choice is as repeatable as the examples)."""
    if not path_parameters:
        return path_parameters
    for pattern, values in REAL_IDS:
        if re.search(pattern, context.operation.path):
            for name, value in values.items():
                if str(path_parameters.get(name, "x"))[:1] in "02468ace":
                    path_parameters[name] = value
            break
    return path_parameters


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, demo_world):
    case.call_and_validate(
        headers={"Authorization": f"Token {demo_world['token']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
