"""gn.explain on pooling: seed 004's edge filter -> ReLU -> 2x2 max pool, winners, averages."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.explainer import explain
from tests.explainer import EDGE_MAP_004, EDGES_004, IMAGE_004, parse_html


def test_seed004_edges_relu_max_pool_gives_1_3_1_3():
    conv = explain(gn.ops.conv, IMAGE_004, EDGES_004, max_cells=None)
    np.testing.assert_array_equal(conv.result, EDGE_MAP_004)
    assert conv.steps[12]["position"] == (2, 2) and conv.steps[12]["sum"] == -2
    relu = explain(gn.ops.relu, conv.result, max_cells=None)
    np.testing.assert_array_equal(relu.result[2], [0, 0, 0, 0, 0])
    assert [s["derivative"] for s in relu.steps[10:15]] == [0, 0, 0, 0, 0]
    pool = explain(gn.ops.max_pool, relu.result, pool_size=2)
    np.testing.assert_array_equal(pool.result, [[1, 3], [1, 3]])
    assert [s["max"] for s in pool.steps] == [1, 3, 1, 3]
    # "What numbers were involved in computing this 1?": the top-left window, and its winner
    top_left = pool.steps[0]
    np.testing.assert_array_equal(top_left["values"], [[0, 1], [1, 1]])
    assert top_left["window"] == ((0, 1), (0, 1))
    assert top_left["winner"] == (0, 1)           # the first maximum in row-major order
    assert [s["winner"] for s in pool.steps] == [(0, 1), (0, 2), (3, 0), (3, 3)]
    text = str(pool)
    assert "max = 1, at row 0, col 1 of the input" in text
    assert "[1]" in text and "[3]" in text           # winners marked in the drawn input
    lines = text.splitlines()
    out = lines[lines.index("output") + 1:lines.index("output") + 3]
    assert [l.split() for l in out] == [["1", "3"], ["1", "3"]]
    html = pool._repr_html_()
    page = parse_html(html)
    assert 'class="win"' in html and "max = 3" in page.text


def test_winner_gets_the_gradient():
    x = np.array([[1.0, 5.0, 2.0, 2.0], [5.0, 0.0, 7.0, 1.0]])
    exp = explain(gn.ops.max_pool, x, 2)
    assert [s["winner"] for s in exp.steps] == [(0, 1), (1, 2)]    # ties: the first 5 wins
    t = gn.tensor(x[None, :, :, None], requires_grad=True)
    gn.ops.max_pool(t, 2).sum().backward()
    assert [tuple(int(v) for v in w) for w in np.argwhere(t.grad[0, :, :, 0])] == [(0, 1), (1, 2)]


def test_average_pool_counts_only_real_cells():
    exp = explain(gn.ops.avg_pool, [[1, 2, 3], [4, 5, 6], [7, 8, 9]], pool_size=2, padding="same", max_cells=None)
    np.testing.assert_allclose(exp.result, [[3, 4.5], [7.5, 9]])
    last = exp.steps[-1]
    assert last["sum"] == 9 and last["count"] == 1 and last["mean"] == 9
    assert exp.steps[1]["count"] == 2 and exp.steps[1]["sum"] == 9
    text = str(exp)
    assert "(1 + 2 + 4 + 5) / 4 = 3" in text
    assert "padded cells are not counted" in text


def test_seed002_3x3_pool_stride_3_and_average():
    image = [[1, 2, 3, 5, 2, 1], [4, 5, 6, 5, 7, 1], [7, 8, 9, 9, 5, 12]]
    exp = explain(gn.ops.max_pool, image, (3, 3), 3)
    np.testing.assert_array_equal(exp.result, [[9, 12]])
    assert "max = 9" in str(exp) and "max = 12" in str(exp)
    avg = explain(gn.ops.avg_pool, image, (3, 3))
    assert avg.steps[0]["mean"] == 5 and avg.steps[1]["mean"] == pytest.approx(47 / 9)


def test_pooling_layers_and_channels(rng):
    x = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    layer = gn.layers.MaxPooling2D()
    exp = explain(layer, x, sample=1, cells=[(1, 0)])
    np.testing.assert_array_equal(exp.result, layer(x).numpy())
    assert [s["channel"] for s in exp.steps] == [0, 1, 2]
    for s in exp.steps:
        assert s["output"] == x[1, 2:4, 0:2, s["channel"]].max() == s["max"]
    g = explain(gn.layers.GlobalAveragePooling2D(), x)
    np.testing.assert_allclose(g.result, x.mean(axis=(1, 2)), rtol=1e-6)
    assert g.steps[0]["count"] == 16
    m1 = explain(gn.layers.MaxPooling1D(2, padding="same"), np.arange(5.0).reshape(1, 5, 1))
    np.testing.assert_array_equal(m1.result[0, :, 0], [1, 3, 4])
    assert m1.steps[-1]["winner"] == (4,)
