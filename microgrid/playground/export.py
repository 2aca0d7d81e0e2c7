"""The playground's run as a flat microgrid script a learner can read, run and change.

The script builds the same data, network and optimiser as the session (the same seed gives the same
numbers), trains for as many steps as the page did, and, when the .npz of the trained weights lies
beside it, loads them with `Module.load` instead of training. It splits and batches the data with the
session's own functions (rules.py), written into it as their source.
"""

from __future__ import annotations

import inspect
import itertools

import numpy as np

from microgrid.playground import rules
from microgrid.playground.settings import Settings

OPTIMIZERS = {
    "gd": "mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)",
    "momentum": "mg.optim.Momentum(model.parameters(), lr=LEARNING_RATE, beta=0.9)",
    "rmsprop": "mg.optim.RMSprop(model.parameters(), lr=LEARNING_RATE)",
    "adam": "mg.optim.Adam(model.parameters(), lr=LEARNING_RATE)",
}
INITS = {
    "zeros": '"zeros"',
    "random": '"random"',
    "large": "lambda shape, seed: mg.nn.init.normal(shape, seed, scale=10.0)",
    "xavier": '"xavier"',
    "he": '"he"',
}
LAYERS = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU"}


def script(settings: Settings, steps: int, custom: tuple[np.ndarray, np.ndarray] | None) -> str:
    """The script's text; `custom` holds the user's own points, written into the script as CSV."""
    s = settings
    if custom is None:
        data = f"X, Y = mg.data.{s.dataset}(m={s.points}, noise={s.noise!r}, seed=SEED)\nY = Y.astype(float)"
        points = ""
    else:
        rows = "\n".join(f"{x1:.6g},{x2:.6g},{label:g}" for x1, x2, label in np.vstack([*custom]).T)
        points = f'\nPOINTS = """\\\n{rows}\n"""\n'
        data = (
            "table = np.array([line.split(',') for line in POINTS.split()], dtype=float)\n"
            "X, Y = table[:, :2].T.copy(), table[:, 2:].T.copy()"
        )
    modules = []
    sizes = s.sizes()
    for number, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        modules.append(f"mg.nn.Dense({n_in}, {n_out}, init=INIT, seed=rng, layer={number}),")
        if number <= len(s.layers):
            activation = s.layers[number - 1].activation
            if activation != "identity":
                modules.append(f"mg.nn.{LAYERS[activation]}(layer={number}),")
            if s.keep_prob < 1:
                modules.append(f"mg.nn.Dropout(keep_prob=KEEP_PROB, seed=rng, layer={number}),")
    network = "\n".join(f"    {line}" for line in modules)
    l2 = "\n    J = J + mg.nn.l2_penalty(model, L2, X_batch.shape[1])" if s.l2 else ""
    schedule = "mg.optim.InverseTimeDecay(optimizer, decay_rate=DECAY)" if s.decay else "None"
    shared = "\n\n".join(inspect.getsource(function) for function in (rules.split, rules.epoch_batches))
    return f'''"""A network trained in the microgrid playground, as a script.

Run:  python {{this file}} [weights.npz]
With the .npz the playground exported, the trained weights are loaded instead of trained again.
"""

import sys

import numpy as np

import microgrid as mg
from microgrid import Tensor
from microgrid.data import minibatches, train_test_split

# --- settings (from the playground) ---------------------------------------------------------
SEED = {s.seed}
STEPS = {steps}
LEARNING_RATE = {s.lr!r}
DECAY = {s.decay!r}
TEST_FRACTION = {s.test_fraction!r}
BATCH_SIZE = {s.batch_size}  # 0 (or at least the training set's size): the whole training set in every step
L2 = {s.l2!r}
KEEP_PROB = {s.keep_prob!r}
INIT = {INITS[s.init]}
{points}
# --- data ------------------------------------------------------------------------------------
# The playground's own rules for the test split and the batches (microgrid/playground/rules.py).


{shared}


{data}
X_train, Y_train, X_test, Y_test = split(X, Y, TEST_FRACTION, SEED)

# --- the network -----------------------------------------------------------------------------
rng = np.random.default_rng(SEED)
model = mg.nn.Sequential(
{network}
)
optimizer = {OPTIMIZERS[s.optimizer]}
schedule = {schedule}


def cost(X_batch, Y_batch):
    """J = cross-entropy of sigma(model(X)) against Y (+ the L2 term when it is on)."""
    J = mg.nn.sigmoid_cross_entropy(model(X_batch), Y_batch){l2}
    return J


def evaluate(X, Y):
    """(cost, accuracy) with dropout off."""
    model.eval()
    with mg.no_grad():
        Z = model(X)
        J = mg.nn.sigmoid_cross_entropy(Z, Y).item()
    model.train()
    return J, float(np.mean((Z.data > 0) == (Y > 0.5)))


# --- training ---------------------------------------------------------------------------------
def train():
    step = 0
    while step < STEPS:
        for X_batch, Y_batch in epoch_batches(X_train, Y_train, BATCH_SIZE, rng):
            J = cost(X_batch, Y_batch)
            optimizer.zero_grad()
            J.backward()
            optimizer.step()
            step += 1
            if step == STEPS:
                break
        if schedule is not None:
            schedule.step()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        model.load(sys.argv[1])
        print(f"loaded the trained weights from {{sys.argv[1]}}")
    else:
        train()
    J, accuracy = evaluate(X_train, Y_train)
    print(f"train cost {{J:.4f}}, accuracy {{accuracy:.1%}}")
    if X_test.shape[1]:
        J, accuracy = evaluate(X_test, Y_test)
        print(f"test cost {{J:.4f}}, accuracy {{accuracy:.1%}}")
'''
