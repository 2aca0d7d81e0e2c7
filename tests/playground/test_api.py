"""The playground's web API through Starlette's TestClient: sessions, training, validation, files, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

if not os.environ.get("CI"):  # under CI a missing package is a failure, not a skip
    pytest.importorskip(
        "starlette", reason="the playground extra is not installed: pip install -e '.[playground]'"
    )
    pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (the dev extra)")

from starlette.testclient import TestClient

import microgrid as mg
from microgrid.playground import session as session_module
from microgrid.playground.app import assets, create_app
from microgrid.playground.session import Session
from microgrid.playground.settings import parse
from microgrid.replay import Replay

BASE = "http://127.0.0.1"
JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}  # as the page uploads a file (api.js)


@pytest.fixture
def client() -> TestClient:
    with TestClient(create_app(), base_url=BASE) as client:
        yield client


def new_session(client: TestClient) -> str:
    answer = client.post("/api/session", json={})
    assert answer.status_code == 200
    return str(answer.json()["id"])


def state(client: TestClient, sid: str) -> dict:
    answer = client.get(f"/api/s/{sid}/state")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def session_of(client: TestClient, sid: str) -> Session:
    return client.app.state.sessions.by_id[sid]  # type: ignore[attr-defined]


# --- the page and its files ------------------------------------------------------------------------


def test_the_page_and_every_asset_are_served_with_their_types(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script type="module" src="/static/main.js">' in page.text
    names = set(assets())
    assert {"index.html", "main.js", "ui.js", "api.js", "plots.js", "style.css", "widget.js"} <= names
    for name in names:
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/static/ui.js").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/..%2Fapp.py",
        "/static/%2e%2e%2fsession.py",
        "/static/..%5C..%5Cpyproject.toml",
        "/static/app.py",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/api/s/..%2F..%2Fstatic/state",
    ],
)
def test_no_path_reaches_a_file_outside_the_assets(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "import" not in answer.text and "root:" not in answer.text


def test_requests_for_another_host_name_are_refused(client: TestClient) -> None:
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400


# --- training ---------------------------------------------------------------------------------------


def test_a_step_trains_and_play_trains_in_the_background_until_pause(client: TestClient) -> None:
    sid = new_session(client)
    first = state(client, sid)
    assert first["step"] == 0 and first["data"]["train"] and len(first["rows"]) == 1
    assert client.post(f"/api/s/{sid}/control", json={"action": "step"}).json()["step"] == 1
    client.post(f"/api/s/{sid}/settings", json={"speed": 500})
    client.post(f"/api/s/{sid}/control", json={"action": "play"})
    deadline = time.monotonic() + 10
    while state(client, sid)["step"] < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    client.post(f"/api/s/{sid}/control", json={"action": "pause"})
    paused = state(client, sid)
    assert paused["step"] >= 150 and not paused["playing"]
    time.sleep(0.2)
    assert state(client, sid)["step"] == paused["step"]
    costs = [row["train"] for row in paused["rows"]]
    assert costs[-1] < costs[0] - 0.2, costs  # the flower's cost falls from 0.69
    assert paused["boundary"] != first["boundary"]


def test_only_new_curve_points_are_sent_and_the_data_only_when_the_page_lacks_it(client: TestClient) -> None:
    sid = new_session(client)
    first = state(client, sid)
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    later = client.get(
        f"/api/s/{sid}/state", params={"since": 0, "data": first["data"]["version"], "run": first["run"]}
    ).json()
    assert [row["step"] for row in later["rows"]] == [1]
    assert "data" not in later


def test_sessions_are_isolated(client: TestClient) -> None:
    one, two = new_session(client), new_session(client)
    assert one != two
    client.post(f"/api/s/{one}/settings", json={"lr": "0.05", "layers": [{"units": 7, "activation": "relu"}]})
    for _ in range(3):
        client.post(f"/api/s/{one}/control", json={"action": "step"})
    first, second = state(client, one), state(client, two)
    assert first["step"] == 3 and first["settings"]["lr"] == 0.05
    assert second["step"] == 0 and second["settings"]["lr"] == 1.2
    assert second["settings"]["layers"] == [{"units": 4, "activation": "tanh"}]


def test_an_unknown_session_says_to_reload(client: TestClient) -> None:
    answer = client.get("/api/s/nope/state")
    assert answer.status_code == 404 and "reload the page" in answer.json()["error"]


def test_training_stops_when_the_page_goes_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "HEARTBEAT_TIMEOUT", 0.3)
    run = Session(parse({"speed": 200}))
    run.play()
    time.sleep(1.0)
    assert not run.playing
    steps = run.step
    time.sleep(0.3)
    assert run.step == steps and 0 < steps < 200


# --- validation: every refusal is a message naming the field ------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"lr": "nan"}, "lr", "The learning rate must be a finite number, got 'nan'"),
        ({"lr": -1}, "lr", "The learning rate must be a number in (0, 10], got -1"),
        ({"lr": "fast"}, "lr", "The learning rate must be a number, got 'fast'"),
        (
            {"layers": [{"units": -3, "activation": "tanh"}]},
            "units1",
            "Units in hidden layer 1 must be a whole number",
        ),
        (
            {"layers": [{"units": 4, "activation": "tanh"}, {"units": 10**9, "activation": "tanh"}]},
            "units2",
            "Units in hidden layer 2 must be a whole number from 1 to 32, got 1000000000",
        ),
        ({"layers": [{"units": 2, "activation": "tanh"}] * 7}, "layers", "At most 6 hidden layers, got 7"),
        ({"layers": [{"units": 2, "activation": "softmax"}]}, "activation1", "must be one of tanh, relu"),
        ({"points": 10**9}, "points", "The number of points must be a whole number from 10 to 2000"),
        # float() of a 400-digit int overflows: a refusal, never an internal error
        ({"points": 10**400}, "points", "The number of points must be a whole number from 10 to 2000"),
        ({"lr": -(10**400)}, "lr", "The learning rate must be a number in (0, 10]"),
        # float() reads these too; a person typing them made a slip
        ({"points": "1_000"}, "points", "The number of points must be a number, got '1_000'"),
        ({"seed": "٣"}, "seed", "The seed must be a number, got '٣'"),
        ({"lr": "9" * 41}, "lr", "The learning rate must be a number of at most 40 characters"),
        ({"lr": "Infinity"}, "lr", "The learning rate must be a finite number, got 'Infinity'"),
        ({"batch_size": 1.5}, "batch_size", "must be a whole number"),
        ({"keep_prob": 0}, "keep_prob", "keep_prob must be a number in (0, 1], got 0"),
        ({"noise": "inf"}, "noise", "The noise must be a finite number"),
        ({"dataset": "../../etc/passwd"}, "dataset", "The dataset must be one of flower"),
        ({"dataset": "custom"}, "dataset", "uploading a CSV file or clicking points"),
        ({"seed": True}, "seed", "The seed must be a number, got True"),
        ({"rm -rf": 1}, "rm -rf", "Unknown setting 'rm -rf'"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(
    client: TestClient, values: dict, field: str, message: str
) -> None:
    sid = new_session(client)
    before = state(client, sid)["settings"]
    answer = client.post(f"/api/s/{sid}/settings", json=values)
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert message in answer.json()["error"]
    assert state(client, sid)["settings"] == before


def test_typed_text_is_read_as_the_number_it_shows() -> None:
    settings = parse({"lr": " 0.5 ", "noise": "-0", "decay": ".25", "l2": "1e-3", "seed": "7."})
    assert (settings.lr, settings.decay, settings.l2, settings.seed) == (0.5, 0.25, 0.001, 7)
    assert str(settings.noise) == "0.0"  # not "-0.0": the page would show -0


def test_malformed_requests_get_messages_and_the_server_keeps_serving(client: TestClient) -> None:
    sid = new_session(client)
    not_json = client.post(
        f"/api/s/{sid}/settings", content=b"{lr: 1", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]
    not_object = client.post(f"/api/s/{sid}/settings", json=[1, 2])
    assert not_object.status_code == 422 and "JSON object" in not_object.json()["error"]
    huge = client.post(f"/api/s/{sid}/settings", content=b"{" + b" " * 100_000 + b"}", headers=JSON)
    assert huge.status_code == 413 and huge.json()["field"] == ""  # the CSV control has no part in it
    assert "The request is larger than 64,000 bytes" in huge.json()["error"]
    action = client.post(f"/api/s/{sid}/control", json={"action": "explode"})
    assert action.status_code == 422 and "play, pause, step or reset" in action.json()["error"]
    assert client.get(f"/api/s/{sid}/state", params={"since": "x"}).status_code == 422
    assert client.get(f"/api/s/{sid}/node/no-such-node").status_code == 422
    assert state(client, sid)["step"] == 0


# --- the user's data -------------------------------------------------------------------------------


def test_a_csv_becomes_the_dataset(client: TestClient) -> None:
    sid = new_session(client)
    rows = "\n".join(f"{x:.2f},{x * x:.2f},{int(x > 0)}" for x in np.linspace(-1, 1, 30))
    answer = client.post(f"/api/s/{sid}/csv", content=f"x1,x2,label\n{rows}\n".encode(), headers=CSV)
    assert answer.status_code == 200 and answer.json()["points"] == 30
    now = state(client, sid)
    assert now["settings"]["dataset"] == "custom"
    assert len(now["data"]["train"]) + len(now["data"]["test"]) == 30


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"1,2,0\n3,4\n", 422, "CSV line 2: expected 3 values x1,x2,label, got 2"),
        (b"1,2,0\n1,2,1\n1,abc,0\n", 422, "CSV line 3: x2 must be a number, got 'abc'"),
        # what float() reads but a person does not type: refused as the settings refuse them
        (b"1,2,0\n1_0,2,1\n", 422, "CSV line 2: x1 must be a number, got '1_0'"),
        ("1,2,0\n1,\u0663,1\n".encode(), 422, "CSV line 2: x2 must be a number, got '\u0663'"),
        (b"1,2,0\n1,2,2\n", 422, "CSV line 2: label must be 0 or 1"),
        (b"1,2,0\n1,nan,1\n", 422, "CSV line 2: x2 must be a finite number"),
        (b"1,2,0\n1,2,0\n1,2,1\n", 422, "has 1 point of class 1; each class needs at least 2"),
        (b"1,2,0\n\xff\xfe,1,1\n", 422, "not UTF-8"),
        ("\n".join(["1,2,0", "2,1,1"] * 1001).encode(), 422, "has 2,002 rows"),
        (b"1,2,0\n" * 40_000, 413, "The CSV file is larger than 200,000 bytes"),
        (b"", 422, "The CSV file has no rows"),
        (b"x1,x2,label\n\n", 422, "The CSV file has no rows"),
        # another separator: line 1 is data, not a header to skip, and its message says why
        (b"0;0;0\n1;1;1\n", 422, "CSV line 1: expected 3 values x1,x2,label, got 1: '0;0;0'"),
        (b"0\t0\t0\n1\t1\t1\n", 422, "CSV line 1: expected 3 values x1,x2,label, got 1"),
    ],
)
def test_a_malformed_csv_is_refused_with_its_line(
    client: TestClient, content: bytes, status: int, message: str
) -> None:
    sid = new_session(client)
    answer = client.post(f"/api/s/{sid}/csv", content=content, headers=CSV)
    assert answer.status_code == status
    assert answer.json()["field"] == "csv" and message in answer.json()["error"]
    assert state(client, sid)["settings"]["dataset"] == "flower"


def test_a_clicked_point_joins_the_data_and_keeps_the_weights(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    answer = client.post(f"/api/s/{sid}/point", json={"x1": 0.5, "x2": -0.25, "label": 1})
    assert answer.json()["points"] == 401
    now = state(client, sid)
    assert now["step"] == 1 and now["settings"]["dataset"] == "custom"
    assert [0.5, -0.25, 1.0] in now["data"]["train"] + now["data"]["test"]
    for bad, message in (
        ({"x1": "a", "x2": 0, "label": 1}, "A point's x1 must be a number, got 'a'"),
        ({"x1": "1_0", "x2": 0, "label": 1}, "A point's x1 must be a number, got '1_0'"),
        ({"x1": 0, "x2": 0, "label": 3}, "label must be 0 or 1"),
        ({"x1": 10**400, "x2": 0, "label": 0}, "x1 must be within ±10000, got 1000000"),
        ({"x1": 0, "x2": float("nan"), "label": 0}, "x2 must be a finite number, got nan"),
    ):
        refused = client.post(
            f"/api/s/{sid}/point", content=json.dumps(bad), headers=JSON
        )  # NaN as the page sends it
        assert refused.status_code == 422 and message in refused.json()["error"]


# --- graph, inspector, backprop ----------------------------------------------------------------------


def test_the_graph_is_collapsed_by_layer_and_a_layer_opens(client: TestClient) -> None:
    sid = new_session(client)
    collapsed = client.get(f"/api/s/{sid}/graph").json()
    assert sorted(collapsed["boxes"].values()) == ["layer 1", "layer 2"]
    assert collapsed["svg"].lstrip().startswith("<?xml") and "‖dW[1]‖" in collapsed["svg"]
    opened = client.get(f"/api/s/{sid}/graph", params={"expand": "layer 1"}).json()
    assert list(opened["boxes"].values()) == ["layer 2"]
    assert "tanh" in opened["svg"] and "Z[1] (4, 320)" in opened["svg"]


def numpy_cost(weights: dict, X: np.ndarray, Y: np.ndarray) -> float:
    """The 2-layer tanh network's cross-entropy in plain numpy."""
    A1 = np.tanh(weights["layers.0.W"] @ X + weights["layers.0.b"])
    Z2 = weights["layers.2.W"] @ A1 + weights["layers.2.b"]
    return float(np.mean(np.logaddexp(0, Z2) - Z2 * Y))


def test_the_inspector_shows_the_gradient_central_differences_give(
    client: TestClient, tmp_path: Path
) -> None:
    sid = new_session(client)
    for _ in range(5):
        client.post(f"/api/s/{sid}/control", json={"action": "step"})
    graph = client.get(f"/api/s/{sid}/graph", params={"expand": "layer 1"}).json()
    run = session_of(client, sid)
    key = next(key for key, t in run.view().by_key.items() if t.name == "W[1]")
    assert f"<title>{key}</title>" in graph["svg"]
    node = client.get(f"/api/s/{sid}/node/{key}").json()
    assert node["name"] == "W[1]" and node["shape"] == [4, 2] and node["kind"] == "parameter"
    assert node["receives"] and node["receives"][0].startswith("matmul sends dW[1] ←")
    (tmp_path / "w.npz").write_bytes(client.get(f"/api/s/{sid}/export.npz").content)
    weights = dict(np.load(tmp_path / "w.npz"))
    np.testing.assert_allclose(node["value"]["rows"], weights["layers.0.W"])
    X, Y = run.X_train, run.Y_train
    expected = np.zeros((4, 2))
    for index in np.ndindex(4, 2):
        up, down = {k: v.copy() for k, v in weights.items()}, {k: v.copy() for k, v in weights.items()}
        up["layers.0.W"][index] += 1e-6
        down["layers.0.W"][index] -= 1e-6
        expected[index] = (numpy_cost(up, X, Y) - numpy_cost(down, X, Y)) / 2e-6
    np.testing.assert_allclose(node["grad"]["rows"], expected, rtol=1e-5, atol=1e-9)
    op = client.get(f"/api/s/{sid}/node/op_{key}")
    assert op.status_code == 200  # an op's node inspects the tensor it made


def test_zero_initialisation_shows_identical_units(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json={"init": "zeros"})
    for _ in range(20):
        client.post(f"/api/s/{sid}/control", json={"action": "step"})
    now = state(client, sid)
    assert now["symmetric"] == ["all 4 units of layer 1 are identical"]
    run = session_of(client, sid)
    key = next(key for key, t in run.view().by_key.items() if t.name == "W[1]")
    node = client.get(f"/api/s/{sid}/node/{key}").json()
    rows = node["value"]["rows"]
    assert all(row == rows[0] for row in rows) and "all 4 rows are identical" in node["identical_rows"]
    assert "all 4 units of layer 1 are identical" in client.get(f"/api/s/{sid}/graph").json()["svg"]
    client.post(f"/api/s/{sid}/settings", json={"init": "xavier"})
    assert state(client, sid)["symmetric"] == []


def test_backprop_steps_the_engines_walk_one_op_at_a_time(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json={"speed": 100})
    client.post(f"/api/s/{sid}/control", json={"action": "play"})
    first = client.get(f"/api/s/{sid}/backprop", params={"index": 0}).json()
    assert not state(client, sid)["playing"]  # stepping backprop pauses training
    run = session_of(client, sid)
    walk = list(mg.autograd.walk(run.cost(*run.last_batch)))
    assert first["count"] == len(walk) + 1 and first["title"].startswith("Forward pass done")
    second = client.get(f"/api/s/{sid}/backprop", params={"index": 1}).json()
    assert second["title"] == f"Step 1 of {len(walk)}: dJ is final"
    assert any("sends" in line for line in second["lines"]) and "<svg" in second["svg"]
    past = client.get(f"/api/s/{sid}/backprop", params={"index": 999}).json()
    assert past["index"] == first["count"] - 1


# --- export --------------------------------------------------------------------------------------


def test_the_exported_script_runs_and_loads_the_exported_weights(client: TestClient, tmp_path: Path) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json={"batch_size": 64, "optimizer": "adam", "lr": 0.02, "l2": 0.1})
    for _ in range(30):
        client.post(f"/api/s/{sid}/control", json={"action": "step"})
    last = state(client, sid)["rows"][-1]
    script = client.get(f"/api/s/{sid}/export.py")
    assert script.headers["content-disposition"] == 'attachment; filename="playground.py"'
    (tmp_path / "playground.py").write_text(script.text)
    (tmp_path / "playground.npz").write_bytes(client.get(f"/api/s/{sid}/export.npz").content)
    loaded = subprocess.run(
        [sys.executable, "playground.py", "playground.npz"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"train cost {last['train']:.4f}, accuracy {last['train_accuracy']:.1%}" in loaded.stdout
    # Trained again by the script itself: the same seed and settings give the same cost.
    trained = subprocess.run(
        [sys.executable, "playground.py"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert f"train cost {last['train']:.4f}" in trained.stdout
    # And the .npz loads into the same network with Module.load.
    model = session_module.build_model(session_of(client, sid).settings, np.random.default_rng(0))
    model.load(tmp_path / "playground.npz")
    np.testing.assert_array_equal(model.layers[0].W.data, session_of(client, sid).model.layers[0].W.data)


def test_a_custom_dataset_is_written_into_the_script(client: TestClient, tmp_path: Path) -> None:
    sid = new_session(client)
    rows = "\n".join(f"{x:.3f},{np.sin(3 * x):.3f},{int(np.sin(3 * x) > 0)}" for x in np.linspace(-2, 2, 40))
    client.post(f"/api/s/{sid}/csv", content=rows.encode(), headers=CSV)
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    (tmp_path / "custom.py").write_text(client.get(f"/api/s/{sid}/export.py").text)
    done = subprocess.run(
        [sys.executable, "custom.py"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert f"train cost {state(client, sid)['rows'][-1]['train']:.4f}" in done.stdout


def test_a_new_learning_rate_keeps_the_weights_and_the_optimisers_averages(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json={"optimizer": "adam", "lr": 0.01})
    for _ in range(5):
        client.post(f"/api/s/{sid}/control", json={"action": "step"})
    run = session_of(client, sid)
    optimizer, weights = run.optimizer, run.model.layers[0].W.data.copy()
    client.post(f"/api/s/{sid}/settings", json={"lr": 0.002, "speed": 10})
    assert run.optimizer is optimizer and optimizer.lr == 0.002 and run.step == 5
    np.testing.assert_array_equal(run.model.layers[0].W.data, weights)
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    # Adam's step was taken with the averages of the five before: t counts on.
    assert optimizer.state[0].t == 6
    client.post(f"/api/s/{sid}/settings", json={"batch_size": 32})
    assert run.optimizer is not optimizer and run.step == 6  # a new batch size: a new optimiser, same weights


def test_a_tiny_dataset_trains_without_a_test_set_when_a_split_would_leave_nothing(
    client: TestClient,
) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json={"test_fraction": 0.9})
    answer = client.post(f"/api/s/{sid}/csv", content=b"0,0,0\n1,1,0\n0,1,1\n1,0,1\n", headers=CSV)
    assert answer.status_code == 200
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    now = state(client, sid)
    assert now["step"] == 1 and now["rows"][-1]["test"] is None and len(now["data"]["train"]) == 4


def test_a_diverging_run_stops_with_a_message_until_reset(client: TestClient) -> None:
    sid = new_session(client)
    deep = [{"units": 32, "activation": "identity"}] * 6
    client.post(f"/api/s/{sid}/settings", json={"init": "large", "lr": 10, "layers": deep, "speed": 200})
    client.post(f"/api/s/{sid}/control", json={"action": "play"})
    deadline = time.monotonic() + 10
    while state(client, sid)["message"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    now = state(client, sid)
    assert not now["playing"] and now["step"] < 20
    assert f"The cost became nan at step {now['step']}" in now["message"]
    assert "Lower the learning rate (10)" in now["message"]
    client.post(f"/api/s/{sid}/control", json={"action": "play"})
    assert state(client, sid)["step"] == now["step"]  # no training on from NaN weights
    client.post(f"/api/s/{sid}/control", json={"action": "reset"})
    assert state(client, sid)["message"] is None and state(client, sid)["step"] == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)
fields = st.sampled_from(["lr", "layers", "points", "batch_size", "dataset", "noise", "seed", "init", "x"])


@given(st.dictionaries(fields, json_values, max_size=3))
def test_any_json_the_page_might_send_is_accepted_or_refused_with_a_message(values: dict) -> None:
    with TestClient(create_app(), base_url=BASE) as client:
        sid = new_session(client)
        answer = client.post(f"/api/s/{sid}/settings", content=json.dumps(values), headers=JSON)
        assert answer.status_code in (200, 422), answer.text
        if answer.status_code == 422:
            assert answer.json()["error"]
        assert client.post(f"/api/s/{sid}/control", json={"action": "step"}).status_code == 200


# --- the reviewer's findings (issue 14) ------------------------------------------------------------


@pytest.mark.parametrize("how", ["csv", "point"])
def test_a_built_in_dataset_replaces_the_users_points_in_the_run_and_the_export(
    client: TestClient, how: str
) -> None:
    sid = new_session(client)
    if how == "csv":
        client.post(f"/api/s/{sid}/csv", content=b"0,0,0\n1,1,0\n0,1,1\n1,0,1\n2,2,1\n", headers=CSV)
    else:
        client.post(f"/api/s/{sid}/point", json={"x1": 9.5, "x2": -9.5, "label": 1})
    assert state(client, sid)["settings"]["dataset"] == "custom"
    client.post(f"/api/s/{sid}/settings", json={"dataset": "moons", "points": 100})
    run = session_of(client, sid)
    X, _ = mg.data.moons(m=100, noise=run.settings.noise, seed=run.settings.seed)
    np.testing.assert_array_equal(run.X_all, X)
    script = client.get(f"/api/s/{sid}/export.py").text
    assert "POINTS" not in script and "mg.data.moons(m=100" in script
    client.post(f"/api/s/{sid}/control", json={"action": "reset"})
    assert session_of(client, sid).X_all.shape == (2, 100)  # and a reset does not bring them back


def test_another_sites_page_cannot_drive_the_server() -> None:
    with TestClient(create_app(), base_url="http://localhost:8765") as client:
        evil = {"origin": "https://evil.example"}
        refused = client.post("/api/session", json={}, headers=evil)
        assert refused.status_code == 403 and "'https://evil.example' are refused" in refused.json()["error"]
        assert client.get("/", headers=evil).status_code == 403
        assert (
            client.post("/api/session", json={}, headers={"origin": "http://localhost:8766"}).status_code
            == 403
        )
        assert client.post("/api/session", json={}, headers={"origin": "null"}).status_code == 403
        assert client.app.state.sessions.by_id == {}  # type: ignore[attr-defined]
        # What a page elsewhere may send without asking the browser first (no CORS preflight):
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            answer = client.post("/api/session", content=b"{}", headers={"content-type": kind})
            assert answer.status_code == 415 and "must send application/json" in answer.json()["error"]
        assert client.post("/api/session").status_code == 415  # no body, no type
        assert client.app.state.sessions.by_id == {}  # type: ignore[attr-defined]
        # The playground's own page, under either host name of this port:
        for origin in ("http://localhost:8765", "http://127.0.0.1:8765"):
            sid = client.post("/api/session", json={}, headers={"origin": origin}).json()["id"]
        plain = client.post(
            f"/api/s/{sid}/settings", content=b'{"lr": 9}', headers={"content-type": "text/plain"}
        )
        assert plain.status_code == 415 and session_of(client, sid).settings.lr != 9
        csv = client.post(f"/api/s/{sid}/csv", content=b"0,0,0\n1,1,0\n0,1,1\n1,0,1\n", headers=JSON)
        assert csv.status_code == 415 and csv.json()["field"] == "csv"
        assert client.post(f"/api/s/{sid}/close", json={}).json() == {"closed": True}


def test_an_app_made_with_replay_off_steps_eagerly() -> None:
    with TestClient(create_app(replay=False), base_url=BASE) as client:
        sid = new_session(client)
        run = session_of(client, sid)
        assert not run.replay and not isinstance(run.train_step, Replay)
        client.post(f"/api/s/{sid}/settings", json={"l2": 0.1})  # a new step: still eager
        assert not isinstance(run.train_step, Replay)
    assert isinstance(Session().train_step, Replay)
    with pytest.raises(AttributeError):
        Session().replay = False  # type: ignore[misc]  # set after the step is built, it would mean nothing


def node_named(client: TestClient, sid: str, name: str) -> dict:
    """The inspector of the node `name` (J: the cost, the graph's output)."""
    view = session_of(client, sid).view()
    key = next(k for k, t in view.by_key.items() if (t is view.cost if name == "J" else t.name == name))
    return dict(client.get(f"/api/s/{sid}/node/{key}").json())


def test_the_views_follow_new_points_and_new_training_settings(client: TestClient) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/control", json={"action": "step"})
    before = node_named(client, sid, "J")
    steps = client.get(f"/api/s/{sid}/backprop", params={"index": 0}).json()["count"]
    client.post(f"/api/s/{sid}/settings", json={"l2": 5.0})
    run = session_of(client, sid)
    with_l2 = node_named(client, sid, "J")
    assert with_l2["value"]["rows"][0][0] == pytest.approx(run.cost(*run.last_batch).item())
    assert with_l2["value"]["rows"][0][0] > before["value"]["rows"][0][0]
    assert client.get(f"/api/s/{sid}/backprop", params={"index": 0}).json()["count"] > steps
    m = run.X_train.shape[1]
    client.post(f"/api/s/{sid}/point", json={"x1": 0.5, "x2": 0.5, "label": 1})
    grown = session_of(client, sid).X_train.shape[1]
    assert grown != m and node_named(client, sid, "X")["shape"] == [2, grown]


def test_looking_at_the_graph_never_changes_training() -> None:
    settings = parse({"keep_prob": 0.5, "layers": [{"units": 8, "activation": "relu"}], "lr": 0.5})
    looked, unseen = Session(settings), Session(settings)
    for _ in range(5):
        looked.view()
        looked.train(1)
        unseen.train(1)
    for a, b in zip(looked.model.parameters(), unseen.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_refused_change_keeps_the_run_and_the_widgets_own_model(monkeypatch: pytest.MonkeyPatch) -> None:
    X, Y = mg.data.moons(m=60, seed=0)
    model = mg.nn.mlp([2, 6, 1], hidden="tanh", seed=0)
    run = Session(custom=(X, Y.astype(float)), model=model)
    run.train(5)
    weights = model.state_dict()

    def refuse(*arguments: object) -> None:
        raise ValueError("refused by the engine")

    monkeypatch.setattr(session_module, "build_optimizer", refuse)
    with pytest.raises(ValueError, match="refused by the engine"):
        run.configure({"optimizer": "adam"})
    monkeypatch.setattr(session_module, "build_model", refuse)
    with pytest.raises(ValueError, match="refused by the engine"):
        run.configure({"layers": [{"units": 3, "activation": "relu"}]})
    assert run.step == 5 and run.settings.optimizer == "gd" and run.settings.layers[0].units == 4
    assert run.own_model is model and run.model is model
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, weights[name])
    monkeypatch.undo()
    run.train(1)
    assert run.step == 6
    run.configure({"optimizer": "adam", "lr": 0.01})
    run.control("reset")
    np.testing.assert_array_equal(model.layers[0].W.data, run.own_weights["layers.0.W"])


def test_pause_takes_the_flag_and_the_thread_under_the_lock() -> None:
    run = Session()
    run.playing = True  # as play() leaves it; no thread, so pause has none to join
    pausing = threading.Thread(target=run.pause)
    with run.lock:
        pausing.start()
        pausing.join(0.2)
        assert pausing.is_alive() and run.playing  # pause waits while the lock is held
    pausing.join(5)
    assert not pausing.is_alive() and not run.playing


@pytest.mark.parametrize(
    ("settings", "rows"),
    [
        ({"test_fraction": 0.9}, b"0,0,0\n1,1,0\n0,1,1\n1,0,1\n"),  # a split would leave no training set
        ({"batch_size": 2000, "keep_prob": 0.7, "l2": 0.05, "lr": 0.5}, None),  # the full batch: no shuffles
    ],
)
def test_the_script_splits_and_batches_as_the_session_does(
    client: TestClient, tmp_path: Path, settings: dict, rows: bytes | None
) -> None:
    sid = new_session(client)
    client.post(f"/api/s/{sid}/settings", json=settings)
    if rows is not None:
        client.post(f"/api/s/{sid}/csv", content=rows, headers=CSV)
    for _ in range(4):
        client.post(f"/api/s/{sid}/control", json={"action": "step"})
    last = state(client, sid)["rows"][-1]
    (tmp_path / "run.py").write_text(client.get(f"/api/s/{sid}/export.py").text)
    done = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"train cost {last['train']:.4f}, accuracy {last['train_accuracy']:.1%}" in done.stdout
