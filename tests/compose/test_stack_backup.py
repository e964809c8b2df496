"""Backups of the compose database: `make backup` and `make restore FILE=...`
against the running stack, compared table by table in PostgreSQL itself (row
count and an md5 of the rows in primary-key order).

These share the session's stack and run after test_stack.py (file order):
restore stops and starts the app's services, which the tests there need not see.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.compose import Stack, smoke, states
from tests.support.image import podman, podman_env

# Every table outside PostgreSQL's own schemas, one line each: its name, its row
# count and the md5 of its rows as text in primary-key order (the whole row's
# text where it has no primary key). The per-table query is built and run in SQL
# (query_to_xml), so tables a later migration adds are counted too.
CHECKSUMS = r"""
SELECT format('%I.%I', n.nspname, c.relname), (xpath('/row/sum/text()', query_to_xml(format(
    'SELECT count(*) || '' '' || md5(coalesce(string_agg(t::text, E''\n'' ORDER BY %s), ''''))'
    ' AS sum FROM %I.%I AS t',
    coalesce((SELECT string_agg(format('t.%I', a.attname), ', ' ORDER BY k.position)
              FROM pg_index AS i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, position),
                   pg_attribute AS a
              WHERE i.indrelid = c.oid AND i.indisprimary
                AND a.attrelid = c.oid AND a.attnum = k.attnum), 't::text'),
    n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1
"""

# Changes after the backup: the audit trail's rows updated, deleted and added,
# and every other table of the app emptied (whatever the migrations made).
CHANGES = r"""
UPDATE audit_events SET detail = 'changed after the backup' WHERE id % 2 = 0;
DELETE FROM audit_events WHERE id % 3 = 0;
INSERT INTO audit_events (at, "user", action, detail)
  SELECT now(), 'late@example.com', 'after_backup', 'row ' || i FROM generate_series(1, 7) AS i;
DO $$
DECLARE tables text;
BEGIN
  SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables FROM pg_tables
  WHERE schemaname = 'public' AND tablename NOT IN ('audit_events', 'alembic_version');
  IF tables IS NOT NULL THEN EXECUTE 'TRUNCATE ' || tables || ' CASCADE'; END IF;
END $$;
"""

WRITERS = ("api", "dashboard-1", "dashboard-2")


def checksums(stack: Stack) -> dict[str, str]:
    """'count md5' by table, for every table of the database."""
    return dict(line.split("|", 1) for line in stack.sql(CHECKSUMS).splitlines())


def written(result: subprocess.CompletedProcess, stack: Stack) -> Path:
    """The file `make backup` says it wrote."""
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"wrote (\S+/app\.dump)", result.stdout)
    assert found, result.stdout
    return stack.checkout / found.group(1)


def started_at(stack: Stack) -> dict[str, str]:
    containers = stack.containers()
    return {
        service: podman("inspect", "--format", "{{.State.StartedAt}}", containers[service]).stdout
        for service in WRITERS
    }


@pytest.mark.reference
def test_the_reference_apps_demo_orders_load_into_the_running_stack(stack: Stack):
    # The image's seed command, as DEMO_DATA=true runs it: the reference tables
    # have rows for the backup below (which covers every table, whatever they are).
    api = stack.containers()["api"]
    podman("exec", api, "python3", "-m", "app.core", "seed", "--rows", "500", timeout=300)
    stack.sql(
        "INSERT INTO saved_views (name, owner, filters, created_at)"
        " VALUES ('east', 'pat@example.com', '{\"region\": \"East\"}', now())"
    )
    assert stack.sql("SELECT count(*) FROM orders") == "500"
    assert int(stack.sql("SELECT count(*) FROM daily_sales")) > 0


def test_backup_then_restore_brings_back_every_table_row_for_row(stack: Stack):
    stack.sql(
        'INSERT INTO audit_events (at, "user", action, detail)'
        " SELECT now() - i * interval '1 minute', 'user-' || i || '@example.com', 'backup_test',"
        " 'row ' || i FROM generate_series(1, 50) AS i"
    )
    before = checksums(stack)
    assert {"public.audit_events", "public.alembic_version"} <= set(before)
    assert int(before["public.audit_events"].split()[0]) >= 50

    dump = written(stack.make("backup", timeout=300), stack)
    assert re.fullmatch(r"\d{8}T\d{6}Z", dump.parent.name), dump  # its UTC time
    assert dump.parent.parent == stack.checkout / "backups"
    # pg_dump's custom format: pg_restore lists each table's data, so one alone
    # can be restored (pg_restore --table, --list/--use-list).
    listing = subprocess.run(
        ["podman", "exec", "--interactive", stack.containers()["postgres"], "pg_restore", "--list"],
        input=dump.read_bytes(), capture_output=True, env=podman_env(), check=True, timeout=60,
    ).stdout.decode()  # fmt: skip
    for table in before:
        assert f"TABLE DATA {table.replace('.', ' ')} " in listing, table

    stack.sql(CHANGES)
    changed = checksums(stack)
    assert changed["public.audit_events"] != before["public.audit_events"]
    started = started_at(stack)

    restored = stack.make("restore", f"FILE={dump.relative_to(stack.checkout)}", timeout=600)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "stopping api dashboard-1 dashboard-2" in restored.stdout
    assert f"make restore: {dump.relative_to(stack.checkout)} restored" in restored.stdout

    assert checksums(stack) == before
    # The writers were stopped and started again, and the stack answers.
    after = started_at(stack)
    assert all(after[service] != started[service] for service in WRITERS), (started, after)
    assert {states(stack)[service] for service in WRITERS} == {"healthy"}
    smoke(stack)


def test_restore_refuses_without_an_existing_file_and_stops_nothing(stack: Stack):
    started = started_at(stack)
    missing = stack.make("restore")
    assert missing.returncode != 0
    assert "make restore: say which backup, e.g. make restore FILE=backups/" in missing.stdout
    absent = stack.make("restore", "FILE=backups/20200101T000000Z/app.dump")
    assert absent.returncode != 0
    assert (
        "make restore: FILE=backups/20200101T000000Z/app.dump is not a file;"
        " nothing was stopped or restored"
    ) in absent.stdout
    assert started_at(stack) == started


def test_scheduled_backups_keep_the_newest_and_leave_other_files(stack: Stack):
    # The documented cron line runs `make backup BACKUP_KEEP=N`: older backup
    # folders go, anything else in the folder stays.
    folder = stack.checkout / "nightly"
    for name in ("20200101T030000Z", "20200102T030000Z", "20200103T030000Z"):
        (folder / name).mkdir(parents=True)
        (folder / name / "app.dump").write_bytes(b"an older backup")
    (folder / "notes.txt").write_text("not a backup")

    result = stack.make("backup", "BACKUP_DIR=nightly", "BACKUP_KEEP=2", timeout=300)
    dump = written(result, stack)
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["20200103T030000Z", dump.parent.name, "notes.txt"]
    )
    assert "removed nightly/20200101T030000Z" in result.stdout
    assert dump.read_bytes().startswith(b"PGDMP")  # the custom format's signature
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # every row, readable by its owner only
