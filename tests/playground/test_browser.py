"""The playground's page in Chromium: train, watch, inspect, step backprop, make mistakes.

Screenshots at 1280 × 800 go to the test's folder; with MICROGRID_SCREENSHOTS=DIR they go to DIR
too (docs/images/playground is where the docs page reads them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import microgrid as mg

SIZE = {"width": 1280, "height": 800}


@pytest.fixture
def page(browser: Any, server: str) -> Any:
    context = browser.new_context(viewport=SIZE, device_scale_factor=1)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # A refused value is a 422 answer, which Chromium logs too: the page shows it, so it is no error.
    refused = re.compile(r"Failed to load resource: .* status of 4(22|13)")
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not refused.match(message.text)
            else None
        ),
    )
    tab.goto(server)
    tab.wait_for_selector(".mg-graph svg")
    yield tab
    context.close()
    assert errors == [], errors


def shoot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name))
    extra = os.environ.get("MICROGRID_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(extra) / name))


def number(page: Any, name: str) -> float:
    return float(page.locator(f'[data-out="{name}"]').inner_text().replace(",", "").rstrip("%"))


def test_play_trains_the_flower_and_the_boundary_changes(page: Any, tmp_path: Path) -> None:
    boundary = page.locator('[data-out="boundary"]')
    before = boundary.evaluate("canvas => canvas.toDataURL()")
    assert page.locator('select[name="dataset"]').input_value() == "flower"
    assert page.locator('input[name="units1"]').input_value() == "4"
    assert page.locator('select[name="activation1"]').input_value() == "tanh"
    page.click("text=▶ Play")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-out=train]').textContent) < 0.35", timeout=30_000
    )
    assert number(page, "speed") > 0
    shoot(page, tmp_path, "training.png")
    page.click("text=❚❚ Pause")
    page.wait_for_selector("text=▶ Play")
    assert boundary.evaluate("canvas => canvas.toDataURL()") != before
    assert number(page, "step") > 0


def open_layer_1(page: Any) -> Any:
    """Click layer 1's box open; the node of W[1] inside it (the closed box lists W[1] too, but not dW[1])."""
    page.locator("g.node", has_text="layer 1").click()
    page.locator("g.cluster", has_text="layer 1").wait_for()
    return page.locator("g.node", has_text="dW[1] (4, 2)")


def flower_training_data() -> tuple[np.ndarray, np.ndarray]:
    """The default run's training set, made as the server makes it (same dataset, seed and split)."""
    X, Y = mg.data.flower(m=400, noise=0.2, seed=1)
    split = mg.data.train_test_split(X, Y.astype(float), 0.2, seed=1)
    return split.X_train, split.Y_train


def test_a_clicked_node_shows_the_gradient_python_computes(page: Any, server: str, tmp_path: Path) -> None:
    for _ in range(3):
        page.click("text=+1 Step")
    page.wait_for_function("() => document.querySelector('[data-out=step]').textContent === '3'")
    weight_node = open_layer_1(page)
    weight_node.wait_for()
    weight_node.click()
    page.wait_for_selector(".mg-inspector h3:has-text('W[1]')")
    shoot(page, tmp_path, "inspector.png")
    shown = [float(cell) for cell in page.locator(".mg-gradient td").all_inner_texts()]
    npz = page.locator('a[data-export="npz"]').get_attribute("href")
    (tmp_path / "w.npz").write_bytes(page.request.get(server.rstrip("/") + npz).body())
    weights = dict(np.load(tmp_path / "w.npz"))
    X, Y = flower_training_data()

    def cost(W1: np.ndarray) -> float:
        A1 = np.tanh(W1 @ X + weights["layers.0.b"])
        Z2 = weights["layers.2.W"] @ A1 + weights["layers.2.b"]
        return float(np.mean(np.logaddexp(0, Z2) - Z2 * Y))

    expected = []
    for index in np.ndindex(4, 2):
        step = np.zeros((4, 2))
        step[index] = 1e-6
        expected.append((cost(weights["layers.0.W"] + step) - cost(weights["layers.0.W"] - step)) / 2e-6)
    np.testing.assert_allclose(shown, expected, rtol=2e-3, atol=1e-8)  # the page shows 4 digits


def test_every_choice_of_every_menu_fits_its_box(page: Any) -> None:
    # A select shows its chosen text cut at the arrow, and says nothing: measure each option's text
    # in the select's own font against the room the box leaves it (padding and arrow, 28 px).
    cut = page.evaluate(
        """() => {
            const context = document.createElement('canvas').getContext('2d');
            const cut = [];
            const selects = document.querySelectorAll('.mg-controls select');
            if (selects.length < 5) cut.push(`only ${selects.length} menus found`);
            for (const select of selects) {
                context.font = getComputedStyle(select).font;
                for (const option of select.options) {
                    const room = select.clientWidth - 28;
                    const width = context.measureText(option.text).width;
                    if (width > room) cut.push(`${option.text}: ${Math.round(width)} px in ${room}`);
                }
            }
            return cut;
        }"""
    )
    assert cut == [], cut


def test_the_bar_keeps_its_height_as_its_numbers_grow(page: Any) -> None:
    # A bar that gains a line when training starts (or at step 100,000) pushes the page down under
    # the mouse: the counters sit in two fixed rows instead.
    before, after = page.evaluate(
        """() => {
            const bar = document.querySelector('.mg-bar');
            const before = bar.offsetHeight;
            const set = (name, text) => { document.querySelector(`[data-out=${name}]`).textContent = text; };
            set('step', '123,456'); set('epoch', '123,456'); set('speed', '1000');
            set('train', '0.6931'); set('test', '0.6931'); set('accuracy', '100.0% / 100.0%');
            document.querySelector('.mg-play').textContent = '❚❚ Pause';
            return [before, bar.offsetHeight];
        }"""
    )
    assert before == after


def test_bad_values_show_a_message_beside_the_field(page: Any, tmp_path: Path) -> None:
    message = page.locator('[data-out="message"]')
    page.fill('input[name="lr"]', "nan")
    page.press('input[name="lr"]', "Tab")
    message.wait_for(state="visible")
    assert "The learning rate must be a finite number, got 'nan'" in message.inner_text()
    assert "mg-invalid" in (page.get_attribute('input[name="lr"]', "class") or "")
    page.fill('input[name="units1"]', "1000000000")
    page.press('input[name="units1"]', "Tab")
    page.wait_for_selector("text=Units in hidden layer 1 must be a whole number from 1 to 32")
    shoot(page, tmp_path, "error.png")
    page.fill('input[name="points"]', "-5")
    page.press('input[name="points"]', "Tab")
    page.wait_for_selector("text=The number of points must be a whole number from 10 to 2000, got '-5'")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("x1,x2,label\n1,2,0\n3,4,7\n")
    page.set_input_files('input[name="csv"]', str(bad_csv))
    page.wait_for_selector("text=CSV line 3: label must be 0 or 1, got 7")
    assert "mg-invalid" in (page.get_attribute(".mg-file", "class") or "")  # the visible upload button
    # The file's bytes go as they are: the browser would have turned bad bytes into U+FFFD.
    binary_csv = tmp_path / "photo.csv"
    binary_csv.write_bytes(b"1,2,0\n\xff\xd8\xff\xe0,1,1\n")
    page.set_input_files('input[name="csv"]', str(binary_csv))
    page.wait_for_selector("text=The CSV file is not UTF-8 text")
    page.fill('input[name="lr"]', "0.5")
    page.press('input[name="lr"]', "Tab")
    page.wait_for_function("() => document.querySelector('[data-out=message]').hidden")


def test_backprop_one_op_at_a_time(page: Any, tmp_path: Path) -> None:
    page.click("text=Backprop step by step")
    caption = page.locator('[data-out="caption"]')
    caption.wait_for(state="visible")
    assert "Forward pass done: J =" in caption.inner_text()
    page.click("text=next ▶")
    page.wait_for_selector("[data-out=caption] h4:has-text('Step 1 of')")
    page.click("text=next ▶")
    page.wait_for_selector("[data-out=caption] h4:has-text('Step 2 of')")
    assert re.search(r"sends d\S+ ←", caption.inner_text())
    assert page.locator(".mg-graph svg").count() == 1
    shoot(page, tmp_path, "backprop.png")
    page.click("text=✕ close")
    caption.wait_for(state="hidden")


def test_the_inspector_shows_the_step_backprop_paused_at(page: Any) -> None:
    weight_node = open_layer_1(page)
    weight_node.wait_for()
    weight_node.click()
    page.wait_for_selector(".mg-inspector h3:has-text('W[1]')")
    page.click("text=▶ Play")
    page.wait_for_function("() => Number(document.querySelector('[data-out=step]').textContent) > 50")
    page.click("text=Backprop step by step")
    page.locator('[data-out="caption"]').wait_for(state="visible")
    # Paused: the counter stops, and the inspector (refreshed at most every 0.7 s while training)
    # catches up with it rather than showing an earlier step's W[1] beside the walk's.
    page.wait_for_function(
        """() => {
            const step = document.querySelector('[data-out=step]').textContent.replace(/,/g, '');
            const title = document.querySelector('.mg-inspector h3 small').textContent;
            return new RegExp(`step ${step}\\\\b`).test(title);
        }""",
        timeout=5000,
    )
    assert not page.locator(".mg-play").inner_text().startswith("❚❚")


def test_play_closes_backprop_whose_walk_training_would_leave_behind(page: Any) -> None:
    page.click("text=Backprop step by step")
    caption = page.locator('[data-out="caption"]')
    caption.wait_for(state="visible")
    page.click("text=▶ Play")
    caption.wait_for(state="hidden")
    page.wait_for_selector("text=Backprop step by step")
    page.wait_for_function("() => Number(document.querySelector('[data-out=step]').textContent) > 3")
    page.click("text=❚❚ Pause")


def test_zero_initialisation_shows_identical_units(page: Any, tmp_path: Path) -> None:
    page.select_option('select[name="init"]', "zeros")
    banner = page.locator('[data-out="symmetric"]')
    banner.wait_for(state="visible")  # the new run has started: its units are identical from step 0
    for _ in range(5):
        page.click("text=+1 Step")
    page.wait_for_function("() => document.querySelector('[data-out=step]').textContent === '5'")
    assert "all 4 units of layer 1 are identical" in banner.inner_text()
    # ‖dW[l]‖ is exactly 0, which a log scale cannot place: the lines lie on the plot's floor
    # (dW[2]'s orange drawn over dW[1]'s blue).
    on_floor = page.locator('[data-out="norms"]').evaluate(
        """canvas => {
            const { width, height } = canvas;
            const pixels = canvas.getContext("2d").getImageData(0, height - 40, width, 40).data;
            let orange = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] === 0xea && pixels[i + 1] === 0x58 && pixels[i + 2] === 0x0c) orange++;
            }
            return orange;
        }"""
    )
    assert on_floor > 50
    open_layer_1(page).click()
    page.wait_for_selector("text=all 4 rows are identical")
    rows = page.locator(".mg-values > div:first-child tr").all_inner_texts()
    assert len(rows) == 4 and len(set(rows)) == 1
    shoot(page, tmp_path, "zeros.png")
    page.locator("g.cluster text", has_text="layer 1").click()  # the open layer's frame closes it
    page.locator("g.node", has_text="3 ops: matmul").wait_for()


def test_each_tab_has_its_own_session(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=SIZE)
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(server)
        tab.wait_for_selector(".mg-graph svg")
    first.click("text=+1 Step")
    first.wait_for_function("() => document.querySelector('[data-out=step]').textContent === '1'")
    second.wait_for_timeout(400)
    assert second.locator('[data-out="step"]').inner_text() == "0"
    context.close()


def test_a_click_on_the_plot_adds_a_point_of_the_chosen_class(page: Any) -> None:
    page.select_option('select[name="click"]', "0")
    page.locator('[data-out="boundary"]').click(position={"x": 40, "y": 40})
    page.wait_for_function("() => document.querySelector('select[name=dataset]').value === 'custom'")
    page.click("text=+1 Step")  # training goes on with the new point
    page.wait_for_function("() => document.querySelector('[data-out=step]').textContent === '1'")


def test_the_notebook_widget_runs_the_same_page_on_its_kernel_session(browser: Any) -> None:
    """The widget's one-file module in Chromium, with a stand-in for anywidget's model whose
    messages go to the widget's own handler in this process, as the notebook's comm would carry them."""
    pytest.importorskip("anywidget", reason="the playground extra is not installed")
    from microgrid.playground import widget

    w = widget(lr=1.0)
    replies: list[dict] = []
    w.send = replies.append  # what would go back to the front end over the comm

    def kernel(message: dict) -> dict:
        w._answer(w, message, [])
        return replies.pop()

    page = browser.new_page(viewport=SIZE)
    page.expose_function("kernel", kernel)
    page.set_content(f"<style>{w._css}</style><div id='el'></div>")
    page.evaluate(
        """async ([code, initial]) => {
            const module = await import(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
            const listeners = [];
            const model = {
                get: (name) => initial[name],
                on: (event, listener) => listeners.push(listener),
                send: async (message) => {
                    const reply = await window.kernel(message);
                    listeners.forEach((listener) => listener(reply));
                },
            };
            module.default.render({ model, el: document.getElementById("el") });
        }""",
        [w._esm, {"_settings": w._settings, "_choices": w._choices}],
    )
    page.wait_for_selector(".mg-graph svg")
    assert page.locator(".mg-export").is_hidden()  # a notebook saves with w.save_script / w.save_weights
    page.click("text=+1 Step")
    page.wait_for_function("() => document.querySelector('[data-out=step]').textContent === '1'")
    assert w.session.step == 1 and w.step == 1
    page.fill('input[name="lr"]', "-2")
    page.press('input[name="lr"]', "Tab")
    page.wait_for_selector("text=The learning rate must be a number in (0, 10], got '-2'")
    page.close()
