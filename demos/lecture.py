"""The lecture's computation graph J = 3(a + b·c), forward and backward, printed step by step.

Run:  python demos/lecture.py   (or `make demo`)

Forward: u = b·c, v = a + u, J = 3v. Backward applies the chain rule from J back to a, b, c:
dJ/dv = 3, dJ/da = dJ/dv · dv/da = 3, dJ/db = dJ/dv · dv/du · du/db = 3 · c = 6, dJ/dc = 3 · b = 9.
"""

import microgrid as mg

# --- settings --------------------------------------------------------------------------------
A, B, C = 5.0, 3.0, 2.0

def main() -> None:
    # --- forward -----------------------------------------------------------------------------
    a = mg.tensor(A, requires_grad=True, name="a")
    b = mg.tensor(B, requires_grad=True, name="b")
    c = mg.tensor(C, requires_grad=True, name="c")
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    for intermediate in (u, v):  # only leaves keep .grad unless asked, as in PyTorch
        intermediate.retain_grad()
    J = 3 * v
    J.name = "J"
    J.retain_grad()

    # --- backward ----------------------------------------------------------------------------
    J.backward()

    print("J = 3(a + b·c) with a = 5, b = 3, c = 2")
    print(f"  forward:  u = b·c = {u.item():g},  v = a + u = {v.item():g},  J = 3v = {J.item():g}")
    print("  backward (chain rule, from J to the inputs):")
    for t in (J, v, u, a, b, c):
        assert t.grad is not None
        print(f"    dJ/d{t.name} = {t.grad.item():g}")


if __name__ == "__main__":
    main()
