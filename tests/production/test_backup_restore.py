"""Backup and restore of PostgreSQL as the README says (pg_dump -Fc, pg_restore into an empty
database): every row of every table, every sequence and every issued PDF comes back the same."""

import hashlib
import os
import subprocess

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from actionplans.models import IssuedDocument

pytestmark = [
    pytest.mark.production,
    pytest.mark.django_db(transaction=True),  # pg_dump sees only what is committed
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="backup and restore are documented for PostgreSQL (set DATABASE_URL to run this)",
    ),
]


def postgres_environment() -> dict[str, str]:
    """What pg_dump, pg_restore, createdb and dropdb need to reach the test database's server."""
    db = connection.settings_dict
    return {
        **os.environ,
        "PGHOST": db["HOST"] or "localhost",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"] or "",
    }


def run(*command: str) -> None:
    result = subprocess.run(command, env=postgres_environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def contents(database: str) -> dict[str, object]:
    """Every table's rows (their count, and a digest of all of them in one order), every sequence's
    position, and every issued PDF's SHA-256 as computed from its bytes."""
    env = postgres_environment()
    with psycopg.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=env["PGPASSWORD"],
        dbname=database,
    ) as db:
        tables = [row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        rows = {
            table: db.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"  # noqa: S608 - table names from the catalogue
            ).fetchone()
            for table in tables
        }
        sequences = dict(db.execute("SELECT sequencename, last_value FROM pg_sequences").fetchall())
        pdfs = {
            str(pk): (sha256, hashlib.sha256(pdf).hexdigest())
            for pk, sha256, pdf in db.execute(f"SELECT id, sha256, pdf FROM {IssuedDocument._meta.db_table}")  # noqa: S608
        }
    return {"rows": rows, "sequences": sequences, "pdfs": pdfs}


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored"
    run("dropdb", "--if-exists", name)
    yield name
    run("dropdb", "--if-exists", "--force", name)


def test_a_dump_restored_into_a_new_database_holds_every_row_and_every_issued_pdf(
    demo, restored_name, tmp_path
):
    assert IssuedDocument.objects.exists()  # the demo issues Margaret Okafor's written summary
    backup = tmp_path / "mtm.dump"
    run("pg_dump", "--format=custom", f"--file={backup}", connection.settings_dict["NAME"])
    run("createdb", restored_name)
    run("pg_restore", "--exit-on-error", "--no-owner", f"--dbname={restored_name}", str(backup))

    original, restored = contents(connection.settings_dict["NAME"]), contents(restored_name)
    assert restored == original
    assert set(original["rows"]) == set(connection.introspection.table_names())
    assert sum(count for count, _ in original["rows"].values()) > 1000
    assert original["pdfs"] and all(stored == computed for stored, computed in restored["pdfs"].values())
