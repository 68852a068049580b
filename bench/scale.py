"""Every page at the size of a real pharmacy group: 1,000 and 20,000 patients in the same run.

    createdb -h 127.0.0.1 -U postgres mtm_scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtm_scale REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/scale.py
        [--pages reviews,patients,...] [--repeat 15] [--no-load] [--load-seconds 10] [--rebuild]

PostgreSQL only. Builds two organisations in that database with bench/scale_build.py (migrating it
first): "small", 1,000 patients, and "large", 20,000 patients with 180,000 medication entries,
5,000 completed reviews and 30,000 follow-ups. A later run finds them and reuses them;
`--rebuild` empties the database and builds them again (the data's dates are relative to the day
it was built).

Then it starts gunicorn as production runs it (DEBUG off, collected static files, 4 workers) and:

1. requests each page as a signed-in user of each organisation (2 warm-ups, then --repeat times)
   and prints the median, large/small, the ratio to /healthz with a session cookie (timed in the
   same run), the size and the SQL queries of one request (counted in-process);
2. puts each page of the large organisation under 16 concurrent users for --load-seconds and
   prints requests/s, median and p99;
3. EXPLAINs every SELECT of one request of each page of the large organisation: the slowest
   query (EXPLAIN ANALYZE) and every sequential scan of a table holding organisation rows.

Budgets (issue 14): every page <= 5x /healthz (signed in) at 20,000 patients, large/small <= 1.3,
p99 under 16 users <= 1 s. Figures out of budget are marked OVER.
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    sys.exit(
        "bench/scale.py measures on PostgreSQL, as production runs: set DATABASE_URL, e.g.\n"
        "  createdb -h 127.0.0.1 -U postgres mtm_scale\n"
        "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/mtm_scale .venv/bin/python bench/scale.py"
    )
WORK_DIR = Path(tempfile.mkdtemp(prefix="mtm-scale-"))
ENVIRONMENT = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",  # plain HTTP here; production's TLS proxy is not measured
    "BEHIND_TLS_PROXY": "0",
    "MTM_VAR_DIR": str(WORK_DIR / "var"),
    "STATIC_ROOT": str(WORK_DIR / "static"),
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "mtm.settings",
}
os.environ.update(ENVIRONMENT)
# Production's cache (sessions are read from it) and broker: Redis when REDIS_URL names one; without it
# the embedded ones, in WORK_DIR (slower: the cache is a folder of files).
REDIS = os.environ.get("REDIS_URL", "")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import scale_build  # noqa: E402

SIZES = {"small": 1_000, "large": 20_000}
USERS = 16
WORKERS = 4
BUDGET_HEALTHZ, BUDGET_GROWTH, BUDGET_P99, BUDGET_SESSION = 5.0, 1.3, 1.0, 1.5
# Tables without organisation rows: a sequential scan of these is not one of an organisation's data.
SMALL_TABLES = {"mtm_organisation", "django_session", "django_content_type", "auth_permission", "mtm_user"}


@dataclass
class Page:
    key: str
    label: str
    path: object  # Built -> path
    as_admin: bool = False
    export: bool = False  # an export: under load, the file prepared by the worker is downloaded


def _period() -> str:
    today = timezone.localdate()
    return f"start={today.replace(year=today.year - 1).isoformat()}&end={today.isoformat()}"


PAGES = [
    Page("reviews", "reviews list", lambda b: "/reviews/"),
    Page("followups", "follow-ups queue", lambda b: "/follow-ups/"),
    Page("agenda", "agenda, week", lambda b: "/follow-ups/agenda/?view=week"),
    Page("billing", "billing CSV, 12 months", lambda b: f"/reviews/billing.csv?{_period()}", export=True),
    Page("outcomes", "outcomes, 12 months", lambda b: f"/reviews/outcomes/?{_period()}"),
    Page("audit", "audit trail (admin)", lambda b: "/audit/", as_admin=True),
    Page("api-followups", "API follow-ups list", lambda b: "/api/v1/follow-ups/"),
    Page("api-patients", "API patients list", lambda b: "/api/v1/patients/"),
    Page("api-reviews", "API reviews list", lambda b: "/api/v1/reviews/"),
    Page(
        "letter",
        "prescriber letter PDF",
        lambda b: f"/reviews/{b.review.pk}/letters/{b.letter_prescriber.pk}/",
    ),
    Page("workspace", "CMR workspace, 15 meds", lambda b: f"/reviews/{b.review.pk}/"),
    Page("patient", "patient page, 15 meds", lambda b: f"/patients/{b.patient.pk}/"),
    Page("patients", "patient list", lambda b: "/patients/"),
    Page("today", "Today", lambda b: "/today/"),
    # The floor under every page: the signed-in layout with one small query and nothing to list.
    Page("exports", "your exports (empty)", lambda b: "/exports/"),
]
HEALTHZ = Page("healthz", "/healthz, signed in", lambda b: "/healthz")


# --- The data ---------------------------------------------------------------------------------------


def prepare_database(rebuild: bool) -> dict[str, scale_build.Built]:
    call_command("migrate", verbosity=0)
    if rebuild:
        call_command("flush", interactive=False, verbosity=0)
    organisations = {}
    for size, patients in SIZES.items():
        slug = f"scale-{size}"
        found = scale_build.built(slug)
        if found is not None:
            counts = scale_build.actual_counts(found.organisation)
            if counts != scale_build.expected_counts(patients):
                sys.exit(f"{slug} holds {counts}, not what this script builds: run it with --rebuild.")
            print(f"{slug}: reusing {counts} (built {found.organisation.created_at:%Y-%m-%d})")
        else:
            started = time.perf_counter()
            found = scale_build.organisation_build(slug=slug, patients=patients)
            counts = scale_build.actual_counts(found.organisation)
            print(f"{slug}: built {counts} in {time.perf_counter() - started:.0f} s")
        organisations[size] = found
    with connection.cursor() as cursor:
        # The planner's statistics and the visibility map (index-only scans), as autovacuum keeps them.
        cursor.execute("VACUUM ANALYZE")
    return organisations


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- The server --------------------------------------------------------------------------------------


def collect_static() -> None:
    """Production's manifest storage (its gzip and brotli copies change no name: left out)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.port = free_port()
        self.log = WORK_DIR / "gunicorn.log"
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "mtm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(WORKERS), "--timeout", "120"],
                cwd=ROOT, env={**os.environ, **ENVIRONMENT}, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + self.log.read_text())
            with contextlib.suppress(OSError):
                if self.get("/healthz")[0] == 200:
                    break
            time.sleep(0.3)

    def get(self, path: str, cookie: str | None = None) -> tuple[int, bytes, float]:
        status, body, seconds, _ = self.get_timed(path, cookie)
        return status, body, seconds

    def get_timed(self, path: str, cookie: str | None = None) -> tuple[int, bytes, float, float]:
        """Status, body, the whole response's time and its first byte's (an export streams)."""
        headers = {"Host": "127.0.0.1"}
        if cookie:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={cookie}"
        started = time.perf_counter()
        connection_ = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection_.request("GET", path, headers=headers)
            response = connection_.getresponse()
            first = response.read(1)
            first_byte = time.perf_counter() - started
            body = first + response.read()
        finally:
            connection_.close()
        return response.status, body, time.perf_counter() - started, first_byte

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- Measuring ------------------------------------------------------------------------------------


@dataclass
class Timing:
    median: float = 0.0
    size: int = 0
    queries: int = 0
    first_byte: float = 0.0


def timed(server: Server, path: str, cookie: str | None, repeat: int) -> Timing:
    for _ in range(2):  # warm-ups
        server.get(path, cookie)
    times, first_bytes, size = [], [], 0
    for _ in range(repeat):
        status, body, seconds, first_byte = server.get_timed(path, cookie)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}\n{body[:500]!r}")
        times.append(seconds)
        first_bytes.append(first_byte)
        size = len(body)
    return Timing(statistics.median(times), size, first_byte=statistics.median(first_bytes))


def captured(user, path: str) -> list[dict]:
    client = Client()
    client.force_login(user)
    client.get(path)  # warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return list(queries.captured_queries)


@dataclass
class Load:
    requests_per_second: float
    median: float
    p99: float
    errors: int


def under_load(
    server: Server, path: str, cookies: list[str], seconds: float, first_byte: bool = False
) -> Load:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def user(cookie: str) -> None:
        mine, failed = [], 0
        while time.monotonic() < deadline:
            try:
                status, _, took = server.get(path, cookie)
            except OSError:
                failed += 1
                continue
            if status == 200:
                mine.append(took)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(cookie,)) for cookie in cookies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    median = statistics.median(latencies) if latencies else float("nan")
    return Load(len(latencies) / elapsed, median, p99, errors[0])


# --- EXPLAIN ------------------------------------------------------------------------------------


@dataclass
class Plan:
    slowest_ms: float = 0.0
    slowest_sql: str = ""
    slowest_plan_ms: float = 0.0
    slowest_scans: list[str] = field(default_factory=list)  # sequential scans in the slowest query's plan
    page_scans: dict[str, int] = field(
        default_factory=dict
    )  # table -> rows estimated, any SELECT of the page


def _seq_scans(node: dict) -> list[tuple[str, int]]:
    found = []
    if node.get("Node Type") == "Seq Scan":
        found.append((node.get("Relation Name", "?"), int(node.get("Actual Rows", node.get("Plan Rows", 0)))))
    for child in node.get("Plans", []):
        found.extend(_seq_scans(child))
    return found


def explained(queries: list[dict]) -> Plan:
    plan = Plan()
    selects = [q for q in queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    if not selects:
        return plan
    with connection.cursor() as cursor:
        for query in selects:
            cursor.execute("EXPLAIN (FORMAT JSON) " + query["sql"])
            for table, rows in _seq_scans(_json(cursor.fetchone()[0])[0]["Plan"]):
                if table not in SMALL_TABLES:
                    plan.page_scans[table] = max(rows, plan.page_scans.get(table, 0))
        slowest = max(selects, key=lambda q: float(q["time"]))
        with transaction.atomic():
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + slowest["sql"])
            analysed = _json(cursor.fetchone()[0])[0]
            transaction.set_rollback(True)
    plan.slowest_ms = float(slowest["time"]) * 1000
    plan.slowest_sql = slowest["sql"]
    plan.slowest_plan_ms = analysed.get("Execution Time", 0.0)
    plan.slowest_scans = [
        f"{table} ({rows:,} rows)"
        for table, rows in _seq_scans(analysed["Plan"])
        if table not in SMALL_TABLES
    ]
    return plan


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


# --- The report -----------------------------------------------------------------------------------


def prepare(built):
    """The billing export of 12 months of an organisation, prepared as the worker does it
    (mtm/exports.py). Returns the export and the seconds it took; delete it when done."""
    from mtm.exports import prepare_export
    from mtm.models import Export

    today = timezone.localdate()
    export = Export.objects.create(
        organisation_id=built.pharmacist.organisation_id, requested_by=built.pharmacist, kind="billing",
        title="bench", parameters={"start": today.replace(year=today.year - 1).isoformat(), "end": today.isoformat()},
    )  # fmt: skip
    started = time.perf_counter()
    prepare_export(str(export.pk))
    seconds = time.perf_counter() - started
    export.refresh_from_db()
    return export, seconds


def prepared_export(server: Server, built, cookie: str) -> str:
    """A prepared billing export: how long the preparation takes, and the download's first byte and whole."""
    export, seconds = prepare(built)
    try:
        status, body, whole, first = server.get_timed(f"/exports/{export.pk}/download/", cookie)
        assert status == 200 and len(body) == export.size, (status, len(body), export.status)
    finally:
        export.delete()
    return (f"{export.items_done:,} reviews in {seconds * 1000:.0f} ms, {export.size / 1024:.0f} KB; "
            f"download first byte {first * 1000:.1f} ms, whole {whole * 1000:.1f} ms")  # fmt: skip


def mark(ok: bool) -> str:
    return "ok" if ok else "OVER"


def commit() -> str:
    def git(*args):
        return subprocess.run(
            [shutil.which("git") or "git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    return f"{git('rev-parse', '--short', 'HEAD')}{' (with uncommitted changes)' if git('status', '--porcelain') else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", help="comma-separated, of: " + ",".join(p.key for p in PAGES))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-load", action="store_true", help="skip the 16-user load")
    parser.add_argument("--load-seconds", type=float, default=10)
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument(
        "--rebuild", action="store_true", help="empty the database and build the organisations again"
    )
    args = parser.parse_args()
    pages = PAGES
    if args.pages:
        wanted = set(args.pages.split(","))
        unknown = wanted - {p.key for p in PAGES}
        if unknown:
            parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
        pages = [p for p in PAGES if p.key in wanted]

    print(f"commit {commit()}; database {connection.settings_dict['NAME']} on PostgreSQL "
          f"{connection.cursor().connection.info.server_version // 10000}; {os.cpu_count()} CPUs; "
          f"gunicorn with {WORKERS} workers, DEBUG off; cache and broker: {REDIS or 'embedded (no REDIS_URL)'}")  # fmt: skip
    started = time.perf_counter()
    organisations = prepare_database(args.rebuild)
    collect_static()
    server = Server()
    try:
        cookies = {
            size: {"pharmacist": session_cookie(b.pharmacist), "admin": session_cookie(b.admin)}
            for size, b in organisations.items()
        }
        anonymous = timed(server, "/healthz", None, args.repeat)
        healthz = {
            size: timed(server, "/healthz", cookies[size]["pharmacist"], args.repeat) for size in SIZES
        }
        results: dict[str, dict[str, Timing]] = {}
        for page in pages:
            results[page.key] = {}
            for size, built in organisations.items():
                cookie = cookies[size]["admin" if page.as_admin else "pharmacist"]
                timing = timed(server, page.path(built), cookie, args.repeat)
                user = built.admin if page.as_admin else built.pharmacist
                timing.queries = len(captured(user, page.path(built)))
                results[page.key][size] = timing
        base = healthz["large"].median
        print(f"\n/healthz: {anonymous.median * 1000:.1f} ms without a session; signed in "
              f"{healthz['small'].median * 1000:.1f} ms (small), {base * 1000:.1f} ms (large). "
              f"Medians of {args.repeat} after 2 warm-ups, one request at a time.\n")  # fmt: skip
        header = (f"{'page':26} {'small ms':>9} {'large ms':>9} {'large/small':>12} {'x healthz':>11} "
                  f"{'KB small/large':>15} {'queries':>9}")  # fmt: skip
        print(header)
        print("-" * len(header))
        for page in pages:
            small, large = results[page.key]["small"], results[page.key]["large"]
            growth, ratio = large.median / small.median, large.median / base
            print(f"{page.label:26} {small.median * 1000:9.1f} {large.median * 1000:9.1f} "
                  f"{growth:7.2f} {mark(growth <= BUDGET_GROWTH):>4} {ratio:6.1f} {mark(ratio <= BUDGET_HEALTHZ):>4} "
                  f"{small.size / 1024:7.1f}/{large.size / 1024:<7.1f} {small.queries:4d}/{large.queries:<4d}")  # fmt: skip
        print(
            "(queries: small/large, one request counted in-process; a page can grow with what it shows until its"
        )
        print(" lists are full: the sizes say so)")
        print(
            f"/healthz signed in / without a session: {base / anonymous.median:.2f} "
            f"{mark(base / anonymous.median <= BUDGET_SESSION)} (budget {BUDGET_SESSION})"
        )
        for page in pages:
            if page.key == "billing":  # an export: its budget is the first byte (under 1 s), then it streams
                small, large = results[page.key]["small"], results[page.key]["large"]
                print(f"{page.label}: first byte {small.first_byte * 1000:.1f} ms (small), "
                      f"{large.first_byte * 1000:.1f} ms (large) {mark(large.first_byte < 1)}")  # fmt: skip
                for size, built in organisations.items():
                    prepared = prepared_export(server, built, cookies[size]["pharmacist"])
                    print(f"    prepared by the worker instead ({size}): {prepared}")

        if not args.no_load:
            print(f"\nUnder load: {USERS} users at once, each with its own session, {args.load_seconds:.0f} s "
                  f"per page, large organisation.\n")  # fmt: skip
            header = f"{'page':26} {'req/s':>7} {'median ms':>10} {'p99 ms':>8} {'p99<=1s':>8} {'errors':>7}"
            print(header)
            print("-" * len(header))
            built = organisations["large"]
            sessions = {
                role: [session_cookie(user) for _ in range(USERS)]
                for role, user in (("pharmacist", built.pharmacist), ("admin", built.admin))
            }
            for page in [HEALTHZ, *pages]:
                path, label, export = page.path(built), page.label, None
                if page.export:
                    # A period this long is offered as an export prepared by the worker: what users
                    # download at once is that file (the streamed one is measured above).
                    export, _ = prepare(built)
                    path, label = f"/exports/{export.pk}/download/", f"{page.label}, prepared"
                try:
                    load = under_load(server, path, sessions["admin" if page.as_admin else "pharmacist"],
                                      args.load_seconds)  # fmt: skip
                finally:
                    if export is not None:
                        export.delete()
                print(f"{label:26} {load.requests_per_second:7.1f} {load.median * 1000:10.1f} "
                      f"{load.p99 * 1000:8.1f} {mark(load.p99 <= BUDGET_P99):>8} {load.errors:7d}")  # fmt: skip

        if not args.no_explain:
            print(
                "\nEXPLAIN, large organisation: the slowest SELECT of one request (EXPLAIN ANALYZE), and every"
            )
            print("sequential scan of a table with organisation rows in any SELECT of the page (EXPLAIN).\n")
            built = organisations["large"]
            for page in pages:
                user = built.admin if page.as_admin else built.pharmacist
                plan = explained(captured(user, page.path(built)))
                scans = ", ".join(plan.slowest_scans) or "none (index use)"
                print(f"{page.label}: slowest query {plan.slowest_ms:.1f} ms (EXPLAIN ANALYZE {plan.slowest_plan_ms:.1f} ms); "
                      f"sequential scans in it: {scans}")  # fmt: skip
                if plan.page_scans:
                    others = ", ".join(f"{t} (~{r:,} rows)" for t, r in sorted(plan.page_scans.items()))
                    print(f"    sequential scans in the page's queries: {others}")
                sql = re.sub(
                    r"^SELECT .{100,}? FROM ", "SELECT ... FROM ", plan.slowest_sql, count=1, flags=re.S
                )
                print(f"    {sql[:400]}{'...' if len(sql) > 400 else ''}")
    finally:
        server.stop()
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
