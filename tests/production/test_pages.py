"""Every page each role can reach, every PDF and every static file they load, answered by the app
configured as production runs it (see conftest.py): no error, no page that works only with DEBUG on."""

import hashlib
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from actionplans.models import IssuedDocument
from actionplans.services import download_link_send
from mtm.audit import Actor
from mtm.models import User
from patients.models import Patient
from patients.selectors import patient_record, patient_screening
from reviews import services as review_services
from tests import factories
from tests.compose import compose
from tests.integration.conftest import Workers, wait_for_messages
from tests.production.conftest import HOST, Links, Response, Visitor, address_path

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

NOT_PAGES = {"logout"}  # a form's address (POST), not a page
REDIRECTS = {301, 302, 303, 307, 308}

# What each role must reach by following links from where signing in lands: the pages of their
# navigation, and the documents. The crawl finds more; these make sure it went where it matters.
MUST_REACH = {
    "demo-pharmacist": {
        "today", "patient_list", "patient_detail", "section_show", "patient_history", "review_list",
        "review_workspace", "plan_edit", "document_print", "document_download", "prescriber_letter",
        "follow_up_queue", "agenda", "follow_up_detail", "prescriber_list", "outcomes_report",
        "program_home", "program_eligible", "program_at_risk", "program_report", "program_report_csv",
    },
    "demo-staff": {
        "today", "patient_list", "patient_detail", "review_list", "response_record", "follow_up_queue",
        "agenda", "follow_up_detail", "follow_up_ics", "program_home", "program_eligible",
    },
    "demo-admin": {
        "today", "organisation_settings", "team_list", "team_edit", "audit_log", "outcomes_report",
        "billing_export", "program_home", "program_edit", "program_report",
    },
    "demo-patient": {"portal", "portal_download", "portal_appointment_ics"},
    "emailed link": {"download_link"},  # someone not signed in, with the link an email gave them
}  # fmt: skip


def page_kind(path: str) -> str | None:
    """One kind of page per view and its arguments other than ids: each patient's page is the same
    kind, each section of a patient's record is a kind of its own. None for what is not a page."""
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    arguments = [
        f"{name}={value}"
        for name, value in sorted(match.kwargs.items())
        if not isinstance(value, uuid.UUID) and name != "token"
    ]
    return " ".join([match.view_name, *arguments])


def follow(visitor: Visitor, path: str, *, htmx: bool) -> tuple[Response, str]:
    """The answer at the end of the site's own redirects, and where it came from."""
    headers = {"HX-Request": "true"} if htmx else {}
    for _ in range(5):
        response = visitor.get(path, **headers)
        location = response.headers.get("Location", "")
        if response.status not in REDIRECTS or address_path(location) is None:
            return response, path
        path = address_path(location)
    return response, path


def problems_with(response: Response, final_path: str) -> str | None:
    if response.status != 200:
        return f"{response.status} {response.headers.get('Location', '')}".strip()
    if final_path.startswith("/account/login/"):
        return "sent to sign in"
    if response.content_type == "application/pdf":
        if not response.body.startswith(b"%PDF-"):
            return "not a PDF"
        sha256 = response.headers.get("X-Content-SHA256")
        if sha256 and sha256 != hashlib.sha256(response.body).hexdigest():
            return "PDF differs from its SHA-256"
    return None


def crawl(visitor: Visitor, start: str) -> tuple[dict[str, list[str]], dict[str, str], set[str]]:
    """Follow every link (and every fragment htmx loads) from `start`, the first two addresses of
    each kind of page (two reviews, say: one in progress and one completed). Returns the kinds of
    page reached and their addresses, what was wrong where, and the static files the pages load."""
    reached: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    assets: set[str] = set()
    queue: list[tuple[str, bool]] = [(start, False)]
    while queue:
        address, htmx = queue.pop(0)
        path = address_path(address)
        kind = page_kind(path) if path else None
        if kind is None or kind.split()[0] in NOT_PAGES:
            continue
        addresses = reached.setdefault(kind, [])
        if path in addresses or len(addresses) == 2:
            continue
        addresses.append(path)
        response, final_path = follow(visitor, path, htmx=htmx)
        if problem := problems_with(response, final_path):
            problems[path] = problem
        elif response.content_type == "text/html":
            links = Links(response.text)
            queue += links.pages
            assets |= {asset for asset in links.assets if address_path(asset)}
    return reached, problems, assets


@pytest.fixture
def demo_in_use(demo):
    """The demo, with Harold Jensen's CMR in progress (a finding confirmed, one dismissed) and the
    address of a written summary emailed to Margaret Okafor."""
    by = Actor(user=User.objects.get(username="demo-pharmacist"))
    jensen = Patient.objects.get(last_name="Jensen")
    review = review_services.review_create(patient=jensen, data={"consent_noted": True}, by=by)
    review = review_services.review_start(review=review, version=review.version, by=by)
    findings = patient_screening(
        patient_record(patient=jensen, history=False), today=timezone.localdate()
    ).findings
    review_services.finding_confirm(review=review, finding=findings[0], data={}, by=by)
    review_services.finding_dismiss(review=review, finding=findings[1], reason="Already monitored", by=by)
    document = IssuedDocument.objects.get(patient__last_name="Okafor")
    link = download_link_send(document=document, by=by, base_url=f"https://{HOST}/")
    return {"emailed link": reverse("download_link", args=[link.token])}


def test_every_page_and_document_of_each_role_answers(production_server, demo_in_use):
    starts = dict.fromkeys(MUST_REACH, "/") | {"emailed link": demo_in_use["emailed link"]}

    def visit(who: str) -> tuple[dict, dict, dict]:
        visitor = production_server.visitor(who if who.startswith("demo-") else None)
        reached, problems, assets = crawl(visitor, starts[who])
        return reached, problems, {path: visitor.get(path).status for path in assets}

    # Everyone at once, as on a working day: the server's workers answer them side by side.
    with ThreadPoolExecutor(len(starts)) as pool:
        visits = dict(zip(starts, pool.map(visit, starts), strict=True))
    problems = {
        f"{who} {path}": problem for who, visit in visits.items() for path, problem in visit[1].items()
    }
    not_reached = {
        who: missing
        for who, (reached, _, _) in visits.items()
        if (missing := MUST_REACH[who] - {kind.split()[0] for kind in reached})
    }
    static_files = {path: status for _, _, files in visits.values() for path, status in files.items()}

    assert problems == {}, production_server.errors()
    assert not_reached == {}
    assert static_files and static_files == dict.fromkeys(static_files, 200)
    # The static files' names carry their content's hash: the manifest storage is the one in use.
    assert all(
        re.search(r"\.[0-9a-f]{12}\.\w+$", path) for path in static_files if path.startswith("/static/")
    ), static_files  # (the security keys' script also loads its translations from a view: jsi18n)


def test_the_compose_healthcheck_passes_and_pages_are_still_redirected_to_https(production_server):
    """The web service's healthcheck, run as docker compose runs it in the container (plain HTTP,
    no proxy in between), against the server configured with the compose file's own defaults."""
    visitor = production_server.visitor()
    command = compose()["services"]["web"]["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    code = command[3].replace("127.0.0.1:8000", f"127.0.0.1:{production_server.port}")
    healthcheck = subprocess.run(
        [sys.executable, "-c", code],
        env=production_server.environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert healthcheck.returncode == 0, healthcheck.stderr + production_server.errors()

    page = visitor.get("/account/login/", **{"X-Forwarded-Proto": "http"})
    assert (page.status, page.headers["Location"]) == (301, f"https://{HOST}/account/login/")


@pytest.mark.integration
def test_an_email_the_server_queues_is_sent_by_a_worker_with_the_sites_https_address(
    production_server, tmp_path
):
    """The web server queues the email on the broker (Redis when REDIS_URL is set), a worker sends
    it, and its link is the address people use: https and the public host name, as the TLS proxy
    forwarded them."""
    user = factories.make_user(factories.make_organisation(), email="pat@example.org")
    workers = Workers(tmp_path, queue=production_server.queue)
    try:
        # The web server's secret key (compose gives every service the same) and broker (the
        # embedded one is under its MTM_VAR_DIR when REDIS_URL is not set).
        workers.start(
            env={
                "SECRET_KEY": production_server.environment["SECRET_KEY"],
                "MTM_VAR_DIR": str(production_server.var_dir),
            }
        )
        answer = production_server.visitor().form_post("/account/password/reset/", {"email": user.email})
        assert answer.status == 302, production_server.errors()
        mail = wait_for_messages(workers.mail_dir, 1)
        assert len(mail) == 1, workers.logs()
    finally:
        workers.stop()
    link = re.search(r"https://\S+", mail[0]).group(0)
    assert link.startswith(f"https://{HOST}/account/password/reset/")
    visitor = production_server.visitor()
    choose_password, final_path = follow(visitor, address_path(link), htmx=False)
    assert choose_password.status == 200 and "Choose a new password" in choose_password.text, final_path
