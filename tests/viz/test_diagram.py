"""Graph -> DOT: nodes, edges, labels, styles, clusters, collapsing, the backward graph, gradcheck colours.

Tests read the DOT text's structure (node and edge statements, clusters), never layout bytes.
"""

from __future__ import annotations

import html
import re
import tracemalloc

import graphviz
import numpy as np
import pytest
from broken_ops import WrongTanh
from pictures import central_difference, cluster_body, dot_edges, dot_nodes, key_of, lecture, producer

import microgrid as mg
from microgrid.autograd import graph
from microgrid.viz import dot
from microgrid.viz.diagram import DiagramTooLarge
from microgrid.viz.dot import STYLES
from microgrid.viz.graph import grad_name


def legend_of(source: str) -> str:
    """The legend table of a picture, whether drawn as a node or as the graph's label."""
    start = source.index("<B>legend</B>")
    return source[start : source.index("</TABLE>", start)]


# --- the forward graph ------------------------------------------------------------------------------


def test_forward_graph_has_a_node_per_tensor_and_per_op_in_data_flow_order() -> None:
    J, *_ = lecture()
    source = mg.draw(J, legend=False).source
    nodes = dot_nodes(source)
    assert len(nodes) == 7 + 3  # tensors a, b, c, 3, u, v, J; ops mul, add, mul
    assert len(dot_edges(source)) == 3 * 3  # each binary op: two inputs in, one output out
    u, b, c = key_of(source, "u = 6"), key_of(source, "b = 3"), key_of(source, "c = 2")
    mul = producer(source, u)
    assert (b, mul, "") in dot_edges(source) and (c, mul, "") in dot_edges(source)
    assert "<B>mul</B>" in nodes[mul] and "b · c = 3 · 2 = 6" in nodes[mul]  # formula in real names
    assert "a · b" not in nodes[mul] and "db ← du · c; dc ← du · b" in nodes[mul]  # tooltip: the rules
    assert "<B>add</B>" in nodes[producer(source, key_of(source, "v = 11"))]


def test_inputs_parameters_constants_and_output_have_their_own_styles_and_a_legend() -> None:
    X = mg.tensor(np.arange(6.0).reshape(2, 3), name="X")
    w = mg.tensor([[0.5, -0.5]], requires_grad=True, name="w")
    J = (w @ X * 2.0).sum()
    J.name = "J"
    source = mg.draw(J).source
    nodes = dot_nodes(source)
    fill = {kind: STYLES[kind].get("fillcolor", "none") for kind in STYLES}
    assert f'fillcolor="{fill["input"]}"' in nodes[key_of(source, "X (2, 3)")]
    assert f'fillcolor="{fill["parameter"]}"' in nodes[key_of(source, "w (1, 2)")]
    assert "dashed" in nodes[key_of(source, "2")]
    assert f'fillcolor="{fill["output"]}"' in nodes[key_of(source, "J = ")]
    legend = legend_of(source)
    for text in ("input (data)", "parameter (requires grad)", "constant", "output"):
        assert text in legend
    assert "gradient" not in legend  # no kind drawn that the picture does not use


def test_values_are_numbers_for_scalars_and_tiny_arrays_and_statistics_for_larger_ones() -> None:
    small = mg.tensor([1.5, -2.0, 3.0], requires_grad=True, name="small")
    large = mg.tensor(np.arange(10.0), requires_grad=True, name="large")
    J = (small.sum() + large.sum()) * 1.0
    source = mg.draw(J).source
    assert "[1.5, -2, 3]" in dot_nodes(source)[key_of(source, "small (3,)")]
    large_node = dot_nodes(source)[key_of(source, "large (10,)")]
    assert "min 0  mean 4.5  max 9" in large_node


def test_gradients_appear_beside_the_values_once_backward_has_run() -> None:
    J, *_, u, v = lecture()
    before = mg.draw(J).source
    assert "<B>da = " not in before
    for t in (J, u, v):
        t.retain_grad()
    J.backward()
    after = mg.draw(J).source
    # Each gradient as course notation beside its tensor; values from the chain rule by hand.
    expected = {"a = 5": "da = 3", "b = 3": "db = 6", "c = 2": "dc = 9", "u = 6": "du = 3"}
    expected["v = 11"] = "dv = 3"
    for value, gradient in expected.items():
        assert f"<B>{gradient}</B>" in dot_nodes(after)[key_of(after, value)]
    assert f'BGCOLOR="{dot.GRADIENT_CELL}"' in dot_nodes(after)[key_of(after, "a = 5")]


def test_unnamed_tensors_are_named_by_their_formula_and_expression_names_get_parenthesised_gradients() -> (
    None
):
    x = mg.tensor(2.0, requires_grad=True, name="x")
    y = mg.tanh(x * x)
    source = mg.draw(y).source
    titles = re.findall(r"<B>([^<]*)</B>", source)
    assert "x² = 4" in titles and "tanh x² = 0.9993" in titles  # x·x, unnamed
    z = y
    for _ in range(4):  # a formula too long to be a name: its unnamed operands are written …
        z = mg.sin(z) + x
    long_names = re.findall(r"<B>([^<]*)</B>", mg.draw(z).source)
    assert any(t.startswith("sin … = ") for t in long_names)
    assert not any(re.fullmatch(r"t\d+.*", t) for t in long_names)
    assert grad_name("W[1]") == "dW[1]"
    assert grad_name("b*c") == "d(b*c)"


def test_operand_order_is_read_off_the_formula_in_real_names_never_the_slots() -> None:
    W = mg.tensor(np.ones((2, 3)), requires_grad=True, name="W")
    A = mg.tensor(np.ones((3, 4)), name="A")
    source = mg.draw((W @ A) ** 2.0, legend=False).source
    matmul = dot_nodes(source)[producer(source, key_of(source, "W @ A (2, 4)"))]
    assert "W @ A" in matmul
    power = dot_nodes(source)[producer(source, key_of(source, "(W @ A)^2 (2, 4)"))]
    assert "(W @ A)^2" in power and "a^b" not in power
    assert all("label" not in attrs for _, _, attrs in dot_edges(source))  # no a / b on the arrows


def test_drawing_never_changes_the_graph_or_the_stored_gradients() -> None:
    J, a, b, c, u, v = lecture()
    ops_before = [t.op for t in (J, u, v)]
    mg.draw(J, show="both")
    with pytest.warns(UserWarning, match=r"u \(\) is not a leaf"):
        assert a.grad is None and u.grad is None  # the backward drawing ran its own walk
    J.backward()
    grads_before = [t.grad.item() for t in (a, b, c)]
    mg.draw(J, show="backward")
    mg.step_through(J)
    assert [t.grad.item() for t in (a, b, c)] == grads_before
    assert [t.op for t in (J, u, v)] == ops_before
    assert graph([J]) == graph([J])  # nothing new was attached


# --- the backward graph ---------------------------------------------------------------------------


def two_layer_network(m: int = 400) -> tuple[mg.Tensor, list[mg.Tensor]]:
    """Z[1] = W[1] X + b[1], A[1] = tanh, Z[2] = W[2] A[1] + b[2], J = mean of σ(Z[2]) squared."""
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((2, m)), name="X")
    A, params = X, []
    for layer, (n_out, n_in) in enumerate([(4, 2), (1, 4)], start=1):
        with mg.scope(f"layer {layer}"):
            W = mg.tensor(rng.standard_normal((n_out, n_in)), requires_grad=True, name=f"W[{layer}]")
            b = mg.tensor(np.zeros((n_out, 1)), requires_grad=True, name=f"b[{layer}]")
            Z = W @ A + b
            Z.name = f"Z[{layer}]"
            A = mg.tanh(Z) if layer == 1 else mg.sigmoid(Z)
            A.name = f"A[{layer}]"
            params += [W, b]
    J = (A * A).mean()
    J.name = "J"
    return J, params


def test_backward_graph_draws_the_sum_over_broadcast_examples_as_its_own_node() -> None:
    J, _ = two_layer_network()
    source = mg.draw(J, show="backward").source
    sum_op = dot_nodes(source)[producer(source, key_of(source, "db[1] (4, 1)"))]
    assert "<B>sum axis=" in sum_op and "keepdims" in sum_op
    assert "(4, 400) → (4, 1)" in sum_op  # why db sums over the examples


def test_backward_graph_gradients_carry_course_names_and_the_values_of_finite_differences() -> None:
    J, *_ = lecture()
    source = mg.draw(J, show="backward").source
    titles = re.findall(r"<B>([^<]*)</B>", source)

    def J_of_b(value: float) -> float:
        return 3 * (5.0 + value * 2.0)

    assert f"db = {central_difference(J_of_b, 3.0):.4g}" in titles
    assert {"dJ = 1", "dv = 3", "du = 3", "da = 3"} <= set(titles)


def test_accumulation_from_several_consumers_is_drawn_as_an_add() -> None:
    x = mg.tensor(3.0, requires_grad=True, name="x")
    y = mg.tensor(2.0, requires_grad=True, name="y")
    J = x * y + x  # x has two consumers: mul and add
    J.name = "J"
    source = mg.draw(J, show="backward").source
    dx = key_of(source, "dx = ")
    assert "<B>add</B>" in dot_nodes(source)[producer(source, dx)]
    drawn = float(re.search(r"<B>dx = ([^<]*)</B>", source).group(1))  # type: ignore[union-attr]
    assert drawn == pytest.approx(central_difference(lambda v: v * 2.0 + v, 3.0))


def test_forward_and_backward_side_by_side_are_two_clusters_with_mirrored_gradient_edges() -> None:
    J, *_ = lecture()
    source = mg.draw(J, show="both").source
    assert re.search(r"label=<<B>forward</B>>", source)
    assert re.search(r"label=<<B>backward: gradients flow right to left</B>>", source)
    edges = dot_edges(source)
    backward = [attrs for _, _, attrs in edges if "dir=back" in attrs]
    saved = [attrs for _, _, attrs in edges if "dashed" in attrs]
    # mul's 2 + 2 arrows for dv, db, dc, and add's du = dv · 1, da = dv · 1 (the 3 is in dv's formula)
    assert len(backward) == 2 * 3 + 2 and all("constraint" not in attrs for attrs in backward)
    assert saved and all("constraint=false" in attrs for attrs in saved)  # layouts stay apart
    # Saved values come from the forward nodes themselves, not copies.
    assert {tail for tail, _, attrs in edges if "dashed" in attrs} <= {
        key_of(source, "b = 3"),
        key_of(source, "c = 2"),
        key_of(source, "3"),
    }
    top_to_bottom = mg.draw(J, show="both", rankdir="TB").source
    assert "rankdir=TB" in top_to_bottom and "flow bottom to top" in top_to_bottom


def test_backward_nodes_are_grouped_with_the_layer_of_the_gradient_they_feed() -> None:
    J, _ = two_layer_network(m=5)
    source = mg.draw(J, show="backward").source
    layer_1, layer_2 = cluster_body(source, "layer 1"), cluster_body(source, "layer 2")
    assert "<B>dW[1] (4, 2)</B>" in layer_1 and "<B>dW[2]" not in layer_1
    assert "<B>dW[2] (1, 4)</B>" in layer_2 and "<B>db[2] (1, 1)</B>" in layer_2


# --- scopes, collapsing, size -----------------------------------------------------------------------


def test_scopes_become_nested_clusters() -> None:
    with mg.scope("network"):
        x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
        with mg.scope("layer 1"):
            h = mg.tanh(x)
            h.name = "h"
    J = h.sum()
    J.name = "J"
    source = mg.draw(J).source
    assert source.count("subgraph cluster") == 2
    network, layer = cluster_body(source, "network"), cluster_body(source, "layer 1")
    assert layer in network  # nested
    assert "<B>h (2,)" in layer and "<B>x (2,)" in network and "<B>x (2,)" not in layer
    assert "<B>J = " not in network


def deep_network(layers: int = 10) -> mg.Tensor:
    rng = np.random.default_rng(0)
    A = mg.tensor(rng.standard_normal((3, 20)), name="X")
    for layer in range(1, layers + 1):
        with mg.scope(f"layer {layer}"):
            W = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True, name=f"W[{layer}]")
            b = mg.tensor(np.zeros((3, 1)), requires_grad=True, name=f"b[{layer}]")
            A = mg.tanh(W @ A + b)
    return A.mean()


def test_collapse_draws_each_scope_as_one_box_listing_its_ops_and_parameters() -> None:
    J = deep_network(10)
    full = mg.draw(J, legend=False, max_nodes=None)
    collapsed = mg.draw(J, collapse=True, legend=False)
    boxes = {k: v for k, v in dot_nodes(collapsed.source).items() if "box3d" in v}
    assert len(boxes) == 10
    assert full.node_count > 5 * collapsed.node_count
    layer_3 = next(v for v in boxes.values() if "<B>layer 3</B>" in v)
    assert "3 ops: matmul," in layer_3 and "add, tanh" in layer_3
    assert "W[3] (3, 3)" in layer_3 and "b[3] (3, 1)" in layer_3
    # Boxes are chained in data-flow order, with no edge inside a box.
    edges = dot_edges(collapsed.source)
    assert all(tail != head for tail, head, _ in edges)
    both = mg.draw(J, show="both", collapse=True, legend=False)
    titles = re.findall(r"<B>([^<]*)</B>", both.source)
    assert "layer 3" in titles and "layer 3 (backward)" in titles


def test_a_graph_over_the_size_limit_is_refused_with_advice_to_collapse() -> None:
    J = deep_network(30)
    with pytest.raises(DiagramTooLarge, match=r"nodes, more than max_nodes=400.*collapse=True"):
        mg.draw(J, show="both")
    assert mg.draw(J, show="both", collapse=True).node_count < 100
    x = mg.tensor(1.0, requires_grad=True)
    for _ in range(300):
        x = x * 1.0
    with pytest.raises(DiagramTooLarge, match=r"mg\.scope"):  # no scopes to collapse: say how to make them
        mg.draw(x)


@pytest.mark.parametrize("show", ["forward", "backward", "both"])
def test_a_long_chain_is_refused_while_its_graph_is_collected_not_after_drawing_it(show: str) -> None:
    x = mg.tensor(1.0, requires_grad=True, name="x")
    for _ in range(20_000):
        x = x * 1.0
    tracemalloc.start()
    try:
        with pytest.raises(DiagramTooLarge, match="at least 401 nodes, more than max_nodes=400") as refused:
            mg.draw(x, show=show, max_nodes=400)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.counted == 401  # stopped at the first node over the limit, of 40,000
    assert peak < 2_000_000  # bytes: no walk, no picture of 20,000 ops (drawn, they take 50 MB and more)


def test_drawing_hundreds_of_nodes_is_iterative() -> None:
    x = mg.tensor(1.0, requires_grad=True, name="x")
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0
    assert mg.draw(y, show="both", max_nodes=None).node_count == 2 * 3000 * 2 + 3000 + 2


# --- gradient check on the picture ------------------------------------------------------------------


def test_gradcheck_colours_parameters_so_a_wrong_backward_rule_is_located() -> None:
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((2, 5)), name="X")
    W1 = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W[1]")
    W2 = mg.tensor(rng.standard_normal((1, 3)), requires_grad=True, name="W[2]")

    def cost(W1: mg.Tensor, W2: mg.Tensor) -> mg.Tensor:
        A1 = WrongTanh.apply(W1 @ X)  # layer 1 has the bug
        return mg.tanh(W2 @ A1).sum()

    report = mg.gradcheck(cost, [W1, W2])
    assert not report["W[1]"].passed and report["W[2]"].passed
    source = mg.draw(cost(W1, W2), gradcheck=report).source
    nodes = dot_nodes(source)
    w1, w2 = nodes[key_of(source, "W[1] (3, 2)")], nodes[key_of(source, "W[2] (1, 3)")]
    wrong = dot.gradcheck_fill(report["W[1]"].difference, passed=False)
    assert f'fillcolor="{wrong}"' in w1 and f'fillcolor="{dot.GRADCHECK_PASSED}"' in w2
    assert wrong == dot.GRADCHECK_BANDS[-1][1]  # a wrong rule is far off: the red band
    assert f"gradcheck {report['W[1]'].difference:.1e}" in w1
    assert "gradcheck: wrong gradient" in legend_of(source)
    backward = mg.draw(cost(W1, W2), show="backward", gradcheck=report).source
    assert f'fillcolor="{wrong}"' in dot_nodes(backward)[key_of(backward, "dW[1] (3, 2)")]


# --- the Diagram object and bad input --------------------------------------------------------------


def test_diagram_offers_dot_source_and_a_digraph_to_restyle() -> None:
    J, *_ = lecture()
    drawn = mg.draw(J)
    assert isinstance(drawn.digraph, graphviz.Digraph)
    assert drawn.source == drawn.digraph.source and drawn.source.startswith("digraph")
    drawn.digraph.attr(bgcolor="lightyellow")
    assert "bgcolor=lightyellow" in drawn.source  # restyling shows in the source
    assert "10 nodes" in repr(mg.draw(J, legend=False))


def test_bad_arguments_are_refused_with_the_allowed_values() -> None:
    J, *_ = lecture()
    with pytest.raises(ValueError, match="show must be one of forward, backward, both"):
        mg.draw(J, show="sideways")
    with pytest.raises(ValueError, match="rankdir must be LR"):
        mg.draw(J, rankdir="RL")
    with pytest.raises(TypeError, match="pass a Tensor"):
        mg.draw(3.0)  # type: ignore[arg-type]
    with pytest.raises(mg.GradError, match="does not require grad"):
        mg.draw(mg.tensor(2.0) * 3, show="backward")


# --- the course's networks, drawn with the course's names -------------------------------------------


def course_network(hidden: str = "tanh", loss: str = "sigmoid", m: int = 400) -> mg.Tensor:
    """mlp([2, 4, C]) on data passed as numpy arrays, as a learner writes it: the layer and the
    loss name them X and Y. loss: "sigmoid" (cross-entropy on the logits), "bce" (on σ(Z[2])),
    "softmax" (three classes, labels as class indices)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, m))
    if loss == "softmax":
        model = mg.nn.mlp([2, 4, 3], hidden=hidden, seed=1)
        return mg.nn.softmax_cross_entropy(model(X), rng.integers(0, 3, m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    if loss == "bce":
        return mg.nn.binary_cross_entropy(mg.nn.mlp([2, 4, 1], hidden=hidden, output="sigmoid", seed=1)(X), Y)
    return mg.nn.sigmoid_cross_entropy(mg.nn.mlp([2, 4, 1], hidden=hidden, seed=1)(X), Y)


def node_texts(source: str) -> dict[str, list[str]]:
    """Node key -> the title and lines of its label (the legend left out)."""
    return {
        key: [html.unescape(text) for text in re.findall(r">([^<>]+)</(?:B|FONT)>", attrs)]
        for key, attrs in dot_nodes(source).items()
        if key != "legend"
    }


def op_lines(source: str) -> list[str]:
    """Every line under an op's name, in every op node."""
    nodes = dot_nodes(source)
    return [
        line for key, texts in node_texts(source).items() if "ellipse" in nodes[key] for line in texts[1:]
    ]


SLOT = re.compile(r"(?<![\w\[])[ab](?![A-Za-z0-9_\[])")  # a or b on its own (bᵀ too): a slot name


@pytest.mark.parametrize(
    ("hidden", "loss"),
    [("tanh", "sigmoid"), ("relu", "sigmoid"), ("relu", "softmax"), ("relu", "bce")],
    ids=["tanh network", "relu network", "softmax classifier", "binary cross-entropy"],
)
@pytest.mark.parametrize("show", ["forward", "backward", "both"])
def test_the_course_networks_are_drawn_with_names_never_constants_made_up_names_or_slots(
    hidden: str, loss: str, show: str
) -> None:
    source = mg.draw(course_network(hidden, loss), show=show).source
    texts = [text for node in node_texts(source).values() for text in node]
    assert texts and not [t for t in texts if re.match(r"d?\(?t\d+\b", t)]  # no t3, dt3, d(t3)
    assert not [t for t in texts if "constant" in t or "array" in t]
    assert not [line for line in op_lines(source) if SLOT.search(line)]
    titles = {texts[0] for texts in node_texts(source).values()}
    Y = "Y (3, 400)" if loss == "softmax" else "Y (1, 400)"  # one-hot columns made from indices
    assert {"X (2, 400)", Y} <= titles  # (the backward pass reads X for dW[1] = dZ[1] @ Xᵀ)


def test_the_softmax_backward_picture_reads_softmax_of_Z_minus_Y() -> None:
    J = course_network("tanh", "softmax")
    source = mg.draw(J, show="backward").source
    assert "dZ[2] = (softmax(Z[2]) − Y) · (dJ · 1/m)" in op_lines(source)
    # softmax(Z[2]) is one node standing for the five ops that computed it, reading Z[2] once
    (softmax,) = [key for key, texts in node_texts(source).items() if texts[0] == "softmax"]
    texts = node_texts(source)[softmax]
    assert texts[1] == "softmax(Z[2])" and "5 ops: shift, sub, exp, sum, div" in " ".join(texts)
    assert [t for t in node_texts(source).values() if t[0].startswith(("shift", "exp", "div"))] == []
    assert re.search(rf"{key_of(source, 'Z[2] (3, 400)')} -> {softmax}\b", source)
    Z2, Y = J.op.inputs  # type: ignore[union-attr]
    probabilities = np.exp(Z2.data) / np.exp(Z2.data).sum(axis=0, keepdims=True)
    expected = (probabilities - Y.data) / Z2.shape[1]
    drawn = dot_nodes(source)[key_of(source, "dZ[2] (3, 400)")]
    stats = re.search(r"min (\S+)  mean (\S+)  max ([^<\s]+)", drawn).groups()  # type: ignore[union-attr]
    assert [float(v) for v in stats] == pytest.approx(
        [expected.min(), 0.0, expected.max()], rel=1e-2, abs=1e-9
    )


def test_the_backward_picture_reads_as_the_course_equations() -> None:
    J = course_network("tanh", "sigmoid")
    source = mg.draw(J, show="backward").source
    lines = op_lines(source)
    for equation in (
        "dZ[2] = (σ(Z[2]) − Y) · (dJ · 1/m)",  # (A[2] − Y)/m, the 1/m where it enters
        "dJ · 1/m = 1 · 1/400 = 1/400",
        "dW[2] = dZ[2] @ A[1]ᵀ",
        "db[2] = Σ dZ[2]",
        "dA[1] = W[2]ᵀ @ dZ[2]",
        "dZ[1] = dA[1] ⊙ (1 − A[1]²)",
        "dW[1] = dZ[1] @ Xᵀ",
        "db[1] = Σ dZ[1]",
    ):
        assert equation in lines
    nodes = dot_nodes(source)
    for db, shapes in (("db[2] (1, 1)", "(1, 400) → (1, 1)"), ("db[1] (4, 1)", "(4, 400) → (4, 1)")):
        summed = nodes[producer(source, key_of(source, db))]
        assert "sum axis=1 keepdims" in summed and shapes in summed  # the sum over the m examples
    # dZ[2] is (σ(Z[2]) − Y)/m: its drawn statistics are those of that formula, computed here.
    Z2, Y = J.op.inputs  # type: ignore[union-attr]
    expected = (1 / (1 + np.exp(-Z2.data)) - Y.data) / Y.size
    drawn = nodes[key_of(source, "dZ[2] (1, 400)")]
    stats = re.search(r"min (\S+)  mean (\S+)  max ([^<\s]+)", drawn).groups()  # type: ignore[union-attr]
    assert [float(v) for v in stats] == pytest.approx(
        [expected.min(), expected.mean(), expected.max()], rel=1e-2
    )


def test_the_lecture_example_shows_each_chain_rule_step_with_real_names_and_numbers() -> None:
    J, *_ = lecture()
    source = mg.draw(J, show="backward").source
    lines = op_lines(source)
    assert "dv = dJ · 3 = 1 · 3 = 3" in lines
    assert "dc = du · b = 3 · 3 = 9" in lines and "db = du · c = 3 · 2 = 6" in lines
    # add passes its gradient on unchanged: no op, but the chain rule's step on the arrow
    passed = {attrs for _, _, attrs in dot_edges(source) if "dv · 1" in attrs}
    assert {label for attrs in passed for label in re.findall(r'label="([^"]*)"', attrs)} == {
        "du = dv · 1",
        "da = dv · 1",
    }
    du, dc = key_of(source, "du = 3"), key_of(source, "dc = 9")
    assert (du, producer(source, dc)) in {(tail, head) for tail, head, _ in dot_edges(source)}


def test_a_relu_mask_and_the_labels_keep_their_names() -> None:
    source = mg.draw(course_network("relu", "bce"), show="backward").source
    lines = op_lines(source)
    assert "dZ[1] = dA[1] ⊙ (Z[1] > 0)" in lines and "Z[1] > 0" in lines
    titles = {texts[0] for texts in node_texts(source).values()}
    assert {"1 − Y (1, 400)", "clip(A[2]) (1, 400)"} <= titles  # derived from Y and A[2], by name


def test_collapse_draws_the_cost_as_one_box() -> None:
    J = course_network("tanh", "sigmoid")
    for show in ("forward", "backward", "both"):
        source = mg.draw(J, show=show, collapse=True, legend=False).source
        boxes = [texts[0] for texts in node_texts(source).values() if texts and texts[0].startswith("cost")]
        loose = [
            texts[0] for key, texts in node_texts(source).items() if "box3d" not in dot_nodes(source)[key]
        ]
        assert len(boxes) == (2 if show == "both" else 1)
        # Outside the boxes: only data, and in the backward a forward value two layers' rules read.
        assert set(loose) <= {"X (2, 400)", "Y (1, 400)", "A[1] (4, 400)"}


def test_a_parameter_shows_its_number_and_a_constant_its_fraction() -> None:
    from microgrid.viz.graph import number_text, tensor_text

    b = mg.tensor(0.1, requires_grad=True, name="b")
    assert tensor_text("b", b)[0] == "b = 0.1"  # not 1/10: training changes it
    assert number_text(np.array(1 / 400)) == "1/400"  # the 1/m of a mean


def test_a_negative_number_in_a_formula_keeps_its_brackets() -> None:
    x = mg.tensor(-2.0, requires_grad=True, name="x")
    J = -(x * 3)
    source = mg.draw(J).source
    assert "−(-6)" in source and "−-6" not in source
