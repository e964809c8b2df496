"""Turn benchmark runs into docs/benchmark.md (targets, tables) and docs/benchmark.png (plots)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

APPS = ("reference", "floor", "trivial", "pandas", "naive")
NAMES = {
    "reference": "reference",
    "floor": "render floor",
    "trivial": "trivial page",
    "pandas": "in-memory pandas",
    "naive": "naive",
}
# Option results closer than this to the config's are within one run's noise.
NOISE = 0.10
# The targets (#12).
SINGLE_VS_TRIVIAL = 3.0  # 1 session: reference p50 at most this times the trivial page's
LOADED_VS_FLOOR = 1.5  # loaded shapes: reference p95 at most this times the floor's
LOADED_VS_TRIVIAL = 10.0  # ... and at most this times the trivial page's
SEED_LEVEL = 500  # seed 001: reference 0 errors at every concurrency up to this
SCALE_TARGET = 1.7  # 2 replicas serve at least this times the sessions of 1


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
    socket_peak: int | None = None  # the dashboard's own open connections to PostgreSQL
    api_peak: int | None = None
    transactions: int | None = None
    rss_peak: int = 0
    cpu_seconds: float = 0.0  # CPU time of the dashboard process during the load
    seconds: float = 0.0  # wall time of the load
    samples: int = 0
    metrics: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    label: str = ""
    revenue_varied: int = 0  # sessions whose Revenue took more than one value
    think_seconds: float = 0.5  # each think is uniform in [0, think_seconds]
    replicas: int = 1
    error_examples: dict[str, str] = field(default_factory=dict)  # one message per kind
    logged_errors: Counter[str] = field(default_factory=Counter)  # database errors in its log

    def metric(self, name: str, **labels: str) -> float:
        """Sum of one /_stcore/metrics family over the samples carrying these labels."""
        return sum(
            value
            for family, have, value in self.metrics
            if family == name and labels.items() <= have.items()
        )

    def _cache_share(self, result: str) -> str:
        """The share of st.cache_data lookups with this result, from /_stcore/metrics."""
        count = {
            kind: self.metric("cache_lookups_total", cache_type="st_cache_data", result=kind)
            for kind in ("hit", "miss")
        }
        total = sum(count.values())
        return f"{count[result] / total:.0%}" if total else "-"

    @property
    def cache_hits(self) -> str:
        return self._cache_share("hit")

    @property
    def cache_misses(self) -> str:
        return self._cache_share("miss")

    @property
    def reruns(self) -> int:
        return len(self.latencies)

    @property
    def cpu_percent(self) -> float:
        """Mean CPU use of the dashboard during the load, in % of one core."""
        return 100 * self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_run(self) -> float:
        """Dashboard CPU time per script run (first runs and reruns), in ms."""
        runs = self.reruns + self.sessions - sum(self.errors.values())
        return 1000 * self.cpu_seconds / runs if runs > 0 else math.nan

    @property
    def transactions_per_rerun(self) -> float:
        if self.transactions is None or not self.reruns:
            return math.nan
        return self.transactions / self.reruns

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


def _p(run: RunStats | None, q: float) -> float:
    return math.nan if run is None else run.percentile(q)


def _shape(run: RunStats) -> str:
    return f"{run.sessions} (think {run.think_seconds:g} s)"


def _by_shape(runs: list[RunStats]) -> dict[tuple[int, float], dict[str, RunStats]]:
    shapes: dict[tuple[int, float], dict[str, RunStats]] = {}
    for run in runs:
        shapes.setdefault((run.sessions, run.think_seconds), {})[run.app] = run
    return dict(sorted(shapes.items()))


def latency_table(runs: list[RunStats]) -> list[str]:
    """A row per app and load shape, with its p50 and p95 against the floor's and trivial's."""
    lines = [
        "| sessions (think) | app | reruns done / planned | errors | p50 s | p95 s"
        " | p50 / floor | p95 / floor | p50 / trivial | p95 / trivial | CPU % | RSS MB"
        " | Revenue varied |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for apps in _by_shape(runs).values():
        floor, trivial = apps.get("floor"), apps.get("trivial")
        for run in sorted(apps.values(), key=lambda r: APPS.index(r.app)):
            p50, p95 = run.percentile(50), run.percentile(95)
            lines.append(
                f"| {_shape(run)} | {NAMES[run.app]} | {run.reruns} / {run.reruns_planned}"
                f" | {_errors(run.errors)} | {_seconds(p50)} | {_seconds(p95)}"
                f" | {_ratio(p50, _p(floor, 50))} | {_ratio(p95, _p(floor, 95))}"
                f" | {_ratio(p50, _p(trivial, 50))} | {_ratio(p95, _p(trivial, 95))}"
                f" | {run.cpu_percent:.0f} | {run.rss_peak / 2**20:.0f}"
                f" | {run.revenue_varied} / {run.sessions} |"
            )
    return lines


def connections_table(runs: list[RunStats]) -> list[str]:
    """Seed 001: a row per concurrency and app on the stock PostgreSQL."""
    lines = [
        "| sessions | app | reruns done / planned | errors | p50 s | p95 s"
        " | PG peak (mean) / bound | API PG peak | transactions | Revenue varied"
        " | database errors in the dashboard's log |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in sorted(runs, key=lambda r: (r.sessions, APPS.index(r.app))):
        pg = "-" if run.pg_peak is None else f"{run.pg_peak} ({run.pg_mean:.1f}) / {run.pool_bound}"
        lines.append(
            f"| {run.sessions} | {NAMES[run.app]} | {run.reruns} / {run.reruns_planned}"
            f" | {_errors(run.errors)} | {_seconds(run.percentile(50))}"
            f" | {_seconds(run.percentile(95))} | {pg} | {_optional(run.api_peak)}"
            f" | {_optional(run.transactions)} | {run.revenue_varied} / {run.sessions}"
            f" | {_errors(run.logged_errors)} |"
        )
    return lines


def first_failure(runs: list[RunStats], app: str) -> RunStats | None:
    """The lowest-concurrency run of `app` that ended any session with an error."""
    failed = [run for run in runs if run.app == app and run.errors]
    return min(failed, key=lambda run: run.sessions, default=None)


def scale_budget(runs: list[RunStats], base: int | None) -> float:
    """The p95 budget of the scale-out: the 1-replica run's p95 at `base` sessions."""
    return next(
        (run.percentile(95) for run in runs if run.replicas == 1 and run.sessions == base),
        math.nan,
    )


def served_within(runs: list[RunStats], replicas: int, budget: float) -> int:
    """Sessions served at the budget: the largest level of `replicas` with no error and
    p95 within `budget` (0 when none is)."""
    return max(
        (
            run.sessions
            for run in runs
            if run.replicas == replicas and not run.errors and run.percentile(95) <= budget
        ),
        default=0,
    )


def interpolated_within(runs: list[RunStats], replicas: int, budget: float) -> float:
    """Sessions at the budget, linear between the last level within it and the next one
    (the level itself when none is over; NaN when none is within): finer than the levels."""
    mine = sorted((run for run in runs if run.replicas == replicas), key=lambda r: r.sessions)
    served = served_within(runs, replicas, budget)
    if not served:
        return math.nan
    below = next(run for run in mine if run.sessions == served)
    above = next((run for run in mine if run.sessions > served), None)
    if above is None or above.errors or not above.percentile(95) > below.percentile(95):
        return float(served)
    share = (budget - below.percentile(95)) / (above.percentile(95) - below.percentile(95))
    return served + (above.sessions - served) * share


def scale_table(runs: list[RunStats], budget: float) -> list[str]:
    lines = [
        "| replicas | sessions | reruns done / planned | errors | p50 s | p95 s"
        " | within budget | CPU % (replicas) | Revenue varied |",
        "|---:|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for run in sorted(runs, key=lambda r: (r.replicas, r.sessions)):
        p95 = run.percentile(95)
        within = "yes" if not run.errors and p95 <= budget else "no"
        lines.append(
            f"| {run.replicas} | {run.sessions} | {run.reruns} / {run.reruns_planned}"
            f" | {_errors(run.errors)} | {_seconds(run.percentile(50))} | {_seconds(p95)}"
            f" | {within} | {run.cpu_percent:.0f} | {run.revenue_varied} / {run.sessions} |"
        )
    return lines


def _worst(values: list[int | None]) -> int | None:
    return None if None in values else max(values)


def combined(rounds: list[RunStats]) -> RunStats:
    """One option set's rounds as one row: every latency and error, the worst peaks."""
    pg_means = [run.pg_mean for run in rounds]
    return replace(
        rounds[0],
        reruns_planned=sum(run.reruns_planned for run in rounds),
        latencies=[x for run in rounds for x in run.latencies],
        errors=sum((run.errors for run in rounds), Counter()),
        pg_peak=_worst([run.pg_peak for run in rounds]),
        pg_mean=None if None in pg_means else statistics.fmean(pg_means),
        socket_peak=_worst([run.socket_peak for run in rounds]),
        api_peak=_worst([run.api_peak for run in rounds]),
        rss_peak=max(run.rss_peak for run in rounds),
        cpu_seconds=sum(run.cpu_seconds for run in rounds),
        seconds=sum(run.seconds for run in rounds),
        samples=sum(run.samples for run in rounds),
        revenue_varied=sum(run.revenue_varied for run in rounds),
    )


def options_table(options: list[list[RunStats]]) -> list[str]:
    """A row per option set (its rounds combined), the config's first."""
    base = combined(options[0])
    lines = [
        f"| options (reference app, {base.sessions} sessions per round) | reruns done | errors"
        " | p50 s | p95 s | p50 / config | p95 / config | p95 s per round | CPU % |",
        "|---|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for rounds in options:
        run = combined(rounds)
        p50, p95 = run.percentile(50), run.percentile(95)
        per_round = ", ".join(_seconds(one.percentile(95)) for one in rounds)
        lines.append(
            f"| {run.label} | {run.reruns} / {run.reruns_planned} | {_errors(run.errors)}"
            f" | {_seconds(p50)} | {_seconds(p95)} | {_ratio(p50, base.percentile(50))}"
            f" | {_ratio(p95, base.percentile(95))} | {per_round} | {run.cpu_percent:.0f} |"
        )
    return lines


def options_verdict(options: list[list[RunStats]]) -> str:
    """Whether the config's options are the measured best, with the numbers.

    `options` holds each option set's rounds, the config's first; round i of
    every set ran in the same interleaved round. An alternative is better when
    it had fewer errors, or as many and a p95 more than NOISE below the
    config's in every round: a paired comparison, so drift between rounds and
    one lucky run do not decide.
    """
    base = options[0]
    base_errors = sum(sum(run.errors.values()) for run in base)
    better = []
    for rounds in options[1:]:
        errors = sum(sum(run.errors.values()) for run in rounds)
        faster = all(
            run.percentile(95) < config.percentile(95) * (1 - NOISE)
            for run, config in zip(rounds, base, strict=True)
        )
        if errors < base_errors or (errors == base_errors and faster):
            better.append(combined(rounds))
    base_p95 = combined(base).percentile(95)
    if not better:
        return (
            f"The config's settings (`.streamlit/config.toml`) are the measured best: no"
            f" alternative had fewer errors, or a p95 more than {NOISE:.0%} below the"
            f" config's in every one of the {len(base)} round(s) (config p95 over all rounds"
            f" {_seconds(base_p95)} s)."
        )
    names = ", ".join(
        f"`{run.label}` (p95 {_ratio(run.percentile(95), base_p95)}x, errors {_errors(run.errors)})"
        for run in better
    )
    return f"Measured better than the config's settings: {names}. The config should change."


@dataclass
class Results:
    """Every part of one benchmark run."""

    latency: list[RunStats] = field(default_factory=list)
    connections: list[RunStats] = field(default_factory=list)  # seed 001, stock PostgreSQL
    max_connections: int | None = None  # the stock server's
    scale: list[RunStats] = field(default_factory=list)
    scale_base: int | None = None  # sessions of the 1-replica run that sets the budget
    options: list[list[RunStats]] = field(default_factory=list)


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def _latency_targets(runs: list[RunStats]) -> list[str]:
    shapes = _by_shape(runs)
    single = [apps for (n, _), apps in shapes.items() if n == 1]
    lines = []
    apps = single[0] if single else {}
    if "reference" in apps and "trivial" in apps:
        ratio = apps["reference"].percentile(50) / apps["trivial"].percentile(50)
        lines.append(
            f"- **1 session: reference rerun p50 ≤ {SINGLE_VS_TRIVIAL:g}x the trivial page's**:"
            f" {_verdict(ratio <= SINGLE_VS_TRIVIAL)} ({ratio:.2f}x: reference"
            f" {_seconds(apps['reference'].percentile(50))} s, trivial"
            f" {_seconds(apps['trivial'].percentile(50))} s)."
        )
    else:
        lines.append("- **1 session: reference rerun p50 vs trivial**: not measured.")
    loaded = {shape: apps for shape, apps in shapes.items() if shape[0] > 1}
    for base, limit in (("floor", LOADED_VS_FLOOR), ("trivial", LOADED_VS_TRIVIAL)):
        pairs = [
            (apps["reference"], apps[base])
            for apps in loaded.values()
            if "reference" in apps and base in apps
        ]
        name = "the render floor's" if base == "floor" else "the trivial page's"
        if not pairs:
            lines.append(f"- **Loaded: reference p95 ≤ {limit:g}x {name}**: not measured.")
            continue
        ratios = [ref.percentile(95) / other.percentile(95) for ref, other in pairs]
        clean = all(not ref.errors for ref, _ in pairs)
        met = clean and all(r <= limit for r in ratios)  # NaN compares false: missed
        figures = "; ".join(
            f"{r:.2f}x at {_shape(ref)}: {_seconds(ref.percentile(95))} s vs"
            f" {_seconds(other.percentile(95))} s"
            for r, (ref, other) in zip(ratios, pairs, strict=True)
        )
        lines.append(
            f"- **Loaded: reference p95 ≤ {limit:g}x {name}**: {_verdict(met)} ({figures})."
        )
    return lines


def _example(run: RunStats, kind: str) -> str:
    """The client's message for an error kind, unless Streamlit redacted it (a script
    error's cause is then in the server's log, which the report gives beside it)."""
    example = run.error_examples.get(kind, "")
    return "" if "redacted" in example else example


def _connection_target(runs: list[RunStats], max_connections: int | None) -> list[str]:
    if not runs:
        return ["- **Default max_connections: naive fails, reference 0 errors**: not measured."]
    top = max(run.sessions for run in runs)
    naive = first_failure(runs, "naive")
    reference = sorted((run for run in runs if run.app == "reference"), key=lambda r: r.sessions)
    ref_errors = ", ".join(f"{sum(run.errors.values())} at {run.sessions}" for run in reference)
    clean = bool(reference) and all(not run.errors for run in reference)
    met = naive is not None and clean and top >= SEED_LEVEL
    if naive:
        kinds = "; ".join(
            f"{kind}: {n}" + (f' ("{example[:120]}")' if (example := _example(naive, kind)) else "")
            for kind, n in sorted(naive.errors.items())
        )
        logged = f"; its log: {_errors(naive.logged_errors)}" if naive.logged_errors else ""
        naive_text = f"naive first fails at {naive.sessions} sessions ({kinds}{logged})"
    else:
        naive_text = f"naive did not fail up to {top} sessions"
    reach = "" if top >= SEED_LEVEL else f"; this run went up to {top}, not {SEED_LEVEL}"
    return [
        f"- **Default max_connections ({_optional(max_connections)}): naive fails, reference 0"
        f" errors at every concurrency up to {SEED_LEVEL}**: {_verdict(met)} ({naive_text};"
        f" reference errors {ref_errors}{reach})."
    ]


def _scale_target(runs: list[RunStats], base: int | None) -> list[str]:
    budget = scale_budget(runs, base)
    if math.isnan(budget):
        return [f"- **2 replicas serve ≥ {SCALE_TARGET:g}x the sessions of 1**: not measured."]
    one, two = served_within(runs, 1, budget), served_within(runs, 2, budget)
    ratio = two / one if one else math.nan
    tested = max((run.sessions for run in runs if run.replicas == 2), default=0)
    capped = (
        "; 2 replicas stayed within it up to the sweep's last level, so both ratios are"
        " lower bounds"
        if two and two == tested and two == max(run.sessions for run in runs)
        else ""
    )
    fine_one, fine_two = (interpolated_within(runs, n, budget) for n in (1, 2))
    return [
        f"- **2 replicas serve ≥ {SCALE_TARGET:g}x the sessions of 1 at the same p95**:"
        f" {_verdict(ratio >= SCALE_TARGET)} ({ratio:.2f}x: {two} sessions against {one}"
        f" within a p95 of {_seconds(budget)} s, the 1-replica p95 at {base};"
        f" interpolated between levels {_ratio(fine_two, fine_one)}x:"
        f" {fine_two:.1f} against {fine_one:.1f}{capped})."
    ]


def targets(results: Results) -> list[str]:
    """The issue's targets, each with its figures from this run and met or missed."""
    return [
        *_latency_targets(results.latency),
        *_connection_target(results.connections, results.max_connections),
        *_scale_target(results.scale, results.scale_base),
    ]


def plot(results: Results, path: Path) -> None:
    figure, (latency, connections, scale) = plt.subplots(1, 3, figsize=(15, 4.4))
    shapes = _by_shape(results.latency)
    labels = [f"{n}\n(think {think:g} s)" for n, think in shapes]
    for app in APPS:
        values = [apps[app].percentile(95) if app in apps else math.nan for apps in shapes.values()]
        if not all(math.isnan(v) for v in values):
            latency.plot(labels, values, marker="o", label=NAMES[app])
    latency.set(xlabel="sessions", ylabel="p95 rerun latency (s)", yscale="log")
    latency.set_title("p95 rerun latency by load shape")
    for app in ("reference", "naive"):
        mine = sorted((r for r in results.connections if r.app == app), key=lambda r: r.sessions)
        if mine:
            line = connections.plot(
                [r.sessions for r in mine], [r.pg_peak or 0 for r in mine], marker="o", label=app
            )[0]
            failed = [r for r in mine if r.errors]
            if failed:
                connections.scatter(
                    [r.sessions for r in failed],
                    [r.pg_peak or 0 for r in failed],
                    marker="x",
                    s=120,
                    color=line.get_color(),
                    label=f"{app}: errors",
                )
    if results.max_connections:
        connections.axhline(
            results.max_connections, color="red", linestyle=":", label="max_connections"
        )
    for bound in {run.pool_bound for run in results.connections}:
        connections.axhline(bound, color="grey", linestyle="--", label=f"pool bound {bound}")
    connections.set(xlabel="concurrent sessions", ylabel="peak connections (dashboard)")
    connections.set_xscale("log")
    levels = sorted({run.sessions for run in results.connections})
    if levels:
        connections.set_xticks(levels, [str(n) for n in levels])
        connections.minorticks_off()
    connections.set_title("Seed 001: stock PostgreSQL")
    budget = scale_budget(results.scale, results.scale_base)
    for replicas in (1, 2):
        mine = sorted(
            (r for r in results.scale if r.replicas == replicas), key=lambda r: r.sessions
        )
        if mine:
            scale.plot(
                [r.sessions for r in mine],
                [r.percentile(95) for r in mine],
                marker="o",
                label=f"{replicas} replica(s)",
            )
    if not math.isnan(budget):
        scale.axhline(budget, color="grey", linestyle="--", label="p95 budget")
    scale.set(xlabel="concurrent sessions", ylabel="p95 rerun latency (s)")
    scale.set_title("Scale-out behind nginx")
    for axes in (latency, connections, scale):
        axes.grid(True, which="both", alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(path: Path, results: Results, facts: dict[str, str], notes: list[str]) -> None:
    """Write the Markdown report at `path` and its plot beside it (same name, .png)."""
    image = path.with_suffix(".png")
    plot(results, image)
    lines = [
        "# Load benchmark",
        "",
        "Generated by `tests/bench/run.py`; do not edit by hand, run it again.",
        "",
        *(f"- {name}: {value}" for name, value in facts.items()),
        "",
        "## Targets",
        "",
        "Ratios between runs of this one benchmark, on one machine.",
        "",
        *targets(results),
        "",
        f"![p95 by load shape, seed 001 connections, scale-out p95]({image.name})",
        "",
    ]
    if results.latency:
        lines += [
            "## Latency: reference vs render floor vs trivial page",
            "",
            *latency_table(results.latency),
            "",
        ]
    if results.connections:
        lines += [
            f"## Seed 001: naive vs reference on a stock PostgreSQL (max_connections"
            f" {_optional(results.max_connections)})",
            "",
            *connections_table(results.connections),
            "",
        ]
    if results.scale:
        budget = scale_budget(results.scale, results.scale_base)
        lines += [
            "## Scale-out: replicas behind nginx (sticky)",
            "",
            f"Budget: p95 {_seconds(budget)} s, the 1-replica p95 at {results.scale_base}"
            f" sessions. Sessions served within it (measured levels; interpolated between"
            f" them): 1 replica {served_within(results.scale, 1, budget)}"
            f" ({interpolated_within(results.scale, 1, budget):.1f}), 2 replicas"
            f" {served_within(results.scale, 2, budget)}"
            f" ({interpolated_within(results.scale, 2, budget):.1f}).",
            "",
            *scale_table(results.scale, budget),
            "",
        ]
    if results.options:
        lines += ["## Streamlit server options", "", *options_table(results.options), ""]
        lines += [options_verdict(results.options), ""]
    lines += ["## How to read this", "", *(f"- {note}" for note in notes), ""]
    path.write_text("\n".join(lines))
