"""The `microgrid` command line (`main.py`): `microgrid graph "3*(a + b*c)" ...` draws a formula
(`graph.py`, which reads it with `expression.py`), `microgrid demo NAME` runs a demo (`demo.py`)."""
