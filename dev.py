#!/usr/bin/env python3
"""Set up and run MTM on a machine with only Python 3.11.

    python3.11 dev.py run     virtual environment, packages, database, demo data, then
                              web + Celery worker + Celery beat until Ctrl-C (or SIGTERM, SIGHUP)
    python3.11 dev.py test    the test suite (extra arguments go to pytest)

Embedded mode by default: SQLite under var/, a filesystem broker under var/broker/, emails as
files under var/mail/. Set DATABASE_URL and REDIS_URL to run against PostgreSQL and Redis, HOST and
PORT (default 127.0.0.1 and 8000) to serve on another address.
"""

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".mtm-installed"
DEMO_USERS = ["demo-pharmacist", "demo-staff", "demo-admin", "demo-patient", "other-pharmacist"]


def say(message: str) -> None:
    try:
        print(f"[mtm] {message}", flush=True)
    except OSError:  # the terminal is gone (its window was closed): stop without it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
            [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
             "-c", "constraints.txt", "-e", ".[dev]"],
            cwd=ROOT, check=True,
        )  # fmt: skip
        STAMP.write_text(wanted)


def manage(*args: str, env: dict) -> bool:
    return subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env).returncode == 0


def port_problem(host: str, port: int) -> str | None:
    """Why the web server could not listen on host:port, found before anything starts; None when it
    can. Bound as runserver binds (SO_REUSEADDR): a port the last run left in TIME_WAIT is free."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        return (
            f"cannot listen on {host}:{port}: {error.strerror or error}. Nothing was started.\n"
            f"      Is MTM (or another program) already running there? Stop it, or choose another port:\n"
            f"      PORT={port + 1} python3.11 dev.py run"
        )
    return None


def wait_until_up(url: str, processes: list[subprocess.Popen], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:  # noqa: S310 - our own localhost URL
                if response.status == 200:
                    return True
        except urllib.error.HTTPError as error:
            say(f"{url}healthz answered {error.code} {error.reason}: is its host in ALLOWED_HOSTS?")
            return False
        except OSError:
            time.sleep(0.2)
    return False


class Stop(Exception):
    """Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal was closed)."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def raise_stop(signum: int, frame) -> None:
    raise Stop(signal.Signals(signum).name)


def stop(processes: list[subprocess.Popen], seconds: float = 10) -> None:
    """Ask each process to stop, then kill whatever is left in its process group."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the stopping short
    for process in processes:
        if process.poll() is None:
            # The process itself, not its group: the Celery worker stops its pool processes itself,
            # and can hang when they are signalled with it. With the embedded broker its warm
            # shutdown takes about 7 s (Celery's and kombu's polling intervals).
            process.terminate()
    deadline = time.monotonic() + seconds
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        # Whatever is left in its group: a process that did not stop in time, or children it left.
        with contextlib.suppress(ProcessLookupError):  # nothing left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run() -> int:
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    if not port.isdigit():
        say(f"PORT must be a port number, not {port!r}")
        return 2
    # Listening on every address (HOST=0.0.0.0), it is opened on this machine as 127.0.0.1.
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/"  # noqa: S104 - a comparison
    env.setdefault("SITE_URL", url)  # links in emails sent by the worker
    problem = port_problem(host, int(port))
    if problem:
        say(problem)
        return 1
    ensure_environment()
    commands = {
        "web": [str(PYTHON), "manage.py", "runserver", f"{host}:{port}", "--noreload", "--skip-checks"],
        "worker": [str(PYTHON), "-m", "celery", "-A", "mtm", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [str(PYTHON), "-m", "celery", "-A", "mtm", "beat", "--loglevel=INFO"],
    }
    processes: list[subprocess.Popen] = []
    for signum in STOP_SIGNALS:
        signal.signal(signum, raise_stop)
    try:
        say("migrating the database, loading the demo data")
        # One process (the system checks run there, so runserver skips them); medication entries
        # follow the current drug knowledge base.
        if not manage("dev_setup", env=env):
            say("that failed; see the output above")
            return 1
        for command in commands.values():
            # Each in a session of its own: Ctrl-C or a closed terminal signals only dev.py, which
            # then stops each process the way it stops cleanly (see stop()).
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True))
        if not wait_until_up(url, processes):
            say("the web server is not up; see the output above")
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
    except Stop as received:
        say(f"{received}: stopping web, worker and beat")
        return 0
    finally:
        stop(processes)
        if processes:
            say("stopped")


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
