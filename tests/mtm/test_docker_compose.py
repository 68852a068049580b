"""docker-compose.yml parses, and every command it runs points at something real in this app."""

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from django.core.management import get_commands

from tests.compose import compose, compose_environment

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def command_words(service) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def test_it_has_the_five_services_on_the_right_versions():
    services = compose()["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_every_app_service_gets_the_same_configuration_variables():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "EMAIL_HOST"} <= set(env)


def test_web_runs_gunicorn_on_the_real_wsgi_application():
    words = command_words(compose()["services"]["web"])
    text = " ".join(words)
    assert "gunicorn mtm.wsgi:application" in text
    module, attribute = "mtm.wsgi", "application"
    assert callable(getattr(importlib.import_module(module), attribute))
    assert "migrate" in text and "migrate" in get_commands()


def test_worker_and_beat_run_the_real_celery_app():
    services = compose()["services"]
    for name, subcommand in (("worker", "worker"), ("beat", "beat")):
        words = command_words(services[name])
        assert words[:4] == ["celery", "-A", "mtm", subcommand]
    assert isinstance(importlib.import_module("mtm").celery_app, Celery)


def test_the_image_is_built_from_the_dockerfile():
    assert dockerfile().startswith("FROM python:3.11")
    assert "constraints.txt" in dockerfile()


def test_every_service_restarts_after_a_crash_or_a_reboot():
    services = compose()["services"]
    assert {name: service.get("restart") for name, service in services.items()} == dict.fromkeys(
        services, "unless-stopped"
    )


def test_secrets_and_the_sites_address_come_from_the_environment_and_are_required():
    shell = {
        "SECRET_KEY": "s" * 50,
        "POSTGRES_PASSWORD": "from-the-environment",
        "ALLOWED_HOSTS": "mtm.example.org",
        "SITE_URL": "https://mtm.example.org",
    }
    web = compose_environment("web", shell)
    assert web["DATABASE_URL"] == "postgres://mtm:from-the-environment@db:5432/mtm"
    assert compose_environment("db", shell)["POSTGRES_PASSWORD"] == "from-the-environment"
    assert (web["SITE_URL"], web["ALLOWED_HOSTS"]) == ("https://mtm.example.org", "mtm.example.org")
    assert (web["SECURE_SSL_REDIRECT"], web["BEHIND_TLS_PROXY"], web["DEBUG"]) == ("1", "1", "0")
    for name in shell:
        with pytest.raises(KeyError, match=name):
            compose_environment("web", {**shell, name: ""})


def test_what_the_app_writes_to_keep_is_on_a_volume_every_app_service_shares(tmp_path):
    """Emails and text messages as files, RxNorm names imported: under MTM_VAR_DIR, the volume. The
    collected static files are not: they come with the image."""
    dockerfile_env = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^ENV (.+)$", dockerfile(), re.M).group(1)))
    compose_file = compose()
    for name in ("web", "worker", "beat"):
        assert f"appdata:{dockerfile_env['MTM_VAR_DIR']}" in compose_file["services"][name]["volumes"]
    assert "appdata" in compose_file["volumes"]

    code = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_FILE_PATH, s.SMS_FILE_PATH, *s.KNOWLEDGE_EXTRA_DIRS, s.STATIC_ROOT)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], **dockerfile_env, "DEBUG": "0", "SECRET_KEY": "s" * 50,
             "DATABASE_URL": "postgres://mtm@db/mtm", "REDIS_URL": "redis://redis:6379/0"},
    )  # fmt: skip
    *written, static_root = result.stdout.splitlines()[-1].split()
    assert written == ["/app/var/mail", "/app/var/sms", "/app/var/knowledge"], result.stderr
    assert static_root == "/app/staticfiles"


def test_every_variable_the_stack_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    names = set(compose()["x-app"]["environment"]) | {"POSTGRES_PASSWORD"}
    assert {name for name in names if f"`{name}`" not in readme} == set()
