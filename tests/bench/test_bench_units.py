"""The benchmark's own arithmetic, decisions and samplers, without servers."""

from __future__ import annotations

import math
import os
from collections import Counter

from tests.bench.report import (
    Results,
    RunStats,
    first_failure,
    interpolated_within,
    options_verdict,
    scale_budget,
    served_within,
    targets,
)
from tests.bench.run import database_errors
from tests.bench.sample import cpu_seconds, rss_bytes


def _run(label: str, latencies: list[float], errors: Counter | None = None) -> RunStats:
    return RunStats(label, 10, 10, latencies, errors or Counter(), 10, label=label)


def _app(
    app: str,
    sessions: int,
    seconds: float,
    think: float = 0.5,
    errors: Counter | None = None,
    replicas: int = 1,
) -> RunStats:
    """A run whose every rerun took `seconds`: its p50 and p95 are `seconds`."""
    return RunStats(
        app,
        sessions,
        sessions,
        [seconds] * sessions,
        errors or Counter(),
        10,
        think_seconds=think,
        replicas=replicas,
    )


def _line(results: Results, start: str) -> str:
    return next(line for line in targets(results) if line.startswith(start))


def test_percentile_is_nearest_rank():
    run = _run("a", [float(n) for n in range(1, 101)])
    assert (run.percentile(50), run.percentile(95), run.percentile(100)) == (50.0, 95.0, 100.0)
    assert _run("empty", []).percentile(95) != _run("empty", []).percentile(95)  # NaN


def test_options_verdict_names_an_option_better_in_every_round():
    config = [_run("config", [1.0] * 20), _run("config", [1.0] * 20)]
    assert "measured best" in options_verdict([config, [_run("same", [0.95] * 20)] * 2])
    verdict = options_verdict([config, [_run("faster", [0.5] * 20)] * 2])
    assert "`faster`" in verdict
    assert "measured best" not in verdict
    # Faster in one round only: drift or luck, not a better option.
    once = [_run("once", [0.5] * 20), _run("once", [1.0] * 20)]
    assert "measured best" in options_verdict([config, once])
    fewer_errors = [_run("no timeouts", [2.0] * 20)] * 2
    with_errors = [_run("config", [1.0] * 20, Counter(timeout=3)), _run("config", [1.0] * 20)]
    assert "`no timeouts`" in options_verdict([with_errors, fewer_errors])


def test_single_session_target_is_the_p50_ratio_to_the_trivial_page():
    met = Results(latency=[_app("reference", 1, 0.030), _app("trivial", 1, 0.011)])
    assert "**: met (2.73x" in _line(met, "- **1 session")
    missed = Results(latency=[_app("reference", 1, 0.070), _app("trivial", 1, 0.011)])
    assert "**: missed (6.36x" in _line(missed, "- **1 session")
    assert "not measured" in _line(Results(), "- **1 session")


def test_loaded_targets_need_every_loaded_shape_within_its_ratio():
    runs = [
        _app("reference", 50, 1.2),
        _app("floor", 50, 1.0),
        _app("trivial", 50, 0.1),
        _app("reference", 100, 2.0, think=3),
        _app("floor", 100, 1.0, think=3),
        _app("trivial", 100, 0.5, think=3),
        # the 1-session shape is not a loaded one
        _app("reference", 1, 9.0),
        _app("floor", 1, 1.0),
    ]
    floor = _line(Results(latency=runs), "- **Loaded: reference p95 ≤ 1.5x")
    assert "missed" in floor
    assert "1.20x at 50 (think 0.5 s)" in floor
    assert "2.00x at 100 (think 3 s)" in floor
    assert "at 1 (" not in floor
    trivial = _line(Results(latency=runs), "- **Loaded: reference p95 ≤ 10x")
    assert "**: met (12" not in trivial
    assert "missed" in trivial  # 12x at 50
    runs[0] = _app("reference", 50, 0.9)
    runs[3] = _app("reference", 100, 1.4, think=3)
    assert "**: met" in _line(Results(latency=runs), "- **Loaded: reference p95 ≤ 1.5x")
    assert "**: met" in _line(Results(latency=runs), "- **Loaded: reference p95 ≤ 10x")
    # Errors in the reference's run miss the target whatever its p95.
    runs[0] = _app("reference", 50, 0.9, errors=Counter(timeout=1))
    assert "missed" in _line(Results(latency=runs), "- **Loaded: reference p95 ≤ 1.5x")


def test_first_failing_concurrency_is_the_lowest_level_with_an_error():
    runs = [
        _app("naive", 10, 1.0),
        _app("naive", 200, 1.0, errors=Counter({"socket closed": 3})),
        _app("naive", 100, 1.0, errors=Counter({"script error": 2})),
        _app("reference", 50, 1.0, errors=Counter(timeout=1)),
    ]
    assert first_failure(runs, "naive").sessions == 100
    assert first_failure(runs, "reference").sessions == 50
    assert first_failure(runs[:1], "naive") is None


def test_default_max_connections_target():
    levels = (10, 100, 500)
    clean = [_app("reference", n, 1.0) for n in levels]
    naive = [_app("naive", 10, 1.0), _app("naive", 100, 1.0, errors=Counter({"script error": 7}))]
    naive[1].error_examples = {"script error": "OperationalError: too many clients already"}
    line = _line(Results(connections=clean + naive, max_connections=100), "- **Default")
    assert "**: met (naive first fails at 100 sessions (script error: 7" in line
    assert "too many clients" in line
    assert "reference errors 0 at 10, 0 at 100, 0 at 500" in line
    # A script error's client message is Streamlit's redaction: the log says why instead.
    naive[1].error_examples = {"script error": "This app has encountered an error. ... redacted"}
    naive[1].logged_errors = Counter({"FATAL: sorry, too many clients already": 7})
    line = _line(Results(connections=clean + naive, max_connections=100), "- **Default")
    assert "redacted" not in line
    assert "its log: FATAL: sorry, too many clients already: 7" in line
    # The reference erring at any level misses it.
    erring = [*clean[:2], _app("reference", 500, 1.0, errors=Counter(timeout=4))]
    assert "**: missed" in _line(Results(connections=erring + naive), "- **Default")
    # So does a naive app that never failed, and a sweep that stopped short of 500.
    assert "**: missed (naive did not fail" in _line(
        Results(connections=[*clean, naive[0]]), "- **Default"
    )
    short = _line(Results(connections=clean[:2] + naive), "- **Default")
    assert "**: missed" in short
    assert "up to 100, not 500" in short


def test_sessions_served_at_equal_p95():
    runs = [
        _app("reference", 30, 2.0),  # sets the budget
        _app("reference", 40, 2.6),
        _app("reference", 30, 0.9, replicas=2),
        _app("reference", 40, 1.4, replicas=2),
        _app("reference", 51, 1.9, replicas=2),
        _app("reference", 60, 2.4, replicas=2),
    ]
    budget = scale_budget(runs, 30)
    assert budget == 2.0
    assert (served_within(runs, 1, budget), served_within(runs, 2, budget)) == (30, 51)
    line = _line(Results(scale=runs, scale_base=30), "- **2 replicas")
    assert "**: met (1.70x: 51 sessions against 30 within a p95 of 2.000 s" in line
    # Between levels: linear from the last level within the budget to the next one.
    assert interpolated_within(runs, 1, budget) == 30
    assert math.isclose(interpolated_within(runs, 2, budget), 51 + 9 * 0.1 / 0.5)
    assert "interpolated between levels 1.76x: 52.8 against 30.0" in line
    assert "lower bound" not in line
    # 2 replicas within the budget at the sweep's last level: the ratio is a lower bound.
    capped = _line(Results(scale=runs[:5], scale_base=30), "- **2 replicas")
    assert "both ratios are lower bounds" in capped
    # A level with errors is not served, whatever its p95.
    runs[4] = _app("reference", 51, 1.9, errors=Counter(timeout=1), replicas=2)
    assert served_within(runs, 2, budget) == 40
    assert "**: missed (1.33x" in _line(Results(scale=runs, scale_base=30), "- **2 replicas")
    assert "not measured" in _line(Results(), "- **2 replicas")


def test_process_samplers_read_proc():
    assert rss_bytes(os.getpid()) > 0
    sum(range(200_000))  # some CPU time, whatever the machine
    assert cpu_seconds(os.getpid()) > 0


def test_database_errors_are_read_from_a_servers_log(tmp_path):
    log = tmp_path / "dashboard.log"
    log.write_text(
        '{"level": "info", "message": "started"}\n'
        "\x1b[1;91mOperationalError: \x1b[0m\x1b[1m(\x1b[0mpsycopg2.OperationalError\x1b[1m)"
        "\x1b[0m FATAL:  sorry, too many clients already\n"
        "(psycopg2.OperationalError) FATAL:  sorry, too many clients already\n"
        "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 5 reached,"
        " connection timed out, timeout 10.00\n"
    )
    assert database_errors(log) == {
        "FATAL: sorry, too many clients already": 2,
        "QueuePool limit of size 5 overflow 5 reached": 1,
    }
