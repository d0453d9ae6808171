import numpy as np
import pytest

import glassnet as gn
from glassnet.utils.lr_finder import find_learning_rate


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(4, 3)), axis=1)
    return x, y


def _model(lr=0.01, dropout=0.0):
    layers = [gn.Input((4,)), gn.layers.Dense(16, activation="relu")]
    if dropout:
        layers.append(gn.layers.Dropout(dropout))
    model = gn.Sequential(layers + [gn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=gn.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
    return model


def test_sweep_and_suggestion():
    gn.utils.set_random_seed(0)
    x, y = _problem()
    result = find_learning_rate(_model(), x, y, steps=100)
    n = len(result.losses)
    assert len(result.learning_rates) == len(result.raw_losses) == n
    expected_lrs = 1e-7 * (10.0 / 1e-7) ** (np.arange(100) / 99)
    np.testing.assert_allclose(result.learning_rates, expected_lrs[:n])
    # the bias-corrected moving average of the raw losses
    avg, smooth = 0.0, []
    for i, loss in enumerate(result.raw_losses):
        avg = 0.98 * avg + 0.02 * loss
        smooth.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.losses, smooth)
    assert result.losses[0] == result.raw_losses[0]
    assert result.min_loss_lr == result.learning_rates[np.argmin(result.losses)]
    assert result.suggestion_min_loss == result.min_loss_lr / 10
    assert 1e-4 < result.suggestion < result.min_loss_lr
    assert "suggestion=" in repr(result)


def test_suggested_rate_trains_better_than_a_timid_one():
    gn.utils.set_random_seed(1)
    x, y = _problem(1)
    suggestion = find_learning_rate(_model(), x, y).suggestion
    final = {}
    for lr in (suggestion, 1e-5):
        gn.utils.set_random_seed(2)
        model = _model(lr)
        final[lr] = model.fit(x, y, epochs=3, batch_size=32, verbose=0).history["loss"][-1]
    assert final[suggestion] < 0.5 * final[1e-5]


def test_stops_when_the_loss_explodes():
    gn.utils.set_random_seed(0)
    x, y = _problem()
    with np.errstate(all="ignore"):
        result = find_learning_rate(_model(), x, y, max_lr=1e6, steps=100)
    assert result.stopped_early and len(result.losses) < 100
    assert np.isfinite(result.losses).all()
    assert result.losses[-1] > 4.0 * result.losses[:-1].min() or not np.isfinite(result.raw_losses[-1])


def test_a_loss_that_overflows_ends_the_sweep_quietly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32") * 100
    y = x.sum(axis=1, keepdims=True)
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(0.01), loss="mse")
    weights = model.get_weights()
    # stop_factor=None: only the non-finite loss (the training loop's NaN check) ends it
    result = find_learning_rate(model, x, y, min_lr=1e-6, max_lr=1e6, steps=60, batch_size=8, stop_factor=None)
    assert result.stopped_early and np.isfinite(result.losses).all()
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_model_optimizer_and_random_state_are_put_back():
    gn.utils.set_random_seed(5)
    x, y = _problem()
    model = _model(lr=0.003, dropout=0.3)
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)  # a built optimizer with non-zero slots
    weights, state = model.get_weights(), model.optimizer.get_state()
    rng_state = gn.random.get_state()
    find_learning_rate(model, x, y, steps=30)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.optimizer.get_state(), state):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.learning_rate == pytest.approx(0.003)
    assert gn.random.get_state() == rng_state

    # so a fit after the test equals a fit without it
    def run(with_finder):
        gn.utils.set_random_seed(9)
        m = _model(dropout=0.3)
        if with_finder:
            find_learning_rate(m, x, y, steps=20)
        return m.fit(x, y, epochs=2, batch_size=64, verbose=0).history["loss"]

    assert run(True) == run(False)


def test_errors():
    x, y = _problem()
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(3, activation="softmax")])
    with pytest.raises(RuntimeError, match="must be compiled"):
        find_learning_rate(model, x, y)
    model.compile(optimizer=gn.optimizers.SGD(gn.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
                  loss="sparse_categorical_crossentropy")
    weights = model.get_weights()
    with pytest.raises(ValueError, match="float learning rate, not a schedule"):
        find_learning_rate(model, x, y)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="min_lr < max_lr"):
        find_learning_rate(_model(), x, y, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="beta"):
        find_learning_rate(_model(), x, y, beta=1.0)


def test_plot_returns_a_figure():
    matplotlib = pytest.importorskip("matplotlib", reason="plot() needs matplotlib")
    matplotlib.use("Agg")
    gn.utils.set_random_seed(0)
    x, y = _problem()
    result = find_learning_rate(_model(), x, y, steps=40)
    fig = result.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("learning rate")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), result.learning_rates)
    import matplotlib.pyplot as plt
    plt.close(fig)
