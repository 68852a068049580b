"""The database itself refuses to change or delete audit rows, whatever code runs against it."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION mtm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER mtm_auditevent_no_update BEFORE UPDATE ON mtm_auditevent
    FOR EACH ROW EXECUTE FUNCTION mtm_auditevent_append_only();
CREATE TRIGGER mtm_auditevent_no_delete BEFORE DELETE ON mtm_auditevent
    FOR EACH ROW EXECUTE FUNCTION mtm_auditevent_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS mtm_auditevent_no_update ON mtm_auditevent;
DROP TRIGGER IF EXISTS mtm_auditevent_no_delete ON mtm_auditevent;
DROP FUNCTION IF EXISTS mtm_auditevent_append_only();
"""
# The embedded SQLite database refuses updates. It cannot refuse deletes: Django's test flush
# empties tables with DELETE on SQLite (PostgreSQL's TRUNCATE bypasses row triggers).
SQLITE = [
    """CREATE TRIGGER mtm_auditevent_no_update BEFORE UPDATE ON mtm_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS mtm_auditevent_no_update;"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("mtm", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
