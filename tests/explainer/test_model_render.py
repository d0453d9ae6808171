"""gn.explain of whole models, the HTML it renders, number formatting, summaries, dispatch."""
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import Explanation, explain
from glassnet.explainer.render import Fmt
from tests.explainer import EDGE_MAP_004, EDGES_004, IMAGE_004, FEATURES_001, parse_html, x_image


def _seed004_model():
    model = gn.Sequential([gn.Input((7, 7, 1)), gn.layers.Conv2D(1, 3, use_bias=False),
                           gn.layers.ReLU(), gn.layers.MaxPooling2D(2)])
    model.layers[0].set_weights([np.array(EDGES_004, np.float32)[:, :, None, None]])
    return model


def test_seed004_model_layer_by_layer():
    model = _seed004_model()
    x = np.array(IMAGE_004, np.float32)[None, :, :, None]
    exp = explain(model, x)
    assert [s["class"] for s in exp.steps] == ["Conv2D", "ReLU", "MaxPooling2D"]
    np.testing.assert_array_equal(exp.steps[0]["output"][0, :, :, 0], EDGE_MAP_004)
    np.testing.assert_array_equal(exp.steps[1]["output"][0, 2, :, 0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(exp.result[0, :, :, 0], [[1, 3], [1, 3]])
    assert exp.steps[0]["shape"] == (1, 5, 5, 1) and exp.steps[0]["params"] == 9
    assert exp.steps[0]["min"] == -4 and exp.steps[0]["max"] == 3
    text = str(exp)
    assert "conv2d" in text and "(1, 2, 2, 1)" in text and "-4" in text
    assert all("call" not in vars(layer) for layer in model.layers)          # the watch is removed
    deep = explain(model, x, expand=True, max_cells=2)
    sub = deep.steps[0]["explanation"]
    assert sub.kind == "conv" and sub.steps[0]["sum"] == 0 and sub.steps[1]["sum"] == 1
    assert deep.steps[2]["explanation"].steps[0]["max"] == 1
    assert "max = 1, at row 0, col 1 of the input" in str(deep)
    parse_html(deep._repr_html_())


def test_functional_model_and_generic_layer(rng):
    inputs = gn.Input((4,))
    hidden = gn.layers.Dense(3, activation="relu")(inputs)
    outputs = gn.layers.Dense(2, activation="softmax")(gn.layers.Dropout(0.5)(hidden))
    model = gn.Model(inputs, outputs)
    x = rng.normal(size=(1, 4)).astype(np.float32)
    exp = explain(model, x)
    assert [s["class"] for s in exp.steps] == ["Dense", "Dropout", "Dense"]
    np.testing.assert_allclose(exp.result, model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(exp.steps[1]["output"], exp.steps[0]["output"])   # inference: identity
    norm = explain(gn.layers.LayerNormalization(), x)
    assert norm.kind == "layer" and norm.result.shape == (1, 4) and len(norm.steps) == 2   # gamma, beta


def test_html_is_valid_self_contained_and_holds_the_numbers():
    cases = [
        (explain(gn.ops.conv, x_image(), FEATURES_001["x"], normalize=True, max_cells=3), ["0.33", "-0.55", "1.00"]),
        (explain(gn.ops.max_pool, np.maximum(np.array(EDGE_MAP_004, float), 0), 2), ["max = 3"]),
        (explain(gn.ops.relu, [-1.0, 2.0]), ["2"]),
        (explain(lambda a, b: a * b + a, 2.0, 3.0), ["8", "4"]),
        (explain(gn.ops.softmax, [[1.0, 2.0], [0.0, 0.0]]), ["0.7311", "0.5"]),
    ]
    for exp, numbers in cases:
        html = exp._repr_html_()
        assert html.startswith('<div class="gn-explain"><style>') and html.endswith("</div>")
        page = parse_html(html)
        assert exp.title in page.text
        for number in numbers:
            assert number in page.text and number in str(exp)
        assert exp.to_html() == html


def test_text_escaping_in_html():
    exp = explain(lambda a: a * 2, 1.0)
    exp.blocks[0].text = "<b>& not a tag"
    parse_html(exp._repr_html_())
    assert "&lt;b&gt;&amp; not a tag" in exp._repr_html_()


def test_large_inputs_are_summarised(rng):
    image = rng.random((28, 28))
    exp = explain(gn.ops.conv, image, np.ones((3, 3)) / 9, max_cells=2)
    text = str(exp)
    assert "input: shape (28, 28), min " in text and "(8 of 784)" in text
    assert "output: shape (26, 26)" in text and "(8 of 676)" in text
    assert "Expanded 2 of 676 output cells" in text
    assert len(text.splitlines()) < 40
    np.testing.assert_allclose(exp.result, gn.ops.conv(image[None, :, :, None], np.ones((3, 3, 1, 1)) / 9).numpy()[0, :, :, 0])
    small = explain(gn.ops.conv, image, np.ones((3, 3)), max_grid=30, max_cells=0)
    assert "input: shape" not in str(small)                       # drawn in full when allowed
    model = gn.Sequential([gn.Input((28, 28, 1)), gn.layers.Conv2D(4, 3), gn.layers.Flatten(), gn.layers.Dense(10)])
    big = explain(model, image[None, :, :, None].astype(np.float32))
    assert "output (sample 0): shape (26, 26, 4)" in str(big) and len(str(big).splitlines()) < 40


def test_number_formatting():
    slide = Fmt(decimals=2, truncate=True)
    assert [slide(v) for v in (7 / 9, 5 / 9, -1 / 9, 1.0, 9 / 9, -0.001, 3 / 9)] == \
        ["0.77", "0.55", "-0.11", "1.00", "1.00", "0.00", "0.33"]
    general = Fmt()
    assert [general(v) for v in (3.0, -1.075, 0.0451766, 1e-7, -0.0, float("inf"), np.int64(4))] == \
        ["3", "-1.075", "0.04518", "1e-07", "0", "inf", "4"]


def test_dispatch_and_errors():
    assert isinstance(explain("relu", [1.0]), Explanation)
    assert explain("mse", [1.0], [3.0]).result == pytest.approx(4.0)
    with pytest.raises(ValueError, match="neither an activation nor a loss"):
        explain("nope", [1.0])
    with pytest.raises(TypeError, match="cannot explain"):
        explain(42, [1.0])
    with pytest.raises(ValueError, match="mode must be"):
        explain(gn.ops.relu, [1.0], mode="sideways")
    with pytest.raises(ValueError, match="max_cells"):
        explain(gn.ops.relu, [1.0], max_cells=-1)
    with pytest.raises(TypeError, match="returned float"):
        explain(lambda a: 3.0, 1.0)


def test_fast():
    start = time.perf_counter()
    for name in FEATURES_001:
        str(explain(gn.ops.conv, x_image(), FEATURES_001[name], normalize=True, max_cells=None))
    explain(_seed004_model(), np.array(IMAGE_004, np.float32)[None, :, :, None], expand=True)._repr_html_()
    assert time.perf_counter() - start < 2.0
