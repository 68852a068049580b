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


class Workers:
    """Celery workers in subprocesses on a queue of their own (so no other worker on the machine takes
    the messages), writing email and text messages to files under the test's folder."""

    def __init__(self, tmp_path: Path, queue: str | None = None):
        self.queue = queue or f"test-{uuid.uuid4().hex[:12]}"
        self.tmp_path = tmp_path
        self.mail_dir = tmp_path / "mail"
        self.sms_dir = tmp_path / "sms"
        self.mail_dir.mkdir()
        self.sms_dir.mkdir()
        self.log = tmp_path / "worker-1.log"
        self.processes: list[tuple[subprocess.Popen, object]] = []

    def start(self, *, beat: bool = False, env: dict | None = None) -> Path:
        n = len(self.processes) + 1
        log_path = self.tmp_path / f"worker-{n}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,  # what beat publishes to
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "SMS_BACKEND": "followups.sms.FileBackend",
            "SMS_FILE_PATH": str(self.sms_dir),
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "mtm", "worker", "--pool=solo", "--loglevel=INFO", "-Q", self.queue,
            "--hostname", f"{self.queue}-{n}@%h", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.tmp_path / f"beat-{n}")]
        log = log_path.open("w")
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((process, log))
        _wait_for_ready(log_path, process)
        return log_path

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker-*.log")))

    def stop(self) -> None:
        for process, _ in self.processes:
            process.terminate()
        for process, log in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


@pytest.fixture
def celery_workers(transactional_db, tmp_path):
    """Start workers with `celery_workers.start(beat=...)`; this process publishes to their queue
    instead of running tasks in-process."""
    workers = Workers(tmp_path)
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = workers.queue
    try:
        yield workers
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        workers.stop()


@pytest.fixture
def celery_worker(celery_workers):
    """One worker, no beat."""
    celery_workers.start()
    return celery_workers


def _wait_for_ready(log_path: Path, worker: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the Celery worker exited:\n" + log_path.read_text())
        if " ready." in log_path.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError("the Celery worker did not become ready:\n" + log_path.read_text())


# Django's file email backend ends each message with this line; a file may hold several messages,
# and is read while the worker may still be writing it.
MESSAGE_END = "-" * 79


def messages_in(folder: Path) -> list[str]:
    """The complete messages written to `folder` so far, in the order of their files."""
    messages = []
    for path in sorted(folder.iterdir()):
        parts = path.read_text().split(MESSAGE_END + "\n")
        messages += [part for part in parts[:-1] if part.strip()]  # the last part: unfinished or empty
    return messages


def wait_for_messages(folder: Path, count: int, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while len(messages_in(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return messages_in(folder)
