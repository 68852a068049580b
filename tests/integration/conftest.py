"""A real Celery worker in a subprocess, on the configured broker (Redis when REDIS_URL is set, the
embedded filesystem broker otherwise), reading the test database. Tests using it must commit their
data (django_db(transaction=True)) so the worker can see it."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from mtm import celery_app

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise RuntimeError(f"no worker set-up for {connection.vendor}")


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """Starts a worker on a queue of its own (so no other worker on the machine takes the messages)
    and makes this process publish to it instead of running tasks in-process."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mtm", "worker", "--pool=solo", "--loglevel=INFO", "-Q", queue,
         "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        _wait_for_ready(tmp_path / "worker.log", worker)
        yield type("Worker", (), {"mail_dir": mail_dir, "log": tmp_path / "worker.log"})
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def _wait_for_ready(log_path: Path, worker: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the Celery worker exited:\n" + log_path.read_text())
        if " ready." in log_path.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError("the Celery worker did not become ready:\n" + log_path.read_text())


def wait_for_files(folder: Path, count: int, seconds: float = 30) -> list[Path]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        files = sorted(folder.iterdir())
        if len(files) >= count:
            return files
        time.sleep(0.2)
    return sorted(folder.iterdir())
