"""The course demos, one flat script each: `python demos/NAME.py` or `microgrid demo NAME`.

Installed, this folder is the package `microgrid.demos`; `microgrid demo --list` lists it.
"""

# The order of the course, which `microgrid demo --list` follows.
COURSE_ORDER = (
    "graph",
    "logistic",
    "planar",
    "deep",
    "digits",
    "init",
    "activations",
    "vanishing",
    "optimizers",
    "gradcheck",
    "regularization",
)
