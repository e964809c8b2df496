"""The image holds no secret, whether it sat in the build context or was used at run time.

A copy of the build context gets secrets planted where they really end up
(.streamlit/secrets.toml, secrets/, .env); the image built from it, after
containers ran with secret files mounted, is saved and every byte of every
layer, its config and history is searched for each value.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.image import build, podman, remove_image, unique
from tests.support.tools import ROOT

# Bulk and the user's own secrets stay out of the copy; the test plants its own.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "data", "*_cache", "__pycache__", "test-artifacts", "secrets", ".env"
)
# An app file every project has (the platform's): the scan must find its text,
# or it could not find anything.
KNOWN_FILE = ROOT / "app/dashboard/session.py"


def _plant(context: Path) -> list[str]:
    token = uuid.uuid4().hex
    planted = {
        ".streamlit/secrets.toml": f'api_key = "streamlit-secrets-{token}"\n',
        "secrets/APP_DATABASE_URL": f"postgresql://app:secrets-dir-{token}@db/app\n",
        ".env": f"POSTGRES_PASSWORD=dotenv-{token}\n",
    }
    for relative, text in planted.items():
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text(text)
    return [f"streamlit-secrets-{token}", f"secrets-dir-{token}", f"dotenv-{token}"]


@pytest.fixture(scope="module")
def planted_image(app_image: str, tmp_path_factory) -> Iterator[tuple[str, list[str]]]:
    """(tag, planted values) of the image built from a context holding secrets."""
    context = tmp_path_factory.mktemp("context") / "repo"
    shutil.copytree(ROOT, context, ignore=COPY_IGNORE)
    values = _plant(context)
    tag = f"localhost/{unique('planted')}:test"
    try:
        yield build(tag, context), values
    finally:
        remove_image(tag)


def _found_in_archive(archive: Path, needles: list[str]) -> set[str]:
    """Needles present anywhere in the file, read in overlapping chunks."""
    wanted = [n.encode() for n in needles]
    overlap = max(len(n) for n in wanted)
    found: set[str] = set()
    tail = b""
    with archive.open("rb") as stream:
        while chunk := stream.read(16 << 20):
            window = tail + chunk
            found.update(n.decode() for n in wanted if n in window)
            tail = window[-overlap:]
    return found


def test_layers_hold_no_secret(planted_image, data_volume: str, secrets, tmp_path: Path):
    """`data_volume` ran the image with the secret files mounted before this scan."""
    tag, planted = planted_image
    archive = tmp_path / "image.tar"
    podman("save", "--format", "docker-archive", "--output", str(archive), tag, timeout=300)
    found = _found_in_archive(
        archive, [KNOWN_FILE.read_text().splitlines()[0], *planted, *secrets.values]
    )
    assert KNOWN_FILE.read_text().splitlines()[0] in found, "the scan does not see layer contents"
    assert found == {KNOWN_FILE.read_text().splitlines()[0]}


def test_config_env_and_history_hold_no_secret(planted_image, secrets):
    tag, planted = planted_image
    inspected = json.loads(podman("image", "inspect", tag).stdout)[0]
    history = podman("history", "--no-trunc", "--format", "json", tag).stdout
    text = json.dumps(inspected) + history
    assert "/opt/venv/bin" in text  # the config is really in what we search
    for value in (*planted, *secrets.values):
        assert value not in text
