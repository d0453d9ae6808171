"""glassnet run camera: the four-pixel camera, hand-designed and trained."""
import numpy as np
import pytest

from glassnet.apps import camera


def test_data_set():
    images, labels = camera.base_patterns()
    assert images.shape == (8, 2, 2) and list(labels) == [0, 1, 2, 3, 0, 1, 2, 3]
    np.testing.assert_array_equal(images[4:], -images[:4])          # each pattern's inverse
    np.testing.assert_array_equal(images[1], [[1, -1], [1, -1]])     # vertical: a white column
    np.testing.assert_array_equal(images[3], [[1, 1], [-1, -1]])     # horizontal: a white row
    x, y = camera.training_set(seed=3)
    assert x.shape == (288, 2, 2) and x.dtype == np.float32 and len(y) == 288
    np.testing.assert_allclose(x[:8], images)                        # the clean ones come first
    np.testing.assert_allclose(x[24:32], 0.25 * images)
    assert np.abs(x).max() <= 1
    xt, yt = camera.held_out_set(500, seed=4)
    assert xt.shape == (500, 2, 2) and np.abs(xt).max() <= 1 and set(yt) == {0, 1, 2, 3}
    np.testing.assert_array_equal(camera.held_out_set(20, seed=4)[0], camera.held_out_set(20, seed=4)[0])


def test_handset_weights_are_plus_minus_one_or_zero():
    model = camera.handset_model()
    kernels = [l.get_weights() for l in model.layers if l.get_weights()]
    assert [k.shape for k, _ in kernels] == [(4, 4), (4, 4), (4, 8), (8, 4)]
    for kernel, bias in kernels:
        assert set(np.unique(kernel)) <= {-1.0, 0.0, 1.0}
        assert not bias.any()
    acts = [l.activation.__name__ if hasattr(l.activation, "__name__") else str(l.activation)
            for l in model.layers if l.get_weights()]
    assert acts[:3] == ["tanh", "tanh", "relu"]


def test_receptive_fields():
    fields = camera.receptive_fields()
    np.testing.assert_array_equal(fields["layer1"]["a"], [[1, 0], [1, 0]])          # the left column
    np.testing.assert_array_equal(fields["layer2"]["vertical"], [[1, -1], [1, -1]])
    np.testing.assert_array_equal(fields["layer2"]["diagonal"], [[1, -1], [-1, 1]])
    np.testing.assert_array_equal(fields["layer2"]["horizontal"], [[1, 1], [-1, -1]])
    np.testing.assert_array_equal(fields["layer2"]["solid"], [[1, 1], [1, 1]])


def test_handset_classifies_every_image():
    model = camera.handset_model()
    images, labels = camera.base_patterns()
    votes = model.predict(images, verbose=0)
    assert (votes.argmax(1) == labels).all()
    # the winner's vote is tanh(2 tanh 2) = 0.958; the others are exactly 0
    np.testing.assert_allclose(votes.max(1), np.tanh(2 * np.tanh(2)), rtol=1e-5)
    np.testing.assert_allclose(np.sort(votes, 1)[:, :3], 0, atol=1e-6)
    x, y = camera.training_set()
    assert (model.predict(x[:32], verbose=0).argmax(1) == y[:32]).all()
    xt, yt = camera.held_out_set(2000, seed=9)
    assert (model.predict(xt, verbose=0).argmax(1) == yt).all()


def test_trained_from_random_weights_reaches_100_percent_held_out(tmp_path, capsys):
    r = camera.run(seed=0, out=tmp_path, verbose=1)
    assert r["handset_clean_accuracy"] == 1.0 and r["handset_heldout_accuracy"] == 1.0
    assert r["trained_train_accuracy"] == 1.0
    assert r["trained_heldout_accuracy"] == 1.0
    assert r["seed_used"] >= 0 and r["tries"] >= 1
    out = capsys.readouterr().out
    assert "-> vertical (right)" in out and "WRONG" not in out
    assert (tmp_path / "camera" / "results.json").exists()
