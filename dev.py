#!/usr/bin/env python3
"""Set up and run MTM on a machine with only Python 3.11.

    python3.11 dev.py run     virtual environment, packages, database, demo data, then
                              web + Celery worker + Celery beat until Ctrl-C
    python3.11 dev.py test    the test suite (extra arguments go to pytest)

Embedded mode by default: SQLite under var/, a filesystem broker under var/broker/, emails as
files under var/mail/. Set DATABASE_URL and REDIS_URL to run against PostgreSQL and Redis.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".mtm-installed"
DEMO_USERS = ["demo-pharmacist", "demo-staff", "demo-admin", "demo-patient", "other-pharmacist"]


def say(message: str) -> None:
    print(f"[mtm] {message}", flush=True)


def ensure_environment() -> None:
    """Create .venv and install the pinned packages, again only when the pins change."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"MTM needs Python 3.11; this is {sys.version.split()[0]}. Run: python3.11 dev.py ...")
    if not PYTHON.exists():
        say("creating the virtual environment in .venv/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        say("installing packages (pinned in pyproject.toml and constraints.txt)")
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-c", "constraints.txt", "-e", ".[dev]"],
            cwd=ROOT, check=True,
        )  # fmt: skip
        STAMP.write_text(wanted)


def manage(*args: str, env: dict) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_until_up(url: str, processes: list[subprocess.Popen], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:  # noqa: S310 - our own localhost URL
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run() -> int:
    ensure_environment()
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    url = f"http://{host}:{port}/"
    say("migrating the database")
    manage("migrate", "--no-input", "-v", "0", env=env)
    say("loading demo data")
    manage("seed_demo", env=env)
    manage("relink_medications", env=env)  # medication entries follow the current drug knowledge base
    commands = {
        "web": [str(PYTHON), "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [str(PYTHON), "-m", "celery", "-A", "mtm", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [str(PYTHON), "-m", "celery", "-A", "mtm", "beat", "--loglevel=INFO"],
    }
    processes = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True) for cmd in commands.values()
    ]
    try:
        if not wait_until_up(url, processes):
            say("the web server did not start; see the output above")
            return 1
        print(
            f"\n  MTM is running at {url}\n"
            f"  Sign in as {', '.join(DEMO_USERS)}\n"
            f"  Password for all: demo-password\n"
            f"  Web, Celery worker and Celery beat are running; Ctrl-C stops all three.\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        say("a process stopped; stopping the others")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        stop(processes)


def test(args: list[str]) -> int:
    ensure_environment()
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "run":
        return run()
    if command == "test":
        return test(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
