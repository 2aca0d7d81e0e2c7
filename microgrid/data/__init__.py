"""Data in the course's layout (one example per column): seeded toy datasets and mini-batches.

```python
X, Y = mg.data.flower(m=400, seed=1)
for X_t, Y_t in mg.data.minibatches(X, Y, batch_size=64, seed=epoch):
    ...
```
"""

from microgrid.data.batches import minibatches
from microgrid.data.datasets import (
    Split,
    blobs,
    circles,
    flower,
    moons,
    spirals,
    train_test_split,
    xor,
)

__all__ = [
    "Split",
    "blobs",
    "circles",
    "flower",
    "minibatches",
    "moons",
    "spirals",
    "train_test_split",
    "xor",
]
