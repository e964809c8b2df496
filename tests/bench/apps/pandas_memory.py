"""The overview page over data already in memory: no database or API call per rerun.

The limit caching can approach: the same page as the reference, its answers
computed from the orders read once per process, each distinct filter once
(memory.py). The chart shows history only: a forecast is the API's work.
"""

from tests.bench.apps import layout
from tests.bench.apps.memory import DIMENSIONS, answers

filters, _months = layout.sidebar(DIMENSIONS)
layout.body(*answers(filters))
