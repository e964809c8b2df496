"""Reading Prometheus metrics as a scraper does (prometheus_client's own parser)."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    """Every sample at `url`: (sample name, labels) -> value."""
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def total(scrapes: list[Samples], name: str, **labels: str) -> float:
    """`value` added up over several endpoints (the replicas of one service)."""
    return sum(value(s, name, **labels) for s in scrapes)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}
