"""glassnet run xo: the slides' hand-set X/O convnet, and one trained on generated variants."""
import json

import numpy as np
import pytest

from glassnet import cli
from glassnet.apps import xo
from tests.seed_data import MAPS_001

# seed 001, "Filtering: the math behind the match": the 9x9 X
SLIDE_X = """-1 -1 -1 -1 -1 -1 -1 -1 -1
             -1  1 -1 -1 -1 -1 -1  1 -1
             -1 -1  1 -1 -1 -1  1 -1 -1
             -1 -1 -1  1 -1  1 -1 -1 -1
             -1 -1 -1 -1  1 -1 -1 -1 -1
             -1 -1 -1  1 -1  1 -1 -1 -1
             -1 -1  1 -1 -1 -1  1 -1 -1
             -1  1 -1 -1 -1 -1 -1  1 -1
             -1 -1 -1 -1 -1 -1 -1 -1 -1"""
# "Convolution layer: one image becomes a stack of filtered images" (k/9 cut to two decimals)
SLIDE_MAPS = MAPS_001
# "Rectified Linear Units": the first map with its negatives set to 0
SLIDE_RELU = """0.77 0 0.11 0.33 0.55 0 0.33
                0 1.00 0 0.33 0 0.11 0
                0.11 0 1.00 0 0.11 0 0.55
                0.33 0.33 0 0.55 0 0.33 0.33
                0.55 0 0.11 0 1.00 0 0.11
                0 0.11 0 0.33 0 1.00 0
                0.33 0 0.55 0.33 0.11 0 0.77"""
# "Pooling layer: a stack of images becomes a stack of smaller images"
SLIDE_POOLED = {
    "diagonal \\": "1.00 0.33 0.55 0.33  0.33 1.00 0.33 0.55  0.55 0.33 1.00 0.11  0.33 0.55 0.11 0.77",
    "x": "0.55 0.33 0.55 0.33  0.33 1.00 0.55 0.11  0.55 0.55 0.55 0.11  0.33 0.11 0.11 0.33",
    "diagonal /": "0.33 0.55 1.00 0.77  0.55 0.55 1.00 0.33  1.00 1.00 0.11 0.55  0.77 0.33 0.55 0.33",
}


def table(text, n):
    return np.array(text.split(), float).reshape(n, n)


@pytest.fixture(scope="module")
def canon():
    return xo.stages(xo.handset_model(), np.stack([xo.x_image(), xo.o_image()]))


def test_the_x_is_the_slides():
    np.testing.assert_array_equal(xo.x_image(), table(SLIDE_X, 9))
    o = xo.o_image()
    assert set(np.unique(o)) == {-1, 1} and (o == 1).sum() == 16
    np.testing.assert_array_equal(o, o[::-1])                   # symmetric, like a ring
    np.testing.assert_array_equal(o, o.T)


def test_handset_layers_and_fixed_kernel():
    model = xo.handset_model()
    conv = model.get_layer("features")
    assert len(conv.get_weights()) == 1                         # no bias
    kernel = conv.get_weights()[0]
    assert kernel.shape == (3, 3, 1, 3)
    np.testing.assert_allclose(kernel * 9, np.stack([np.array(f) for f in xo.FEATURES.values()], -1)[:, :, None, :])
    assert model.get_layer("pool").padding == "same"
    np.testing.assert_allclose(np.linalg.norm(model.get_layer("vote").get_weights()[0], axis=0), 1, rtol=1e-6)


def test_handset_reproduces_the_slides_feature_maps(canon):
    maps = canon["features"][0]
    assert maps.shape == (7, 7, 3)
    for i, name in enumerate(xo.FEATURES):
        np.testing.assert_array_equal(xo.as_printed(maps[..., i]), table(SLIDE_MAPS[name], 7), err_msg=name)
    np.testing.assert_array_equal(xo.as_printed(canon["relu"][0, ..., 0]), table(SLIDE_RELU, 7))
    pooled = canon["pool"][0]
    assert pooled.shape == (4, 4, 3)                            # "same" padding: 7 -> 4, as on the slide
    for i, name in enumerate(xo.FEATURES):
        np.testing.assert_array_equal(xo.as_printed(pooled[..., i]), table(SLIDE_POOLED[name], 4), err_msg=name)


def test_handset_classifies_the_canonical_x_and_o(canon):
    assert list(canon["vote"].argmax(1)) == [0, 1]
    # a vote is the projection on a unit-length prototype: an X scores |p_X| for X
    np.testing.assert_allclose(canon["vote"][0, 0], np.linalg.norm(canon["flatten"][0]), rtol=1e-5)


def test_printed_grid_shows_the_slide_numbers(canon):
    text = xo.format_maps(canon["features"][0], ["a", "b", "c"])
    first = text.split("\n")[1].split()
    assert first[:7] == ["0.77", "-0.11", "0.11", "0.33", "0.55", "-0.11", "0.33"]


def test_variants_are_seeded_balanced_and_plus_minus_one():
    x, y = xo.make_variants(200, seed=5)
    x2, y2 = xo.make_variants(200, seed=5)
    x3, _ = xo.make_variants(200, seed=6)
    assert x.shape == (200, 9, 9, 1) and x.dtype == np.float32 and y.shape == (200,)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, x3)
    assert (y == 0).sum() == 100 and set(np.unique(x)) == {-1.0, 1.0}
    # no variation at all draws the canonical images
    still = dict(rotate=0, shear=0, scale=(1, 1), shift=0, weight=(0.5, 0.5), noise=0)
    xc, yc = xo.make_variants(4, seed=0, **still)
    for img, label in zip(xc[..., 0], yc):
        np.testing.assert_array_equal(img, xo.x_image() if label == 0 else xo.o_image())


def test_held_out_drops_images_seen_in_training():
    x, _ = xo.make_variants(50, seed=1)
    xt, yt, dropped = xo.held_out(x, 50, seed=1)               # the same stream: all seen
    assert dropped == 50 and len(xt) == 0
    xt, yt, dropped = xo.held_out(x, 300, seed=2)
    seen = {img.tobytes() for img in x}
    assert dropped + len(xt) == 300 and not any(img.tobytes() in seen for img in xt)


def test_trained_convnet_reaches_100_percent_on_held_out_variants(tmp_path):
    r = xo.run(seed=0, out=tmp_path, verbose=0)
    assert r["trained_heldout_accuracy"] == 1.0
    assert r["handset_classifies_canonical"] is True
    assert 0.8 < r["handset_heldout_accuracy"] < 1.0              # template matching is not enough
    assert r["heldout_samples"] >= 950
    saved = json.loads((tmp_path / "xo" / "results.json").read_text())
    assert saved["trained_heldout_accuracy"] == 1.0


def test_run_prints_the_feature_maps(tmp_path, capsys):
    xo.run(epochs=1, out=tmp_path, verbose=2, n_train=100, n_test=100)
    text = capsys.readouterr().out
    assert "0.77 -0.11  0.11  0.33  0.55 -0.11  0.33" in text
    assert "1.00  0.33  0.55  0.33" in text                    # the first pooled row
    assert "-> X" in text and "-> O" in text


def test_cli_runs_xo(tmp_path, capsys):
    assert cli.main(["run", "xo", "--epochs", "1", "--out", str(tmp_path), "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "trained_heldout_accuracy" in out
    assert (tmp_path / "xo" / "results.json").exists() and (tmp_path / "xo" / "handset.txt").exists()
