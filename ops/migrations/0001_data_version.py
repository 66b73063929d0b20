"""The data version: one row whose number changes whenever a write that can change an API answer commits.

The API's ETags and its shared response cache (api/caching.py) are keyed on it, so it must see every writer
(admin, API, imports, sync, raw SQL): statement-level triggers on each table the API reads, as the counted
cells are kept (events/0008). A statement that touched no row leaves it alone.

The shared row is bumped at commit, not at the write: a deferred constraint trigger on ops_datawrite, which
each tracked statement inserts into, runs last among the transaction's deferred checks and updates the row.
Bumping at the write would lock the row from a transaction's first write to its end, queueing every other
writer behind a long import and opening deadlocks with the row locks they hold. The number is drawn from a
sequence, which a rollback does not give back, so a number is never reused for other data; `epoch` is new in
each database (a test database made again, a restore) so that cache keys of another database never match.

Inside a writing transaction, `ops.data_writes` (transaction-local) counts its tracked statements, so that
the transaction's own reads can tell they see uncommitted data (and are not shared).

Triggers are skipped under session_replication_role = replica (bench/synthetic.py's bulk load), which calls
ops_dataversion_bump() afterwards, as must any such load.
"""

from django.db import migrations

# The statements are assembled from constants only.
# ruff: noqa: S608

# Every table an API answer is built from (the history tables are not: answers never read them). Tables
# that later migrations create add their own triggers with ops_dataversion_triggers(table).
TABLES = [
    "events_incident",
    "events_involvement",
    "events_incident_sources",
    "events_casualty",
    "events_incidentlink",
    "events_incidentlink_sources",
    "events_incidentcell",
    "posture_actor",
    "posture_base",
    "posture_base_users",
    "posture_base_sources",
    "posture_basestatus",
    "posture_trooplevel",
    "posture_trooplevel_sources",
    "posture_source",
    "posture_side",
    "posture_affiliation",
]

WRITES = "coalesce(nullif(current_setting('ops.data_writes', true), ''), '0')::integer"

FORWARD = [
    "CREATE SEQUENCE ops_dataversion_seq",
    """
CREATE TABLE ops_dataversion (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    epoch uuid NOT NULL DEFAULT gen_random_uuid(),
    version bigint NOT NULL DEFAULT nextval('ops_dataversion_seq'),
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
""",
    "INSERT INTO ops_dataversion DEFAULT VALUES",
    # One row per tracked statement of a transaction still running; each is gone when it commits.
    "CREATE UNLOGGED TABLE ops_datawrite (txid bigint NOT NULL, n integer NOT NULL, PRIMARY KEY (txid, n))",
    """
CREATE FUNCTION ops_dataversion_bump() RETURNS void LANGUAGE sql AS $$
    UPDATE ops_dataversion SET version = nextval('ops_dataversion_seq'), changed_at = clock_timestamp()
$$
""",
    # After a restore, numbers may come round again with other data behind them.
    """
CREATE FUNCTION ops_dataversion_new_epoch() RETURNS void LANGUAGE sql AS $$
    UPDATE ops_dataversion SET epoch = gen_random_uuid(), version = nextval('ops_dataversion_seq'),
        changed_at = clock_timestamp()
$$
""",
    f"""
CREATE FUNCTION ops_datawrite_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ops_datawrite WHERE txid = NEW.txid AND n = NEW.n;
    -- Only the transaction's last tracked statement bumps: its check comes after every earlier statement's.
    IF NEW.n = {WRITES} THEN
        PERFORM ops_dataversion_bump();
    END IF;
    RETURN NULL;
END
$$
""",
    "CREATE CONSTRAINT TRIGGER ops_datawrite_commit AFTER INSERT ON ops_datawrite"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ops_datawrite_commit()",
    f"""
CREATE FUNCTION ops_dataversion_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writes integer := {WRITES} + 1;
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT FROM old_rows) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM set_config('ops.data_writes', writes::text, true);
    INSERT INTO ops_datawrite (txid, n) VALUES (txid_current(), writes);
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION ops_dataversion_triggers(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER ops_dataversion_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_update AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
    EXECUTE format('CREATE TRIGGER ops_dataversion_truncate AFTER TRUNCATE ON %s'
        ' FOR EACH STATEMENT EXECUTE FUNCTION ops_dataversion_track()', tbl);
END
$$
""",
    *(f"SELECT ops_dataversion_triggers('{table}')" for table in TABLES),
]

BACKWARD = [
    *(
        f"DROP TRIGGER ops_dataversion_{event} ON {table}"
        for table in TABLES
        for event in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION ops_dataversion_triggers(regclass)",
    "DROP FUNCTION ops_dataversion_track()",
    "DROP TABLE ops_datawrite",
    "DROP FUNCTION ops_datawrite_commit()",
    "DROP FUNCTION ops_dataversion_new_epoch()",
    "DROP FUNCTION ops_dataversion_bump()",
    "DROP TABLE ops_dataversion",
    "DROP SEQUENCE ops_dataversion_seq",
]


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_incident_sides"),
        ("posture", "0003_sides"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
