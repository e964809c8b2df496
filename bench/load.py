"""The load generator: one asyncio task per simulated browser tab, bounded in count and time.

Each tab opens the stream, runs the page, then moves the "Order dates" slider
or changes "Regions" `reruns` times with a seeded random think time, timing
every rerun from send to ``script_finished``. Errors are counted by kind.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.ops.stream_client import RunResult, Session, StreamlitError


@dataclass
class TabResult:
    """What one simulated tab did: rerun latencies, Revenue texts seen, its error if any."""

    latencies: list[float] = field(default_factory=list)
    revenues: list[str] = field(default_factory=list)
    error: str | None = None


def _revenue(run: RunResult) -> str:
    return next((text for text in run.texts if text.startswith("Revenue:")), "")


# Slider ends are drawn from this many evenly spaced positions, as users drag
# to the ticks they see: with the region subsets that makes a few thousand
# distinct filters, so a cache sees both hits and misses, as in real traffic.
SLIDER_STOPS = 13


def _next_change(session: Session, rng: random.Random) -> tuple[str, object]:
    """A slider range between two of its stops, or a random subset of regions."""
    slider = session.widgets["Order dates"].proto
    if rng.random() < 0.7 or "Regions" not in session.widgets:
        stops = [
            slider.min + (slider.max - slider.min) * n / (SLIDER_STOPS - 1)
            for n in range(SLIDER_STOPS)
        ]
        return "Order dates", sorted(rng.sample(stops, 2))
    options = list(session.widgets["Regions"].proto.options)
    return "Regions", rng.sample(options, rng.randint(1, len(options)))


async def tab(
    base_url: str,
    reruns: int,
    rng: random.Random,
    deadline: float,
    think: float = 0.5,
    headers: Mapping[str, str] | None = None,
) -> TabResult:
    """One tab: open, run, then `reruns` widget changes; stops at `deadline` (monotonic).

    `headers` go with the WebSocket handshake: the sign-in cookie behind the edge.
    """
    result = TabResult()
    timeout = max(1.0, deadline - time.monotonic())
    try:
        async with Session(base_url, headers, timeout=timeout) as session:
            result.revenues.append(_revenue(await session.run()))
            for _ in range(reruns):
                await asyncio.sleep(rng.uniform(0, think))
                if time.monotonic() >= deadline:
                    raise StreamlitError("timeout", "bench deadline reached")
                label, value = _next_change(session, rng)
                run = await session.set(label, value)
                result.latencies.append(run.seconds)
                result.revenues.append(_revenue(run))
                if run.exceptions:
                    raise StreamlitError("script error", run.exceptions[0])
    except StreamlitError as error:
        result.error = error.kind
    return result


async def load(
    base_url: str,
    sessions: int,
    reruns: int,
    seed: int = 0,
    seconds: float = 60.0,
    headers: Mapping[str, str] | None = None,
) -> list[TabResult]:
    """Run `sessions` tabs at once, each with its own seeded RNG, all within `seconds`."""
    deadline = time.monotonic() + seconds
    tasks = [
        tab(base_url, reruns, random.Random(seed + n), deadline, headers=headers)  # noqa: S311
        for n in range(sessions)
    ]
    return await asyncio.gather(*tasks)


def errors_by_kind(results: list[TabResult]) -> Counter[str]:
    return Counter(result.error for result in results if result.error)
