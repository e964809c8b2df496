"""Turn benchmark runs into docs/benchmark.md (tables) and docs/benchmark.png (plots)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

APPS = ("reference", "naive", "floor")
# Option results closer than this to the config's are within one run's noise.
NOISE = 0.10


@dataclass
class RunStats:
    """One server under one load: what the clients and the samplers measured."""

    app: str
    sessions: int
    reruns_planned: int
    latencies: list[float]
    errors: Counter[str]
    pool_bound: int
    pg_peak: int | None = None
    pg_mean: float | None = None
    api_peak: int | None = None
    transactions: int | None = None
    rss_peak: int = 0
    cpu_percent: float = 0.0
    samples: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    label: str = ""

    @property
    def reruns(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of rerun latency in seconds (NaN with no reruns)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "-"
    return f"{value / base:.2f}"


def _errors(errors: Counter[str]) -> str:
    return ", ".join(f"{kind}: {n}" for kind, n in sorted(errors.items())) or "0"


def _optional(value: object, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def sweep_table(runs: list[RunStats]) -> list[str]:
    floors = {run.sessions: run.percentile(95) for run in runs if run.app == "floor"}
    lines = [
        "| app | sessions | reruns done / planned | errors | p50 s | p95 s | p95 / floor"
        " | PG peak (mean) / bound | API PG peak | transactions | RSS MB | CPU % |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in sorted(runs, key=lambda r: (r.sessions, APPS.index(r.app))):
        p95 = run.percentile(95)
        pg = "-" if run.pg_peak is None else f"{run.pg_peak} ({run.pg_mean:.1f}) / {run.pool_bound}"
        lines.append(
            f"| {run.app} | {run.sessions} | {run.reruns} / {run.reruns_planned}"
            f" | {_errors(run.errors)} | {_seconds(run.percentile(50))} | {_seconds(p95)}"
            f" | {_ratio(p95, floors.get(run.sessions, math.nan))} | {pg}"
            f" | {_optional(run.api_peak)} | {_optional(run.transactions)}"
            f" | {run.rss_peak / 2**20:.0f} | {run.cpu_percent:.0f} |"
        )
    return lines


def options_table(options: list[RunStats]) -> list[str]:
    base = options[0]
    lines = [
        f"| options (reference app, {base.sessions} sessions per round) | reruns done | errors"
        " | p50 s"
        " | p95 s | p50 / config | p95 / config | CPU % |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in options:
        p50, p95 = run.percentile(50), run.percentile(95)
        lines.append(
            f"| {run.label} | {run.reruns} / {run.reruns_planned} | {_errors(run.errors)}"
            f" | {_seconds(p50)} | {_seconds(p95)} | {_ratio(p50, base.percentile(50))}"
            f" | {_ratio(p95, base.percentile(95))} | {run.cpu_percent:.0f} |"
        )
    return lines


def options_verdict(options: list[RunStats]) -> str:
    """Whether the config's options are the measured best, with the numbers."""
    base = options[0]
    base_p95, base_errors = base.percentile(95), sum(base.errors.values())
    better = [
        run
        for run in options[1:]
        if sum(run.errors.values()) < base_errors
        or (sum(run.errors.values()) == base_errors and run.percentile(95) < base_p95 * (1 - NOISE))
    ]
    if not better:
        return (
            f"The config's settings (`.streamlit/config.toml`) are the measured best: no"
            f" alternative had fewer errors or a p95 more than {NOISE:.0%} below its"
            f" {_seconds(base_p95)} s."
        )
    names = ", ".join(
        f"`{run.label}` (p95 {_ratio(run.percentile(95), base_p95)}x, errors {_errors(run.errors)})"
        for run in better
    )
    return f"Measured better than the config's settings: {names}. The config should change."


def targets(runs: list[RunStats], compare_at: int) -> list[str]:
    """The issue's targets, each with its measured figure and met or missed."""
    by = {(run.app, run.sessions): run for run in runs}
    top = max(run.sessions for run in runs)
    lines = []
    ref_top = by.get(("reference", top))
    if ref_top:
        errors = sum(ref_top.errors.values())
        lines.append(
            f"- **0 errors at {top} sessions on one process**: {'met' if not errors else 'missed'}"
            f" ({errors} errors: {_errors(ref_top.errors)}; {ref_top.reruns} of"
            f" {ref_top.reruns_planned} reruns done; dashboard CPU {ref_top.cpu_percent:.0f}%)."
        )
    ratios = [
        (n, by[("reference", n)].percentile(95) / by[("floor", n)].percentile(95))
        for n in sorted({run.sessions for run in runs})
        if ("reference", n) in by and ("floor", n) in by and by[("floor", n)].reruns
    ]
    ratios = [(n, r) for n, r in ratios if not math.isnan(r)]
    if ratios:
        worst = max(r for _, r in ratios)
        figures = ", ".join(f"{r:.2f}x at {n}" for n, r in ratios)
        lines.append(
            f"- **reference p95 within 1.3x of the floor**: {'met' if worst <= 1.3 else 'missed'}"
            f" ({figures})."
        )
    ref, naive = by.get(("reference", compare_at)), by.get(("naive", compare_at))
    if ref and naive:
        factor = naive.percentile(95) / ref.percentile(95)
        naive_errors = sum(naive.errors.values())
        verdict = "met" if factor >= 10 or (naive_errors and not ref.errors) else "missed"
        lines.append(
            f"- **reference p95 at least 10x better than naive at {compare_at} sessions**:"
            f" {verdict} (naive p95 {_seconds(naive.percentile(95))} s = {factor:.1f}x the"
            f" reference's {_seconds(ref.percentile(95))} s; naive errors: {_errors(naive.errors)};"
            f" naive reruns done {naive.reruns} of {naive.reruns_planned})."
        )
    peaks = [(run.sessions, run.pg_peak) for run in runs if run.app == "reference"]
    if all(peak is not None for _, peak in peaks) and peaks:
        bound = next(run.pool_bound for run in runs if run.app == "reference")
        worst = max(peak for _, peak in peaks)
        naive_peaks = ", ".join(
            f"{run.pg_peak} at {run.sessions}" for run in runs if run.app == "naive"
        )
        lines.append(
            f"- **reference PostgreSQL peak never above its pool bound ({bound})**:"
            f" {'met' if worst <= bound else 'missed'} (peak {worst}; naive reached"
            f" {naive_peaks})."
        )
    return lines


def plot(runs: list[RunStats], path: Path) -> None:
    figure, (latency, connections) = plt.subplots(1, 2, figsize=(11, 4.2))
    for app in APPS:
        mine = sorted((run for run in runs if run.app == app), key=lambda r: r.sessions)
        if not mine:
            continue
        sessions = [run.sessions for run in mine]
        latency.plot(sessions, [run.percentile(95) for run in mine], marker="o", label=app)
        if all(run.pg_peak is not None for run in mine):
            connections.plot(sessions, [run.pg_peak for run in mine], marker="o", label=app)
    bounds = {run.pool_bound for run in runs}
    for bound in bounds:
        connections.axhline(bound, color="grey", linestyle="--", label=f"pool bound {bound}")
    latency.set(xlabel="concurrent sessions", ylabel="p95 rerun latency (s)", yscale="log")
    latency.set_title("p95 rerun latency")
    connections.set(xlabel="concurrent sessions", ylabel="peak connections (dashboard)")
    connections.set_title("PostgreSQL connections, peak")
    for axes in (latency, connections):
        axes.set_xscale("log")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(
    path: Path,
    runs: list[RunStats],
    options: list[RunStats],
    facts: dict[str, str],
    notes: list[str],
    compare_at: int,
) -> None:
    """Write the Markdown report at `path` and its plot beside it (same name, .png)."""
    image = path.with_suffix(".png")
    plot(runs, image)
    lines = [
        "# Load benchmark",
        "",
        "Generated by `bench/run.py`; do not edit by hand, run it again.",
        "",
        *(f"- {name}: {value}" for name, value in facts.items()),
        "",
        "## Targets",
        "",
        *targets(runs, compare_at),
        "",
        "## Sweep: reference vs naive vs in-memory floor",
        "",
        *sweep_table(runs),
        "",
        f"![p95 latency and PostgreSQL connections per app]({image.name})",
        "",
    ]
    if options:
        lines += ["## Streamlit server options", "", *options_table(options), ""]
        lines += [options_verdict(options), ""]
    lines += ["## How to read this", "", *(f"- {note}" for note in notes), ""]
    path.write_text("\n".join(lines))
