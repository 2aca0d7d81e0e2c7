"""The lecture's computation graph J = 3(a + b·c): forward, backward, and backprop step by step.

Run:  python demos/graph.py [--fast] [--out DIR]      (or: microgrid demo graph)

Forward, left to right: u = b·c, v = a + u, J = 3v. Backward, right to left, the chain rule:
dJ/dv = 3, then dJ/da = dJ/dv · dv/da = 3 and dJ/du = 3, then dJ/db = dJ/du · du/db = 3c and
dJ/dc = 3b. The pictures are microgrid's own graph: the forward pass with each gradient beside
its value, the backward pass as the engine records it, and a web page that finalises one gradient
per step (open it in a browser: previous / next, or the arrow keys).

Writes forward.svg and .png, forward_backward.svg and .png, and backprop.html. (--fast changes
nothing here: the graph is tiny.)
"""

from __future__ import annotations

from microgrid.demos import kit

import microgrid as mg

# --- settings ----------------------------------------------------------------------------------
A, B, C = 5.0, 3.0, 2.0


def main(fast: bool = False, out: str | None = None) -> dict[str, float]:
    run = kit.Run("graph", fast, out)

    # --- forward -----------------------------------------------------------------------------
    a = mg.tensor(A, requires_grad=True, name="a")
    b = mg.tensor(B, requires_grad=True, name="b")
    c = mg.tensor(C, requires_grad=True, name="c")
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    J = 3 * v
    J.name = "J"
    for intermediate in (u, v, J):  # only leaves keep .grad unless asked, as in PyTorch
        intermediate.retain_grad()

    # --- backward ----------------------------------------------------------------------------
    J.backward()

    print(f"J = 3(a + b·c) with a = {A:g}, b = {B:g}, c = {C:g}")
    print(f"  forward:  u = b·c = {u.item():g},  v = a + u = {v.item():g},  J = 3v = {J.item():g}")
    print("  backward (chain rule, from J to the inputs):")
    for t in (J, v, u, a, b, c):
        assert t.grad is not None
        print(f"    dJ/d{t.name} = {t.grad.item():g}")

    # --- pictures ----------------------------------------------------------------------------
    pictures = {
        "forward": mg.draw(J),  # values, with each gradient beside its value
        "forward_backward": mg.draw(J, show="both"),  # and the backward pass the engine recorded
    }
    steps = mg.step_through(J)
    for name, picture in kit.progress(pictures.items(), "drawing", total=len(pictures)):
        for suffix in ("svg", "png"):
            picture.render(run.path(f"{name}.{suffix}"))
    steps.save_html(run.path("backprop.html"))

    assert a.grad is not None and b.grad is not None and c.grad is not None
    return run.finish(
        {
            "J": J.item(),
            "dJ/da": a.grad.item(),
            "dJ/db": b.grad.item(),
            "dJ/dc": c.grad.item(),
            "backprop_steps": len(steps.frames) - 1,
        }
    )


if __name__ == "__main__":
    main(**kit.parse_args(__doc__))
