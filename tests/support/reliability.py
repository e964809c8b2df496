"""docs/reliability.md: the fault and bad-input suites write their measured outcomes there.

Each suite owns one section between its own markers (``<!-- faults:begin -->``
... ``<!-- faults:end -->``, ``<!-- bad-input:begin -->`` ...) and replaces only
that. A section is a table whose first column names what was injected: a run
replaces the rows it measured and keeps the others, so running one test
updates its own rows only. Figures are rounded (times up to a step of
SECOND_STEPS, counts down to an order of magnitude) so that a run with the same
outcomes leaves the file as it was; a row changes when a figure crosses one of
those steps or an outcome changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.support.tools import ROOT

DOC = ROOT / "docs/reliability.md"
SECTIONS = ("faults", "bad-input")
INTRO = """# Reliability: faults and bad input

What happens when a part of the stack fails or a client sends garbage,
measured by the test suites of `make test` (so by CI) on the real parts:
`tests/faults/` writes the faults section, the bad-input suite its own. Each
row is the last run's measured outcome; "met" means every target of that row
held.
"""


# Steps a duration is rounded up to: coarse enough that a loaded machine's
# jitter rarely moves a figure across one, so the file stays as it was.
SECOND_STEPS = (2, 5, 10, 20, 30, 60, 120, 300)


def seconds(value: float) -> str:
    """A duration as the step it stays under: `< 2 s`, `< 10 s`, ... (`never` for infinity)."""
    if math.isinf(value):
        return "never"
    step = next((step for step in SECOND_STEPS if value < step), None)
    return f"< {step} s" if step else f"{math.ceil(value)} s"


def count(value: int) -> str:
    """A count as its order of magnitude: `0`, `1+`, `10+`, `100+`, ..."""
    return "0" if value == 0 else f"{10 ** int(math.log10(value))}+"


def _markers(section: str) -> tuple[str, str]:
    return f"<!-- {section}:begin -->", f"<!-- {section}:end -->"


def _rows(body: str) -> dict[str, str]:
    """The table rows of a section by their first cell (header and rule excluded)."""
    rows = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] and not set(cells[0]) <= set("-: "):
            rows[cells[0]] = line
    return rows


def write_section(
    section: str,
    preamble: str,
    header: Sequence[str],
    rows: Mapping[str, Sequence[str]],
    doc: Path = DOC,
) -> None:
    """Replace `rows` (by first cell) in `section`'s table, keeping its other rows.

    Creates the file, with every suite's markers, when it is absent.
    """
    if not doc.exists():
        doc.write_text(INTRO + "".join(f"\n{a}\n{b}\n" for a, b in map(_markers, SECTIONS)))
    text = doc.read_text()
    begin, end = _markers(section)
    pattern = re.compile(f"{re.escape(begin)}\n(.*?){re.escape(end)}", re.DOTALL)
    match = pattern.search(text)
    if match is None:
        raise AssertionError(f"{doc} lacks the markers {begin} ... {end}")
    header_row = "| " + " | ".join(header) + " |"
    kept = {key: line for key, line in _rows(match.group(1)).items() if key != header[0]}
    kept.update({key: "| " + " | ".join([key, *cells]) + " |" for key, cells in rows.items()})
    table = [header_row, "|" + "---|" * len(header), *(kept[key] for key in sorted(kept))]
    body = preamble.strip() + "\n\n" + "\n".join(table) + "\n"
    updated = text[: match.start(1)] + body + text[match.end(1) :]
    if updated != text:
        doc.write_text(updated)


def statuses(counts: Counter[int | str]) -> str:
    """`400: 3, 200: 1`: every status code seen and how often, the most frequent first."""
    return ", ".join(
        f"{code}: {n:,}" for code, n in sorted(counts.items(), key=lambda i: (-i[1], str(i[0])))
    )


class BadInputReport:
    """What the bad-input suite sent and got back, by input class: request counts and
    status codes only (no timings), so the table changes only when an outcome does."""

    SECTION = "bad-input"
    HEADER = ("class", "sent to", "requests", "status codes seen")
    INTRO = (
        "Written by the bad-input suite (`tests/reference/test_bad_input.py`, "
        "`tests/e2e/test_edge_limits.py`) from its last run; do not edit by hand."
    )

    def __init__(self) -> None:
        self.rows: dict[str, list[str]] = {}

    def record(
        self, name: str, target: str, codes: Iterable[int | str], split: bool = True
    ) -> None:
        """One row; `split=False` lists the codes seen without how often each was."""
        counts = Counter(codes)
        seen = statuses(counts) if split else ", ".join(sorted(map(str, counts)))
        self.rows[name] = [target, f"{sum(counts.values()):,}", seen]

    def write(self, doc: Path = DOC) -> None:
        if self.rows:
            write_section(self.SECTION, self.INTRO, self.HEADER, self.rows, doc)


@pytest.fixture(scope="session")
def bad_input_report() -> Iterator[BadInputReport]:
    """Collects outcomes over the session; writes the bad-input table at its end."""
    report = BadInputReport()
    yield report
    report.write()
