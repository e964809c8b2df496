"""Fixtures of the pipeline layer: the workflows run by act in a fresh clone,
a registry on loopback they publish to, and the cosign key pair that stands in
for keyless signing (tests/support/act.py, tests/support/registry.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import registry as registries
from tests.support.act import fresh_clone

# Inside act's own run of ci.yml's test job, this layer would start act again.
collect_ignore_glob = ["test_*.py"] if os.environ.get("ACT") == "true" else []


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this checkout's HEAD (or PIPELINE_REF, e.g. main)."""
    return fresh_clone(
        tmp_path_factory.mktemp("pipeline") / "repo", os.environ.get("PIPELINE_REF", "HEAD")
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.Registry]:
    with registries.running(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> registries.KeyPair:
    return registries.key_pair(tmp_path_factory.mktemp("cosign"))
