"""The profile's arithmetic on a py-spy raw file written here (py-spy runs in `make profile`)."""

from pathlib import Path

import pytest

from tests.bench.profile import callers, collapse, script_lines, shares

RAW = """\
main (app.py:1);exec_func_with_error_handling (s/x.py:2);get_option (streamlit/config.py:225) 3
main (app.py:1);exec_func_with_error_handling (s/x.py:2);read (sqlalchemy/engine.py:9) 5
<module> (page.py:4);_enqueue (streamlit/delta_generator.py:7) 2
main (app.py:1);exec_func_with_error_handling (s/x.py:2);get_option (streamlit/config.py:225) 1
"""


def test_shares_count_each_sample_in_every_group_its_stack_passes(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text(RAW)
    stacks = collapse(raw)
    assert sum(stacks.values()) == 11
    share = shares(stacks)
    assert share["script runs (all app code)"] == pytest.approx(9 / 11)
    assert share["config.get_option"] == pytest.approx(4 / 11)
    assert share["database reads (SQLAlchemy)"] == pytest.approx(5 / 11)
    assert share["enqueueing deltas (_enqueue)"] == pytest.approx(2 / 11)
    assert share["pandas"] == 0
    assert callers(stacks, "get_option (streamlit/config.py") == [
        ("exec_func_with_error_handling (s/x.py:2)", pytest.approx(4 / 11))
    ]
    assert script_lines(stacks) == [("<module> (page.py:4)", pytest.approx(2 / 11))]
