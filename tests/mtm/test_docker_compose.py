"""docker-compose.yml parses, and every command it runs points at something real in this app."""

import importlib
import shlex
from pathlib import Path

import yaml
from celery import Celery
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


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
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11")
    assert "constraints.txt" in dockerfile
