#!/usr/bin/env bash
# Replace the reference app (the sales dashboard) by a one-page starter of your
# own. Run it once, at the root of your project (generated from the template or
# a clone of it), then read `git status` and commit:
#   scripts/remove-reference-app.sh        (VENV=... picks the virtual environment)
# It removes the reference app's files with `git rm` (pages, data and chart
# code, tables, commands, API routes, load scenario, tests/reference/, and every
# test elsewhere marked @pytest.mark.reference), writes a starter entry script
# with one page, API routes and app commands that add nothing and a models.py
# without tables, writes the migration that drops the reference tables (`make
# migration`), and removes itself. The platform (app/dashboard/session.py, the
# API's wsgi.py, the audit trail, migrations, image, chart, edge, tests) stays.
set -euo pipefail

# The reference app's files: gone for good.
REFERENCE=(
  app/dashboard/pages
  app/dashboard/data.py
  app/dashboard/charts.py
  app/core/queries.py
  app/core/sales.py
  app/core/seed.py
  app/api/forecast.py
  app/ops/scenarios/dashboard.toml
  tests/reference
)
# Files the platform imports: replaced by a starter of the same shape.
STARTERS=(
  app/dashboard/streamlit_app.py
  app/api/routes.py
  app/core/commands.py
  app/core/models.py
)
SELF=scripts/remove-reference-app.sh

refuse() {
  echo "remove-reference-app: $*" >&2
  exit 2
}

# Tests outside tests/reference/ that say they are the reference app's
# (@pytest.mark.reference on a module-level function): with --check, list them
# and refuse any mark this cannot remove (on a class, a module, a parameter);
# without, delete those functions. Only the standard library: any python3.
MARKED_TESTS='
import ast, pathlib, re, sys

check = sys.argv[1] == "--check"
MARK = re.compile(r"\bmark\.reference\b")
problems, removed = [], []
for name in sys.argv[2:]:
    path = pathlib.Path(name)
    text = path.read_text()
    if "mark.reference" not in text:
        continue
    tree = ast.parse(text)
    spans, found = [], 0
    for node in ast.walk(tree):  # every way a test is marked: decorator, pytestmark, marks=
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found += sum(bool(MARK.search(ast.unparse(d))) for d in node.decorator_list)
        elif isinstance(node, ast.Assign) and "pytestmark" in map(ast.unparse, node.targets):
            found += bool(MARK.search(ast.unparse(node.value)))
        elif isinstance(node, ast.keyword) and node.arg == "marks":
            found += bool(MARK.search(ast.unparse(node.value)))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(MARK.search(ast.unparse(d)) for d in node.decorator_list):
                spans.append((node.decorator_list[0].lineno, node.end_lineno, node.name))
    if found != len(spans):
        problems.append(f"{name}: a reference mark not on a test function of its own")
        continue
    removed += [f"{name}::{test}" for _, _, test in spans]
    if check:
        continue
    lines = text.splitlines(keepends=True)
    for first, last, _ in sorted(spans, reverse=True):
        del lines[first - 1 : last]
    # Two blank lines between top-level blocks, none at the end.
    text = re.sub(r"\n{4,}", "\n\n\n", "".join(lines)).rstrip("\n") + "\n"
    path.write_text(text)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("\n".join(removed))
'

write_starters() {
  cat >app/dashboard/streamlit_app.py <<'PY'
"""Your app's entry point: its pages, inside the platform.

``session.run`` (app/dashboard/session.py) gives every page the platform's
configuration and session-age checks, request ids, metrics, the signed-in user
(``session.user()``), the sign-in audit, the "database unavailable, retrying"
notice and the status page at /_platform. A new page: a file in pages/ and one
``st.Page`` line below.
"""

import streamlit as st

from app.dashboard import session

st.set_page_config(page_title="Home")
session.run([st.Page("pages/home.py", title="Home", default=True)])
PY
  mkdir -p app/dashboard/pages
  cat >app/dashboard/pages/home.py <<'PY'
"""The starter's one page: yours replaces it.

Reads go through ``st.cache_data`` or ``st.cache_resource`` (no I/O in a
script body), on the process's one pooled engine: ``session.engine()``.
"""

import streamlit as st

from app.dashboard import session

st.title("Home")
who = session.user()
st.write(f"Signed in as {who.email}." if who.signed_in else "Nobody is signed in (no proxy).")
PY
  cat >app/api/routes.py <<'PY'
"""Your API's routes: ``register`` adds them to the app app/api/wsgi.py builds.

That app gives every route JSON errors, metrics, request ids and the health
routes (/healthz, /readyz). Read parameters through app/api/params.py: bounded
before any query sees them, a bad one a JSON 400 naming it.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.engine import Engine

from app.core.settings import Settings


def register(app: Flask, engine: Engine, settings: Settings) -> None:
    """Add the routes to `app` (``@app.get("/api/v1/...")``); `engine` is the
    worker's one pooled engine. None yet."""
PY
  cat >app/core/commands.py <<'PY'
"""Your app's own commands: ``python -m app.core NAME``.

The platform's CLI (app/core/__main__.py) has the commands every app needs
(check-config, migrate, downgrade, revision, connections, pgbouncer-config) and
adds these: each ``Command`` has its argparse help, a function to add its
arguments, and a function run on the engine after the schema is migrated,
returning what it did. For example:

    COMMANDS = {"import": Command("migrate, then load the day's files", _import)}
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.core.settings import Settings


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[Engine, Settings, argparse.Namespace], str]  # returns what it did
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


COMMANDS: dict[str, Command] = {}
PY
  cat >app/core/models.py <<'PY'
"""Your app's tables.

Add a class on ``Base`` here, then ``make migration MESSAGE="add notes"`` writes
its Alembic revision (app/core/migrations/versions/): read it, commit it. The
platform's own table, the audit trail, is in app/core/audit.py.

    class Note(Base):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        body: Mapped[str] = mapped_column(sa.String(2000))
"""

from __future__ import annotations

from app.core.db import Base  # noqa: F401  (your tables subclass it)
PY
}

main() {
  local root venv python tests marked
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cd "$root"
  [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$root" ] ||
    refuse "$root is not the root of a git checkout: run it in your project (git init first)"
  for path in "${REFERENCE[@]}" "${STARTERS[@]}"; do
    [ -e "$path" ] || refuse "$path is gone: the reference app is already removed (or in part)"
  done
  venv="${VENV:-.venv}"
  python="$venv/bin/python"
  [ -x "$python" ] || python="$(command -v python3)" || refuse "python3 not found"
  mapfile -t tests < <(git ls-files 'tests/*.py' ':!tests/reference/')
  marked="$("$python" -c "$MARKED_TESTS" --check "${tests[@]}")" ||
    refuse "remove or unmark those tests first (a reference test is a function of its own)"

  git rm -r -q -f -- "${REFERENCE[@]}"
  "$python" -c "$MARKED_TESTS" --remove "${tests[@]}" >/dev/null
  # Imports only the removed tests used (pytest, for their mark) go with them.
  if [ -x "$venv/bin/ruff" ]; then
    "$venv/bin/ruff" check --quiet --exit-zero --fix --select F401,I001 -- "${tests[@]}"
  fi
  write_starters
  # The migration that drops the reference app's tables, from the models now without them.
  make --no-print-directory migration VENV="$venv" MESSAGE="remove the reference app's tables"
  git add -- "${STARTERS[@]}" app/dashboard/pages/home.py app/core/migrations/versions "${tests[@]}"
  git rm -q -f -- "$SELF"

  echo "The reference app is removed; in its place, a one-page starter."
  [ -z "$marked" ] || printf 'Tests removed (marked reference):\n%s\n' "$marked"
  echo "Next: git status, commit, then make test. Your pages: app/dashboard/pages/ and"
  echo "app/dashboard/streamlit_app.py; tables: app/core/models.py, then make migration."
}

main "$@"
