"""Report: one self-contained HTML page per run, with every section, images that decode,
a graph that parses, written atomically, and no effect on the run itself."""
import base64
import html.parser
import os
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import glassnet as gn
from glassnet.callbacks.report import Report

pytest.importorskip("matplotlib", reason="the report's pictures need matplotlib (pip install glassnet[viz])")

L = gn.layers
SECTIONS = ["summary", "curves", "learning-rate", "gradients", "filters", "feature-maps", "evaluation",
            "settings", "timings"]


def convnet(seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([
        gn.Input((6, 6, 1)),
        L.Conv2D(4, 3, activation="relu"),
        L.MaxPooling2D(),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(3, activation="softmax"),
    ], name="report_convnet")
    model.compile(optimizer=gn.optimizers.Adam(gn.optimizers.schedules.ExponentialDecay(0.01, 4, 0.5)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6, 6, 1), dtype=np.float32)
    return x, (x[:, :3].mean(axis=(1, 2, 3)) * 3).astype("int64") % 3


class Page(html.parser.HTMLParser):
    """Collects the ids, headings, image sources and the tags that must not be there."""

    def __init__(self, text):
        super().__init__()
        self.ids, self.h2, self.images, self.external = [], [], [], []
        self._in_h2 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "h2":
            self._in_h2 = True
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("script", "link", "iframe") or (tag in ("img", "source") and not a.get("src", "").startswith("data:")):
            self.external.append((tag, a))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)


def check_page(path):
    text = open(path, encoding="utf-8").read()
    page = Page(text)
    for sid in SECTIONS:
        assert sid in page.ids, f"section {sid!r} missing"
    assert not page.external, page.external
    assert "url(http" not in text and "@import" not in text
    for src in page.images:
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64"
        png = base64.b64decode(data, validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    return text, page


def test_report_of_a_classifier_has_every_section_and_decodable_images(tmp_path):
    model = convnet()
    x, y = images()
    path = tmp_path / "out" / "run.html"
    report = Report(path, every=1)
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[report])
    text, page = check_page(path)
    assert len(page.images) == 6  # curves, learning rate, gradients, filters, feature maps, confusion
    assert "Confusion matrix" in page.h2 and "Could not draw" not in text
    svg = re.search(r"<svg.*?</svg>", text, re.S).group(0)
    assert ET.fromstring(svg).tag.endswith("svg")
    for layer in model.layers:
        assert layer.name in text
    assert "the validation split" in text and "validation_split=0.25" in text
    # what was recorded: the learning rate at every step, gradient norms before training and per epoch
    steps = report.params["steps"]
    assert len(report.lr_steps) == 3 * steps
    schedule = model.optimizer._learning_rate
    np.testing.assert_allclose(report.lr_steps, [float(schedule(i)) for i in range(3 * steps)], rtol=1e-6)
    assert report.grad_epochs == [0, 1, 2, 3]
    assert list(report.grad_records[0]) == [model.layers[0].name, model.layers[-1].name]
    assert [f.name for f in path.parent.iterdir()] == ["run.html"]  # no temporary file left


def test_report_does_not_change_a_seeded_run(tmp_path):
    x, y = images()
    weights = []
    for callbacks in ([], [Report(tmp_path / "r.html", every=1)]):
        model = convnet(seed=5)
        model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=callbacks)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_report_of_a_regression_with_a_sample_and_sparse_gradient_sampling(tmp_path):
    gn.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = gn.Sequential([gn.Input((3,)), L.Dense(5, activation="tanh"), L.Dense(1)], name="regressor")
    model.compile(optimizer="sgd", loss="mse")
    report = Report(tmp_path / "reg.html", x_sample=x[:10], y_sample=y[:10], every=2, title="Regression <run>")
    model.fit(x, y, epochs=3, batch_size=16, validation_data=(x[:8], y[:8]), verbose=0, callbacks=[report])
    text, page = check_page(tmp_path / "reg.html")
    assert "Predictions against truth" in page.h2
    assert "Regression &lt;run&gt;" in text  # titles are escaped
    assert "the sample given to Report" in text
    assert report.grad_epochs == [0, 2, 3]
    assert "only kernels of convolutions" in text  # the filters section says why it is empty
    assert "Constant at 0.01 for all 6 steps" in text  # a constant learning rate needs no plot
    assert len(page.images) == 4  # curves, gradients, the hidden layer's activations, predictions


def test_report_is_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "run.html"
    path.write_text("previous report")
    model = gn.Sequential([gn.Input((3,)), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[Report(path)])
    assert path.read_text() == "previous report"
    assert [f.name for f in tmp_path.iterdir()] == ["run.html"]


def test_report_arguments_and_missing_matplotlib(monkeypatch):
    with pytest.raises(ValueError, match="every"):
        Report(every=0)
    with pytest.raises(ValueError, match="x_sample"):
        Report(y_sample=np.zeros(3))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install glassnet\[viz\]"):
        Report()
