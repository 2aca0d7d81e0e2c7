"""Data in the course's layout (one example per column): seeded toy datasets, the handwritten
digits, and mini-batches.

```python
X, Y = mg.data.flower(m=400, seed=1)
X_train, Y_train, X_test, Y_test = mg.data.load_digits(classes=(3, 8))  # 8×8 images, (64, m)
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
from microgrid.data.digits import load_digits

__all__ = [
    "Split",
    "blobs",
    "circles",
    "flower",
    "load_digits",
    "minibatches",
    "moons",
    "spirals",
    "train_test_split",
    "xor",
]
