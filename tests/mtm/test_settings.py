import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mtm import settings as mtm_settings

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "PYTEST_VERSION",
            "DEBUG",
            "SECRET_KEY",
            "REDIS_URL",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 10 + "a-long-random-production-secret-key-of-sufficient-length-1234567890",
        ALLOWED_HOSTS="mtm.example.org",
        MTM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_debug_defaults_to_off_and_then_a_secret_key_is_required(tmp_path):
    result = run_manage("check", MTM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_boolean_settings_read_common_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert mtm_settings.env_bool("SOME_FLAG") is expected


def test_a_misspelt_setting_fails_loudly(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        mtm_settings.env_bool("SOME_FLAG")
    monkeypatch.setenv("SOME_NUMBER", "thirty")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        mtm_settings.env_int("SOME_NUMBER", 1)


def test_the_broker_is_redis_when_redis_url_is_set_and_embedded_otherwise(tmp_path):
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    embedded = run_manage("shell", "-c", code, DEBUG="1", MTM_VAR_DIR=str(tmp_path))
    assert embedded.stdout.strip().splitlines()[-1] == "filesystem://", embedded.stderr
    assert (tmp_path / "broker" / "queue").is_dir()
    redis = run_manage(
        "shell", "-c", code, DEBUG="1", MTM_VAR_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/3"
    )
    assert redis.stdout.strip().splitlines()[-1] == "redis://127.0.0.1:6379/3"


def test_database_url_chooses_the_database(tmp_path):
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    default = run_manage("shell", "-c", code, DEBUG="1", MTM_VAR_DIR=str(tmp_path))
    assert default.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3", default.stderr
    postgres = run_manage(
        "shell", "-c", code, DEBUG="1", MTM_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://u@localhost/x"
    )
    assert postgres.stdout.strip().splitlines()[-1] == "django.db.backends.postgresql"
