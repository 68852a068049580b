"""`python3.11 dev.py run` as a developer uses it: real runs on a free port, in a var folder of their
own (MTM_VAR_DIR), stopped by Ctrl-C (SIGINT), `kill` (SIGTERM) or closing the terminal (SIGHUP)
without leaving a process behind; a port in use is reported before anything starts."""

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# dev.py run uses its embedded database and broker whatever the suite runs on: testing it once is enough.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="dev.py run is tested in the SQLite run of the suite"
)


def dev_env(var_dir: Path, **overrides: str) -> dict:
    """The environment of a developer's shell: nothing of this test run's configuration."""
    ignored = {"PYTEST_VERSION", "PYTEST_CURRENT_TEST", "DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    env = {k: v for k, v in os.environ.items() if k not in ignored and not k.startswith("CELERY_")}
    return {**env, "MTM_VAR_DIR": str(var_dir), "HOST": "127.0.0.1", **overrides}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prepared_var_dir(tmp_path_factory):
    """A var folder already migrated and holding the demo data, as after a first `dev.py run`, so that
    each run below is the everyday start with nothing to set up."""
    var_dir = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "manage.py", "dev_setup"],
        cwd=ROOT, env=dev_env(var_dir, DEBUG="1"), check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return var_dir


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state) of every process on the machine."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid=,stat="], capture_output=True, text=True).stdout
    return {
        int(pid): (int(ppid), int(pgid), stat) for pid, ppid, pgid, stat in map(str.split, out.splitlines())
    }


def processes_of(pid: int) -> set[int]:
    """The descendants of `pid` (children of children included), and every process in their groups."""
    table = process_table()
    found, parents = set(), {pid}
    while parents:
        parents = {p for p, (ppid, _, _) in table.items() if ppid in parents} - found
        found |= parents
    groups = {table[p][1] for p in found}
    return found | {p for p, (_, pgid, _) in table.items() if pgid in groups}


def alive(pids: set[int]) -> set[int]:
    table = process_table()
    return {p for p in pids if p in table and not table[p][2].startswith("Z")}


class DevRun:
    """`python3.11 dev.py run` in a terminal: what it prints is read as it comes."""

    def __init__(self, var_dir: Path, port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen(
            [sys.executable, "dev.py", "run"],
            cwd=ROOT, env=dev_env(var_dir, PORT=str(port)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.output = ""
        self.processes: set[int] = set()

    def read(self, seconds: float) -> bool:
        """Add what was printed within `seconds`; False once nothing more can come."""
        if self.process.stdout.closed:
            time.sleep(seconds)
            return False
        if select.select([self.process.stdout], [], [], seconds)[0]:
            chunk = os.read(self.process.stdout.fileno(), 65536)
            self.output += chunk.decode(errors="replace")
            return bool(chunk)
        return True

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output:
            assert time.monotonic() < deadline, f"no {text!r} within {seconds} s:\n{self.output}"
            assert self.read(0.5), f"dev.py run exited before printing {text!r}:\n{self.output}"

    def wait_until_running(self) -> None:
        self.wait_for(f"MTM is running at {self.url}", seconds=90)
        with urllib.request.urlopen(self.url, timeout=30) as response:  # noqa: S310 - http://127.0.0.1
            assert response.status == 200  # the sign-in page
        self.wait_for(" ready.", seconds=90)  # the Celery worker's, once its pool processes are started
        self.processes = processes_of(self.process.pid)
        commands = subprocess.run(
            ["ps", "-o", "args=", "-p", ",".join(map(str, self.processes))], capture_output=True, text=True
        ).stdout
        assert "runserver" in commands
        assert "celery -A mtm worker" in commands
        assert "celery -A mtm beat" in commands
        assert len(self.processes) >= 5  # web, the worker and its two pool processes, beat

    def stopped(self) -> bool:
        return self.process.poll() is not None and not alive(self.processes)

    def kill_all(self) -> None:
        """Whatever happened in the test, nothing it started outlives it."""
        for pid in self.processes | processes_of(self.process.pid) | {self.process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        self.process.wait()
        self.process.stdout.close()


def test_ctrl_c_kill_and_closing_the_terminal_stop_web_worker_and_beat_with_all_their_processes(
    prepared_var_dir, tmp_path
):
    # One run per signal, all at the same time: each takes seconds to start and to stop.
    runs: dict[signal.Signals, DevRun] = {}
    ports: set[int] = set()
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            while (port := free_port()) in ports:
                pass
            ports.add(port)
            runs[signum] = DevRun(shutil.copytree(prepared_var_dir, tmp_path / signum.name), port)
        for run in runs.values():
            run.wait_until_running()

        for signum, run in runs.items():
            if signum == signal.SIGHUP:
                run.process.stdout.close()  # the terminal window is closed: nothing can be printed any more
            run.process.send_signal(signum)
        deadline = time.monotonic() + 30  # dev.py kills what is left after 10 s; a busy machine is slow
        while not all(run.stopped() for run in runs.values()) and time.monotonic() < deadline:
            for run in runs.values():
                run.read(0.05)  # keep the output flowing, as a terminal does

        for signum, run in runs.items():
            assert run.process.poll() == 0, f"{signum.name}:\n{run.output}"
            assert not alive(run.processes), f"{signum.name} left processes behind:\n{run.output}"
            while run.read(1):
                pass
            if signum != signal.SIGHUP:
                assert f"[mtm] {signum.name}: stopping web, worker and beat" in run.output
                assert "[mtm] stopped" in run.output
    finally:
        for run in runs.values():
            run.kill_all()


def test_a_port_in_use_is_reported_and_nothing_starts(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "dev.py", "run"],
            cwd=ROOT, env=dev_env(tmp_path, PORT=str(port)), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stdout
    assert "Nothing was started" in result.stdout
    assert f"PORT={port + 1} python3.11 dev.py run" in result.stdout
    assert "MTM is running" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # no database, broker or mail folder: nothing ran
