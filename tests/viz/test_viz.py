"""gn.viz: the numbers (activations, gradient norms, saliency, confusion matrix, graph) are
checked against independent computations; the pictures must save as PNGs that decode, at
the size asked for, with no two labels overlapping."""
import io
import struct
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import glassnet as gn
from glassnet import viz

L = gn.layers
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib", reason="the viz pictures need matplotlib (pip install glassnet[viz])")


def conv_model(seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([
        gn.Input((6, 6, 1)),
        L.Conv2D(3, 3, activation="relu", name="conv"),
        L.MaxPooling2D(name="pool"),
        L.Flatten(name="flat"),
        L.Dense(4, activation="softmax", name="out"),
    ], name="tiny_convnet")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def conv_data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6, 1), dtype=np.float32), rng.integers(0, 4, n)


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def check_figure(fig, dpi=72):
    """The figure saves to a PNG of the expected pixel size that matplotlib reads back,
    and no two of its texts overlap."""
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = buf.getvalue()
    w, h = png_size(data)
    assert abs(w - fig.get_figwidth() * dpi) <= 1 and abs(h - fig.get_figheight() * dpi) <= 1
    pixels = imread(io.BytesIO(data))
    assert pixels.shape[:2] == (h, w)
    assert pixels.std() > 0  # something was drawn
    assert_no_text_overlap(fig)
    return data


def drawn_texts(fig):
    """Every text the figure draws: titles, axis and tick labels in view, legends, notes."""
    texts = list(fig.texts)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label] + list(ax.texts)
        legend = ax.get_legend()
        if legend is not None:
            texts += list(legend.get_texts())
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = (hi - lo) * 1e-9
            for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                                 (axis.get_minorticklocs(), axis.get_minorticklabels())):
                texts += [t for loc, t in zip(locs, labels) if lo - eps <= loc <= hi + eps]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def assert_no_text_overlap(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for text in drawn_texts(fig):
        bb = text.get_window_extent(renderer)
        if bb.width > 0 and bb.height > 0:
            boxes.append((text.get_text(), bb.x0 + 1, bb.y0 + 1, bb.x1 - 1, bb.y1 - 1))
    for i, (ta, ax0, ay0, ax1, ay1) in enumerate(boxes):
        for tb, bx0, by0, bx1, by1 in boxes[i + 1:]:
            overlap = ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1
            assert not overlap, f"labels overlap: {ta!r} and {tb!r}"


# ---- activations ------------------------------------------------------------------------------

def test_activations_sequential_every_layer_in_order():
    model = conv_model()
    x, _ = conv_data(5)
    acts = viz.activations(model, x)
    assert list(acts) == ["conv", "pool", "flat", "out"]
    assert [a.shape for a in acts.values()] == [(5, 4, 4, 3), (5, 2, 2, 3), (5, 12), (5, 4)]
    assert all(isinstance(a, np.ndarray) for a in acts.values())
    np.testing.assert_allclose(acts["out"], model.predict(x, verbose=0), rtol=1e-6)
    # the pool output is the 2x2 max of the conv output
    c = acts["conv"]
    np.testing.assert_allclose(acts["pool"], c.reshape(5, 2, 2, 2, 2, 3).max(axis=(2, 4)))


def test_activations_single_example_gets_a_batch_axis():
    model = conv_model()
    x, _ = conv_data(1)
    assert viz.activations(model, x[0])["conv"].shape == (1, 4, 4, 3)


def test_activations_functional_replays_nodes_and_names_shared_calls():
    inp = gn.Input((5,))
    shared = L.Dense(5, activation="tanh", name="shared")
    h = shared(shared(inp))
    out = L.Add(name="sum")([h, inp])
    model = gn.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    acts = viz.activations(model, x)
    assert list(acts) == ["shared", "shared[1]", "sum"]
    k, b = shared.get_weights()
    first = np.tanh(x @ k + b)
    np.testing.assert_allclose(acts["shared"], first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["shared[1]"], np.tanh(first @ k + b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["sum"], model.predict(x, verbose=0), rtol=1e-6)


def test_activations_subclassed_model_traces_sublayers_and_restores_them():
    class Net(gn.Model):
        def __init__(self):
            super().__init__()
            self.a = L.Dense(3, activation="relu", name="a")
            self.b = L.Dense(2, name="b")

        def call(self, x):
            return self.b(self.a(x))

    net = Net()
    x = np.ones((2, 4), "float32")
    net(x)
    acts = viz.activations(net, x)
    assert list(acts) == ["a", "b"] and acts["b"].shape == (2, 2)
    assert "call" not in net.a.__dict__ and "call" not in net.b.__dict__
    np.testing.assert_allclose(acts["b"], net.predict(x, verbose=0), rtol=1e-6)


# ---- gradient norms and saliency --------------------------------------------------------------

def test_gradient_norms_match_a_manual_backward_and_leave_grads_alone():
    model = conv_model()
    x, y = conv_data(8)
    sentinel = [np.full(w.shape, 7.0, w.dtype) for w in model.trainable_weights]
    for w, s in zip(model.trainable_weights, sentinel):
        w.grad = s
    norms = viz.gradient_norms(model, x, y)
    assert list(norms) == ["conv", "out"] and list(norms["conv"]) == ["kernel", "bias"]
    for w, s in zip(model.trainable_weights, sentinel):
        assert w.grad is s
    # independent: the same loss, by hand
    for w in model.trainable_weights:
        w.grad = None
    probs = model(x, training=False)
    picked = (probs * gn.tensor(np.eye(4, dtype="float32")[y])).sum(axis=1)
    (-(picked.log()).mean()).backward()
    conv_kernel, conv_bias, out_kernel, out_bias = [np.linalg.norm(w.grad) for w in model.trainable_weights]
    np.testing.assert_allclose(
        [norms["conv"]["kernel"], norms["conv"]["bias"], norms["out"]["kernel"], norms["out"]["bias"]],
        [conv_kernel, conv_bias, out_kernel, out_bias], rtol=1e-4)


def test_gradient_norms_need_a_loss():
    model = gn.Sequential([gn.Input((3,)), L.Dense(2)])
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="no compiled loss"):
        viz.gradient_norms(model, x, y)
    norms = viz.gradient_norms(model, x, y, loss="mse")
    assert set(norms) == {model.layers[0].name} and norms[model.layers[0].name]["kernel"] > 0


def test_gradient_norms_do_not_disturb_a_seeded_run():
    """training=False: no dropout draw, so the random stream, and the run, are unchanged."""
    def run(probe):
        gn.utils.set_random_seed(3)
        model = gn.Sequential([gn.Input((4,)), L.Dense(8, activation="relu"), L.Dropout(0.5), L.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
        y = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        if probe:
            viz.gradient_norms(model, x, y)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        return model.get_weights()

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


def test_saliency_of_a_linear_model_is_the_weight_column():
    model = gn.Sequential([gn.Input((4,)), L.Dense(3, name="lin")])
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    kernel = model.layers[0].get_weights()[0]
    sal = viz.saliency(model, x, class_index=1)
    assert sal.shape == x.shape
    np.testing.assert_allclose(sal, np.broadcast_to(np.abs(kernel[:, 1]), x.shape), rtol=1e-6)
    per_example = viz.saliency(model, x[:2], class_index=[0, 2])
    np.testing.assert_allclose(per_example[1], np.abs(kernel[:, 2]), rtol=1e-6)
    assert viz.saliency(model, x[0], class_index=0).shape == (4,)
    with pytest.raises(ValueError, match="out of range"):
        viz.saliency(model, x, class_index=3)


def test_saliency_of_a_convnet_is_nonnegative_and_image_shaped():
    model = conv_model()
    x, _ = conv_data(3)
    sal = viz.saliency(model, x)
    assert sal.shape == x.shape and sal.dtype == np.float32 and (sal >= 0).all() and sal.max() > 0


# ---- confusion matrix -------------------------------------------------------------------------

def test_confusion_matrix_counts_from_labels_onehot_and_probabilities():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    y_pred = np.array([0, 2, 2, 2, 1, 1])
    expected = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 2]])
    np.testing.assert_array_equal(viz.confusion_matrix(y_true, y_pred), expected)
    probs = np.eye(3)[y_pred] * 0.8 + 0.05
    np.testing.assert_array_equal(viz.confusion_matrix(np.eye(3)[y_true], probs), expected)
    assert viz.confusion_matrix(y_true, y_pred).dtype == np.int64
    assert viz.confusion_matrix(y_true, y_pred, num_classes=5).shape == (5, 5)
    binary = viz.confusion_matrix(np.array([0, 1, 1, 0]), np.array([[0.2], [0.9], [0.4], [0.6]]))
    np.testing.assert_array_equal(binary, [[1, 1], [1, 1]])
    with pytest.raises(ValueError, match="must match"):
        viz.confusion_matrix(y_true, y_pred[:3])
    with pytest.raises(ValueError, match="num_classes"):
        viz.confusion_matrix(y_true, y_pred, num_classes=2)


# ---- graph ------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def svg_nodes(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    titles = [t.text for g in root.iter(SVG + "g") for t in g.findall(SVG + "text")[:1]]
    return root, titles


def test_graph_svg_of_a_sequential_model():
    root, titles = svg_nodes(viz.graph_svg(conv_model()))
    assert titles[1:] == ["conv", "pool", "flat", "out"]
    assert len(root.findall(f".//{SVG}path[@marker-end]")) == 4


def test_graph_svg_of_a_functional_model_with_a_skip_connection():
    inp = gn.Input((4,), name="x_in")
    h = L.Dense(4, name="d1")(inp)
    out = L.Add(name="skip_add")([L.Dense(4, name="d2")(h), inp])
    root, titles = svg_nodes(viz.graph_svg(gn.Model(inp, out)))
    assert titles == ["x_in", "d1", "d2", "skip_add"]
    assert len(root.findall(f".//{SVG}path[@marker-end]")) == 4


def test_graph_svg_of_a_tensor_shows_ops_inputs_and_weights():
    model = conv_model()
    x, _ = conv_data(2)
    loss = model(gn.tensor(x)).sum()
    _, titles = svg_nodes(viz.graph_svg(loss))
    # each layer's conv/matmul, bias add and activation run as one fused op, shown as such
    assert {"conv_bias_relu", "max_pool", "matmul_bias_softmax", "sum"} <= set(titles)
    assert {"conv/kernel", "conv/bias", "out/kernel", "out/bias"} <= set(titles)
    _, few = svg_nodes(viz.graph_svg(loss, max_nodes=3))
    assert any(t.startswith("\u2026") and "earlier ops" in t for t in few) and len(few) < len(titles)


def test_graph_svg_errors_and_escaping():
    class Net(gn.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed"):
        viz.graph_svg(Net())
    with pytest.raises(TypeError):
        viz.graph_svg(42)
    weird = gn.Sequential([gn.Input((2,)), L.Dense(1, name="a<b&c")])
    _, titles = svg_nodes(viz.graph_svg(weird))
    assert "a<b&c" in titles


def test_graph_svg_with_graphviz_when_installed():
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (the default engine needs nothing)")
    root = ET.fromstring(viz.graph_svg(conv_model(), engine="dot"))
    assert root.tag == SVG + "svg"


# ---- pictures ---------------------------------------------------------------------------------

def test_feature_maps_filters_and_saliency_figures(mpl):
    model = conv_model()
    x, _ = conv_data(4)
    check_figure(viz.feature_maps(model, x[0]))
    check_figure(viz.feature_maps(model, x, layer="out", index=2))     # a vector: bars
    check_figure(viz.filters(model))
    check_figure(viz.plot_saliency(model, x[:3]))
    with pytest.raises(ValueError, match="no layer named"):
        viz.feature_maps(model, x, layer="nope")


def test_filters_for_rgb_many_channel_conv1d_and_dense_layers(mpl):
    rgb = gn.Sequential([gn.Input((8, 8, 3)), L.Conv2D(5, 3), L.Conv2D(4, 3, name="second")])
    check_figure(viz.filters(rgb))
    check_figure(viz.filters(rgb, layer="second"))
    seq = gn.Sequential([gn.Input((10, 2)), L.Conv1D(3, 4)])
    check_figure(viz.filters(seq))
    check_figure(viz.feature_maps(seq, np.ones((10, 2), "float32")))   # (time, channels) heat map
    mlp = gn.Sequential([gn.Input((5, 5)), L.Flatten(), L.Dense(6)])
    check_figure(viz.filters(mlp))                                     # units as 5x5 templates
    vec = gn.Sequential([gn.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="only kernels"):
        viz.filters(vec)


def test_training_figures(mpl):
    model = conv_model()
    x, y = conv_data(12)
    history = model.fit(x, y, epochs=3, batch_size=4, validation_split=0.25, verbose=0)
    check_figure(viz.learning_curves(history))
    check_figure(viz.learning_curves(model))
    many = {f"metric_number_{i}": [0.1, 0.2] for i in range(9)}
    fig = viz.learning_curves({"loss": [1.0, 0.5], **many})
    assert len([a for a in fig.axes if a.get_visible()]) == 6
    check_figure(fig)
    norms = viz.gradient_norms(model, x, y)
    check_figure(viz.plot_gradient_norms(norms))
    check_figure(viz.plot_gradient_norms([norms, norms, norms], epochs=[0, 1, 2]))
    schedule = gn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    check_figure(viz.plot_learning_rate(schedule, steps=50))
    check_figure(viz.plot_learning_rate([0.1] * 20, steps_per_epoch=5))


def test_evaluation_figures(mpl):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 50)
    y_pred = rng.random((50, 4))
    check_figure(viz.plot_confusion_matrix(y_true, y_pred))
    names = ["airplane", "automobile", "bird", "cat"]
    check_figure(viz.plot_confusion_matrix(y_true, y_pred, class_names=names, normalize=True))
    check_figure(viz.plot_confusion_matrix(viz.confusion_matrix(y_true, y_pred)))
    check_figure(viz.plot_confusion_matrix(rng.integers(0, 14, 200), rng.integers(0, 14, 200)))
    t = rng.normal(size=(80, 1))
    check_figure(viz.prediction_vs_truth(t, t + 0.1 * rng.normal(size=t.shape)))
    check_figure(viz.prediction_vs_truth(rng.normal(size=(40, 3)), rng.normal(size=(40, 3))))


def test_pictures_without_matplotlib_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install glassnet\[viz\]"):
        viz.learning_curves({"loss": [1.0]})
    # the numbers need no matplotlib
    assert viz.confusion_matrix([0, 1], [0, 1]).shape == (2, 2)
