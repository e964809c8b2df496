"""The overview page over orders held in memory, answered with pandas: "in-memory pandas".

Not a floor: every filter not seen before in this process is computed with
pandas over all the orders (memory.py), so a rerun's cost is that work plus
Streamlit's rendering. Kept as a comparison row: what "load everything into
a DataFrame and filter it" costs. The chart shows history only.
"""

from tests.bench.apps import layout
from tests.bench.apps.memory import DIMENSIONS, answers

filters, _months = layout.sidebar(DIMENSIONS)
layout.body(*answers(filters))
