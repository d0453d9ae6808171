"""Sequential, functional and subclassed models: structure, summary, freezing, errors."""
import numpy as np
import pytest

import glassnet as gn
from tests.layers.keras_reference import keras_or_skip

L = gn.layers


def seed002_mlp(lib):
    return lib.Sequential([lib.Input((784,)), lib.layers.Dense(512, activation="relu"), lib.layers.Dropout(0.2),
                           lib.layers.Dense(512, activation="relu"), lib.layers.Dropout(0.2),
                           lib.layers.Dense(10, activation="softmax")])


def kerasio_convnet(lib):
    return lib.Sequential([lib.Input((28, 28, 1)), lib.layers.Conv2D(32, 3, activation="relu"), lib.layers.MaxPooling2D(2),
                           lib.layers.Conv2D(64, 3, activation="relu"), lib.layers.MaxPooling2D(2), lib.layers.Flatten(),
                           lib.layers.Dropout(0.5), lib.layers.Dense(10, activation="softmax")])


def _rows(lines):
    """(name-free) type, output shape and param count of each row of a summary table."""
    rows = []
    for line in lines:
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if "(" in cells[0]:
                rows.append((cells[0].split("(")[-1].rstrip(")"), cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("build", [seed002_mlp, kerasio_convnet])
def test_summary_matches_keras(build):
    keras = keras_or_skip()
    ours, theirs = [], []
    build(gn).summary(print_fn=ours.append)
    build(keras).summary(print_fn=lambda s, line_break=True: theirs.append(s))
    ours = "\n".join(ours).split("\n")
    theirs = "\n".join(theirs).split("\n")
    assert _rows(ours) == _rows(theirs)
    assert [l for l in ours if "params" in l] == [l for l in theirs if "params" in l]


def test_seed002_mlp_param_counts():
    model = seed002_mlp(gn)
    assert [l.count_params() for l in model.layers] == [401920, 0, 262656, 0, 5130]
    assert model.count_params() == 669706
    assert kerasio_convnet(gn).count_params() == 34826


def test_functional_two_inputs_shared_layer_two_outputs(rng):
    a, b = gn.Input((4,), name="a"), gn.Input((4,), name="b")
    shared = L.Dense(3, name="shared")
    merged = L.Concatenate()([shared(a), shared(b)])
    out1, out2 = L.Dense(1, name="o1")(merged), L.Dense(2, name="o2")(merged)
    model = gn.Model([a, b], [out1, out2])
    assert [l.name for l in model.layers][:3] == ["a", "b", "shared"]
    xa, xb = rng.standard_normal((5, 4)).astype("float32"), rng.standard_normal((5, 4)).astype("float32")
    y1, y2 = model([xa, xb])
    assert y1.shape == (5, 1) and y2.shape == (5, 2)
    # the shared layer is one set of weights used twice
    k, bias = shared.get_weights()
    h = np.concatenate([xa @ k + bias, xb @ k + bias], axis=1)
    np.testing.assert_allclose(y1.numpy(), h @ model.get_layer("o1").get_weights()[0] + model.get_layer("o1").get_weights()[1], rtol=1e-5)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "a[0][0], b[0][0]" in text and "shared[1][0]" in text
    # dict inputs by name, and gradients reach the shared weights from both branches
    y1, _ = model({"a": xa, "b": xb})
    y1.sum().backward()
    assert shared.kernel.grad is not None and np.abs(shared.kernel.grad).sum() > 0


def test_functional_model_trains_with_two_losses(rng):
    a = gn.Input((4,))
    h = L.Dense(8, activation="relu")(a)
    model = gn.Model(a, [L.Dense(1, name="reg")(h), L.Dense(3, activation="softmax", name="cls")(h)])
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"}, metrics={"cls": "accuracy"})
    x = rng.standard_normal((32, 4)).astype("float32")
    history = model.fit(x, {"reg": x[:, :1], "cls": (x[:, 0] > 0).astype(int)}, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "cls_accuracy"}


def test_graph_disconnected_is_an_error():
    a, b = gn.Input((4,)), gn.Input((4,))
    out = L.Add()([a, b])
    with pytest.raises(ValueError, match="graph disconnected"):
        gn.Model(a, out)


class TwoLayer(gn.Model):
    def __init__(self):
        super().__init__(name="two_layer")
        self.hidden = L.Dense(8, activation="tanh")
        self.out = L.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def test_subclassed_model_tracks_layers_and_trains(rng):
    model = TwoLayer()
    x = rng.standard_normal((16, 3)).astype("float32")
    assert model(x).shape == (16, 2)
    assert [l.name for l in model.layers] == [model.hidden.name, model.out.name]
    assert len(model.trainable_weights) == 4
    model.compile("sgd", "mse")
    before = model.get_weights()
    model.fit(x, np.zeros((16, 2), "float32"), epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_freezing_a_layer_stops_its_updates(rng):
    model = gn.Sequential([gn.Input((3,)), L.Dense(4, name="frozen"), L.Dense(1, name="free")])
    model.get_layer("frozen").trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    model.compile("sgd", "mse")
    frozen_before = model.get_layer("frozen").get_weights()
    free_before = model.get_layer("free").get_weights()
    x = rng.standard_normal((8, 3)).astype("float32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=2, verbose=0)
    for a, b in zip(frozen_before, model.get_layer("frozen").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(free_before[0], model.get_layer("free").get_weights()[0])
    lines = []
    model.summary(print_fn=lines.append)
    assert " Non-trainable params: 16 (64.00 B)" in "\n".join(lines).split("\n")


def test_sequential_add_pop_and_lazy_build(rng):
    model = gn.Sequential()
    model.add(L.Dense(4))
    model.add(L.Dense(2))
    assert not model.built
    assert model(rng.standard_normal((3, 5)).astype("float32")).shape == (3, 2)
    assert model.built and model.layers[0].kernel.shape == (5, 4)
    popped = model.pop()
    assert popped.units == 2 and len(model.layers) == 1
    with pytest.raises(TypeError, match="expected a Layer instance"):
        model.add("dense")


def test_wrong_input_is_named_and_leaves_the_layer_unbuilt():
    dense = L.Dense(10)
    model = gn.Sequential([gn.Input((784,)), dense])
    with pytest.raises(ValueError, match=r'Input 0 of layer "functional|sequential|dense'):
        model(np.zeros((2, 28, 28), "float32"))
    fresh = L.Dense(3)
    with pytest.raises(ValueError, match=r'layer "dense_?\d*" is incompatible with the layer: expected min_ndim=2, found ndim=1'):
        fresh(np.zeros((2,), "float32"))
    assert not fresh.built and fresh.weights == []


def test_dense_after_images_suggests_flatten():
    model = gn.Sequential([gn.Input((28, 28)), L.Dense(10)])
    with pytest.raises(ValueError, match=r'expected axis -1 of input shape to have value 28'):
        model(np.zeros((2, 784), "float32"))
    layer = L.Dense(10)
    layer(np.zeros((2, 784), "float32"))
    with pytest.raises(ValueError, match=r"value 784, but received input with shape \(None, 28, 28\); did you forget a Flatten"):
        layer(np.zeros((2, 28, 28), "float32"))


def test_set_weights_names_each_mismatch():
    layer = L.Dense(3)
    layer(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match=r"expected a list of 2 arrays \(kernel \(4, 3\), bias \(3,\)\), received 1"):
        layer.set_weights([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"dense_?\d*/kernel: expected \(4, 3\), received \(3, 4\)"):
        layer.set_weights([np.zeros((3, 4)), np.zeros(3)])


def test_layer_names_are_numbered_like_keras():
    gn.layers.layer.reset_names()
    names = [L.Dense(1).name, L.Dense(1).name, L.Conv2D(1, 1).name, L.MaxPooling2D().name, L.BatchNormalization().name]
    assert names == ["dense", "dense_1", "conv2d", "max_pooling2d", "batch_normalization"]
