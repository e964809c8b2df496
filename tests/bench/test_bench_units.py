"""The benchmark's own arithmetic and samplers, without servers."""

from __future__ import annotations

import os
from collections import Counter

from tests.bench.report import RunStats, options_verdict
from tests.bench.sample import cpu_seconds, rss_bytes


def _run(label: str, latencies: list[float], errors: Counter | None = None) -> RunStats:
    return RunStats(label, 10, 10, latencies, errors or Counter(), 10, label=label)


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


def test_process_samplers_read_proc():
    assert rss_bytes(os.getpid()) > 0
    sum(range(200_000))  # some CPU time, whatever the machine
    assert cpu_seconds(os.getpid()) > 0
