"""`make run DEMO_DATA=true`: the reference app's demo orders, served by both services."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.support.run_local import run_local


def test_demo_data_when_asked(tmp_path: Path):
    with run_local(tmp_path, DEMO_DATA="true", APP_SEED_ROWS="2000") as local:
        forecast = requests.get(f"{local.api_url}/api/v1/forecast", timeout=10)
        assert forecast.status_code == 200
        assert len(forecast.json()["history"]) == 24  # two seeded years of months
        assert "seeded 2000 orders" in local.log.read_text()
