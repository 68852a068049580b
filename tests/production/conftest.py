"""The app run as production runs it: gunicorn with the web service's environment from
docker-compose.yml (DEBUG off, HTTPS redirect on, a real host name, behind a TLS proxy), static files
collected with the manifest storage, the demo data in the test database (PostgreSQL when
DATABASE_URL is set) and the broker REDIS_URL names (the embedded one otherwise).

Requests come as the TLS proxy sends them: plain HTTP with the public host name and
X-Forwarded-Proto: https."""

import contextlib
import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import global_settings, settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import override_settings

from mtm.models import User
from tests.compose import compose_environment
from tests.integration.conftest import test_database_url

ROOT = Path(__file__).resolve().parents[2]
HOST = "mtm.example.org"
PASSWORD = "demo-password"


def collect_static(static_root: Path) -> None:
    """collectstatic with the manifest storage production's storage extends: the same hashed names
    and manifest. Production's also writes gzip and brotli copies of every file, a minute's work
    that changes no name, so it is left out here."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0]


class Visitor:
    """One person's browser, as the server sees it behind the TLS proxy. Keeps its cookies (the
    server's are Secure: a browser sends them over HTTPS, which the proxy turns into this)."""

    def __init__(self, server: "ProductionServer"):
        self.server = server
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, data: dict | None = None, headers: dict | None = None
    ) -> Response:
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{HOST}"}
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data: dict) -> Response:
        return self.request("POST", path, data=data)

    def form_post(self, path: str, data: dict) -> Response:
        """Fill in the form the page at `path` shows and send it, CSRF token included."""
        page = self.get(path)
        assert page.status == 200, (path, page.status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.post(path, {"csrfmiddlewaretoken": token, **data})

    def sign_in(self, username: str) -> None:
        response = self.form_post("/account/login/", {"username": username, "password": PASSWORD})
        assert response.status == 302, f"{username} could not sign in: {response.status}"


class Links(HTMLParser):
    """The addresses a page leads to (links, and the fragments htmx loads) and the files it loads
    (stylesheets, scripts, images, fonts)."""

    def __init__(self, html: str):
        super().__init__()
        self.pages: list[tuple[str, bool]] = []  # (address, fetched by htmx)
        self.assets: set[str] = set()
        self.feed(html)
        self.assets |= set(re.findall(r"url\(\"?([^\")]+)\"?\)", html))

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.pages.append((attributes["href"], False))
        if attributes.get("hx-get"):
            self.pages.append((attributes["hx-get"], True))
        if tag in {"script", "img"} and attributes.get("src"):
            self.assets.add(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.assets.add(attributes["href"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_environment(*, var_dir: Path, static_root: Path, queue: str) -> dict[str, str]:
    """The web service's environment from docker-compose.yml, with this machine's database and
    broker, and folders of the test's own."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_TASK_ALWAYS_EAGER"}
    }
    environment |= compose_environment(
        "web",
        {
            "SECRET_KEY": hashlib.sha256(b"production tests only").hexdigest(),
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"https://{HOST}",
            "POSTGRES_PASSWORD": "not-used-here",
        },
    )
    environment |= {
        "DATABASE_URL": test_database_url(),
        "MTM_VAR_DIR": str(var_dir),
        "STATIC_ROOT": str(static_root),
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # only a worker of the test's own takes what is queued
    }
    if os.environ.get("REDIS_URL"):
        environment["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        del environment["REDIS_URL"]
    return environment


class ProductionServer:
    """gunicorn with the production environment. It starts in the background (its workers load the
    knowledge base and WeasyPrint meanwhile); `visitor()` waits until it answers."""

    def __init__(self, *, environment: dict[str, str], var_dir: Path, queue: str, log: Path):
        self.environment, self.var_dir, self.queue, self.log = environment, var_dir, queue, log
        self.port = free_port()
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "mtm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--access-logfile", "-"],
                cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.up = False

    def wait_until_up(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while not self.up:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log.read_text())
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz:\n" + self.log.read_text())
            with contextlib.suppress(OSError):  # not listening yet
                self.up = Visitor(self).get("/healthz").status == 200
            if not self.up:
                time.sleep(0.2)

    def visitor(self, username: str | None = None) -> Visitor:
        self.wait_until_up()
        visitor = Visitor(self)
        if username:
            visitor.sign_in(username)
        return visitor

    def errors(self) -> str:
        """What the server logged as errors: each request that failed, and why."""
        return "\n".join(
            line
            for line in self.log.read_text().splitlines()
            if re.match(r"\S+ \S+ ERROR |\w+(Error|Exception): ", line)
        )

    def stop(self) -> None:
        # Its workers take seconds to exit even on a quick shutdown; nothing is in flight here.
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture(scope="module")
def production_server(django_db_setup, tmp_path_factory):
    """One server for the module's tests, on the test database: tests marked
    django_db(transaction=True) commit what they write, so that the server sees it."""
    folder = tmp_path_factory.mktemp("production")
    collect_static(folder / "static")
    queue = f"production-{uuid.uuid4().hex[:12]}"
    server = ProductionServer(
        environment=production_environment(
            var_dir=folder / "var", static_root=folder / "static", queue=queue
        ),
        var_dir=folder / "var",
        queue=queue,
        log=folder / "gunicorn.log",
    )
    yield server
    server.stop()


@pytest.fixture
def demo(transactional_db):
    """The demo data, as `python3.11 dev.py run` seeds it."""
    with override_settings(DEBUG=True):
        call_command("seed_demo", verbosity=0)
    # Tests hash passwords with a fast hasher that production does not accept: one it does.
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        User.objects.update(password=make_password(PASSWORD))


def address_path(address: str) -> str | None:
    """The path and query of an address on this site; None for anything else."""
    parts = urlsplit(address)
    if parts.scheme not in {"", "https"} or parts.netloc not in {"", HOST} or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
