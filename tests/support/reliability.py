"""docs/reliability.md: tables the suites write from what they measured, as tests/bench/report.py
writes docs/benchmark.md.

Each suite owns the text between its markers (``<!-- NAME:begin -->`` and
``<!-- NAME:end -->``) and rewrites only that; the rest of the file is prose by
hand. Rows are keyed by their first cell: a run of part of a suite (``pytest -k``)
updates the rows it measured and keeps the others. Only outcomes go in (request
counts, status codes), no timings or dates, so the file changes only when an
outcome does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.support.tools import ROOT

DOC = ROOT / "docs/reliability.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def _rows(section: str) -> dict[str, str]:
    rows = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and not set(cells[1].strip()) <= {"-"} and cells[1].strip() != "class":
            rows[cells[1].strip()] = line
    return rows


def write_section(name: str, intro: str, header: str, rows: dict[str, str], path: Path = DOC):
    """Merge `rows` (first cell -> Markdown row) into the table between NAME's markers."""
    begin, end = _markers(name)
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        old, after = rest.split(end, 1)
    else:
        before, old, after = text.rstrip("\n") + "\n\n" if text else "", "", "\n"
    merged = {**_rows(old), **rows}
    columns = header.count("|") - 1
    table = [header, "|" + "---|" * columns, *(merged[key] for key in sorted(merged))]
    body = "\n".join([begin, intro, "", *table, end])
    new = before + body + after
    if new != text:
        path.write_text(new)


def statuses(counts: Counter[int | str]) -> str:
    """`400: 3, 200: 1`: every status code seen and how often, the most frequent first."""
    return ", ".join(
        f"{code}: {n:,}" for code, n in sorted(counts.items(), key=lambda i: (-i[1], str(i[0])))
    )


class BadInputReport:
    """What the bad-input suite sent and got back, by input class."""

    SECTION = "bad-input"
    HEADER = "| class | sent to | requests | status codes seen |"
    INTRO = (
        "Written by the bad-input suite (`tests/integration/test_bad_input.py`, "
        "`tests/e2e/test_edge_limits.py`) from its last run; do not edit by hand."
    )

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    def record(
        self, name: str, target: str, codes: Iterable[int | str], split: bool = True
    ) -> None:
        """One row; `split=False` lists the codes seen without how often each was."""
        counts = Counter(codes)
        seen = statuses(counts) if split else ", ".join(sorted(map(str, counts)))
        self.rows[name] = f"| {name} | {target} | {sum(counts.values()):,} | {seen} |"

    def write(self, path: Path = DOC) -> None:
        if self.rows:
            write_section(self.SECTION, self.INTRO, self.HEADER, self.rows, path)


@pytest.fixture(scope="session")
def bad_input_report() -> Iterator[BadInputReport]:
    """Collects outcomes over the session; writes the bad-input table at its end."""
    report = BadInputReport()
    yield report
    report.write()
