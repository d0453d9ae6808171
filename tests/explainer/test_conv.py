"""gn.explain on convolutions: seed 001's X/O feature maps, padding, strides, channels, layers."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import explain
from tests.explainer import FEATURES_001, MAPS_001, parse_html, table, x_image


def _grid_after(text, caption, n):
    """The n rows of numbers printed under the line ``caption``."""
    lines = text.splitlines()
    start = lines.index(caption) + 1
    return [line.split() for line in lines[start:start + n]]


@pytest.mark.parametrize("name", list(FEATURES_001))
def test_xo_feature_maps_as_the_slide_prints_them(name):
    exp = explain(gn.ops.conv, x_image(), FEATURES_001[name], normalize=True, max_cells=None)
    # exact values kept: k / 9
    expected_exact = gn.ops.conv(x_image()[None, :, :, None],
                                 np.array(FEATURES_001[name], float)[:, :, None, None]).numpy()[0, :, :, 0] / 9
    np.testing.assert_allclose(exp.result, expected_exact, rtol=0, atol=1e-15)
    assert exp.result.shape == (7, 7)
    # printed two decimals, cut as the slide does (7/9 -> 0.77, 5/9 -> 0.55, 1 -> 1.00)
    printed = _grid_after(str(exp), "output (each sum / 9)", 7)
    slide = [row.split() for row in MAPS_001[name].strip().splitlines()]
    assert printed == [row for row in slide]
    np.testing.assert_array_equal(np.array(printed, float), table(MAPS_001[name], 7))
    # one step per output cell, with the numbers of the recipe
    assert len(exp.steps) == 49
    for step in exp.steps:
        i, j = step["position"]
        assert step["divisor"] == 9
        assert step["sum"] == pytest.approx(step["products"].sum())
        assert step["output"] == pytest.approx(step["sum"] / 9, abs=1e-15)
        assert step["output"] == pytest.approx(expected_exact[i, j], abs=1e-15)


def test_xo_first_cell_step_by_step():
    exp = explain(gn.ops.conv, x_image(), FEATURES_001["diagonal \\"], normalize=True, cells=[(0, 0), (3, 3)])
    first, centre = exp.steps
    img = x_image()
    np.testing.assert_array_equal(first["patch"], img[0:3, 0:3])
    np.testing.assert_array_equal(first["kernel"], FEATURES_001["diagonal \\"])
    np.testing.assert_array_equal(first["products"], img[0:3, 0:3] * np.array(FEATURES_001["diagonal \\"]))
    assert first["sum"] == 7 and first["output"] == 7 / 9 and first["window"] == ((0, 2), (0, 2))
    assert centre["sum"] == 5 and centre["output"] == 5 / 9       # the slide's "= .55" patch
    text = str(exp)
    assert "sum = -1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 = 7" in text
    assert "7 / 9 = 0.77" in text and "5 / 9 = 0.55" in text
    assert "4. divide by the number of kernel cells (9)" in text
    assert "Expanded 2 of 49 output cells" in text
    page = parse_html(exp._repr_html_())
    for number in ("0.77", "0.55", "1.00", "-0.11"):
        assert number in page.text


def test_decimals_option_rounds_unless_truncate():
    f = FEATURES_001["diagonal \\"]
    assert "7 / 9 = 0.778" in str(explain(gn.ops.conv, x_image(), f, normalize=True, decimals=3, max_cells=1))
    assert "7 / 9 = 0.777" in str(explain(gn.ops.conv, x_image(), f, normalize=True, decimals=3, truncate=True,
                                          max_cells=1))
    plain = explain(gn.ops.conv, x_image(), f, max_cells=1)
    assert plain.steps[0]["output"] == 7 and plain.steps[0]["divisor"] is None


IMAGE_003 = [[2, 4, 9, 1, 4], [2, 1, 4, 4, 6], [1, 1, 2, 9, 2], [7, 3, 5, 1, 3], [2, 3, 4, 8, 5]]
KERNEL_003 = [[1, 2, 3], [-4, 7, 4], [2, -5, 1]]
PADDED_003 = [[21, 59, 37, -19, 2], [30, 51, 66, 20, 43], [-14, 31, 49, 101, -19],
              [59, 15, 53, -2, 21], [49, 57, 64, 76, 10]]


def test_padding_is_drawn_and_marked():
    exp = explain(gn.ops.conv, IMAGE_003, KERNEL_003, padding=1, max_cells=None)
    np.testing.assert_array_equal(exp.result, PADDED_003)
    corner = exp.steps[0]
    np.testing.assert_array_equal(corner["padded"], [[1, 1, 1], [1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(corner["patch"], [[0, 0, 0], [0, 2, 4], [0, 2, 1]])
    assert corner["sum"] == 21
    assert exp.data["padded_input"].shape == (7, 7, 1)
    text = str(exp)
    assert "padding rows 1 before / 1 after, cols 1 before / 1 after" in text
    assert "(0)" in text and "padded input" in text
    html = exp._repr_html_()
    parse_html(html)
    assert 'class="pad"' in html and "sel" in html


def test_stride_two_reads_every_other_window():
    exp = explain(gn.ops.conv, IMAGE_003, KERNEL_003, strides=2, padding=1, max_cells=None)
    np.testing.assert_array_equal(exp.result, np.array(PADDED_003)[::2, ::2])
    windows = [s["window"] for s in exp.steps]
    assert windows[:3] == [((0, 2), (0, 2)), ((0, 2), (2, 4)), ((0, 2), (4, 6))]
    assert "(5 + 1 + 1 - 3) // 2 + 1 = 3" in str(exp)


def test_multi_channel_sums_per_channel_then_total(rng):
    x = rng.integers(-3, 4, size=(1, 4, 4, 2)).astype(np.float64)
    k = rng.integers(-2, 3, size=(2, 2, 2, 3)).astype(np.float64)
    exp = explain(gn.ops.conv, x, k, cells=[(1, 2, 2)])
    (step,) = exp.steps
    patch = x[0, 1:3, 2:4, :]
    np.testing.assert_array_equal(step["patch"], patch)
    np.testing.assert_array_equal(step["channel_sums"], (patch * k[..., 2]).sum(axis=(0, 1)))
    assert step["sum"] == (patch * k[..., 2]).sum() == gn.ops.conv(x, k).numpy()[0, 1, 2, 2]
    text = str(exp)
    assert "per-channel sums: channel 0: " in text and "total = " in text
    assert "patch (channel 1)" in text


def test_conv2d_layer_adds_bias_and_activation():
    layer = gn.layers.Conv2D(2, 3, activation="relu")
    x = np.asarray(x_image(), np.float32)[None, :, :, None]
    layer(x)
    kernel = np.stack([np.array(FEATURES_001["diagonal \\"]), np.array(FEATURES_001["x"])], -1)[:, :, None, :]
    layer.set_weights([kernel.astype(np.float32), np.array([-2.0, 0.5], np.float32)])
    exp = explain(layer, x, cells=[(0, 0), (3, 3)])
    np.testing.assert_allclose(exp.result, layer(x).numpy())
    by = {(s["position"], s["filter"]): s for s in exp.steps}
    s = by[((0, 0), 0)]
    assert s["sum"] == 7 and s["bias"] == -2 and s["pre_activation"] == 5 and s["output"] == 5
    assert s["activation"] == "relu" and s["derivative"] == 1
    s = by[((3, 3), 1)]
    assert s["sum"] == 9 and s["output"] == 9.5
    s = by[((0, 0), 1)]
    assert s["sum"] == 3 and s["output"] == 3.5
    text = str(exp)
    assert "+ bias -2 = 5" in text and "relu(5) = 5   (derivative 1)" in text
    assert "apply relu" in text and "filter 1" in text


def test_conv1d_causal_padding():
    layer = gn.layers.Conv1D(1, 2, padding="causal", use_bias=False)
    x = np.array([[[1.0], [2.0], [3.0]]], np.float32)
    layer(x)
    layer.set_weights([np.array([[[1.0]], [[10.0]]], np.float32)])
    exp = explain(layer, x)
    np.testing.assert_allclose(exp.result[0, :, 0], [10, 21, 32])
    first = exp.steps[0]
    assert first["position"] == (0,)
    np.testing.assert_array_equal(first["padded"], [True, False])
    assert first["sum"] == 10
    assert "steps 1 before / 0 after" in str(exp)


def test_bare_1d_signal():
    exp = explain(gn.ops.conv, [1, 2, 3, 4, 5], [1, 0, -1], strides=2, padding="same")
    np.testing.assert_array_equal(exp.result, [-2, -2, 4])
    assert [s["position"] for s in exp.steps] == [(0,), (1,), (2,)]
    np.testing.assert_array_equal(exp.steps[2]["patch"], [4, 5, 0])


def test_max_cells_and_bad_cells():
    exp = explain(gn.ops.conv, x_image(), FEATURES_001["x"])
    assert len(exp.steps) == 16                                  # the default
    assert "Expanded 16 of 49 output cells" in str(exp)
    assert len(explain(gn.ops.conv, x_image(), FEATURES_001["x"], max_cells=0).steps) == 0
    with pytest.raises(ValueError, match="outside the output"):
        explain(gn.ops.conv, x_image(), FEATURES_001["x"], cells=[(7, 0)])
    with pytest.raises(TypeError, match="unexpected option"):
        explain(gn.ops.conv, x_image(), FEATURES_001["x"], stride=2)
