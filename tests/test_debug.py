"""NaN/inf detection: fit names the first op and layer that went non-finite."""
import numpy as np
import pytest

import glassnet as gn


class LogLayer(gn.layers.Layer):
    def call(self, x):
        return gn.ops.log(x)


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 4)).astype("float32"), rng.random((n, 1)).astype("float32")


def test_fit_reports_the_layer_and_op_where_nan_starts():
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(8, activation="relu", name="hidden"),
                           LogLayer(name="logger"), gn.layers.Dense(1, name="out")])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    x, y = _data()
    with pytest.warns(RuntimeWarning), pytest.raises(gn.debug.NonFiniteError) as info:
        model.fit(x, y, epochs=1, verbose=0)
    err = info.value
    assert err.layer == "logger" and err.op == "log" and err.phase == "forward"
    assert err.batch == 0 and err.epoch == 0
    assert "log of zero" in str(err) and "epoch 1, batch 0" in str(err)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the failing step changed no weight


def test_infinite_gradient_is_found_in_backward():
    class SqrtLayer(gn.layers.Layer):
        def call(self, x):
            return gn.ops.sqrt(x)

    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(4, activation="relu", name="d"),
                           SqrtLayer(name="root"), gn.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.layers[0].set_weights([np.zeros((4, 4), np.float32), np.zeros(4, np.float32)])
    x, y = _data()
    with pytest.raises(gn.debug.NonFiniteError) as info:
        model.fit(x, y, epochs=1, verbose=0)
    assert info.value.phase == "backward" and info.value.op == "sqrt" and info.value.layer == "root"


def test_nan_in_the_data_is_rejected_before_training():
    model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = _data()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or inf \(first at index \(3, 1\)"):
        model.fit(x, y, verbose=0)


def test_detect_anomaly_checks_every_op():
    a = gn.tensor(np.array([1.0, 0.0]), requires_grad=True)
    with gn.debug.detect_anomaly():
        with pytest.warns(RuntimeWarning), pytest.raises(gn.debug.NonFiniteError, match='op "divide"'):
            gn.tensor(np.array([1.0, 1.0])) / a
    (gn.tensor(np.array([1.0, 1.0])) / (a + 1)).sum().backward()  # off again: no error


def test_check_can_be_turned_off():
    gn.debug.set_check_numerics(False)
    try:
        model = gn.Sequential([gn.Input((4,)), gn.layers.Dense(4, activation="relu"), LogLayer(), gn.layers.Dense(1)])
        model.compile("sgd", "mse")
        x, y = _data()
        with np.errstate(all="ignore"):
            history = model.fit(x, y, epochs=1, verbose=0)
        assert not np.isfinite(history.history["loss"][0])
    finally:
        gn.debug.set_check_numerics(True)


@pytest.mark.parametrize("sizes", [[(2, 16), (16,), (16, 1)], [(300, 300), (300,)]])  # one sum / one check each
def test_gradients_finite_finds_nan_and_inf_anywhere(sizes):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in sizes]
    assert gn.debug.gradients_finite(grads + [None])
    for bad in (np.nan, np.inf, -np.inf):
        for i in range(len(grads)):
            broken = [g.copy() for g in grads]
            broken[i].flat[-1] = bad
            assert not gn.debug.gradients_finite(broken)
    huge = [np.full(s, 3e38, np.float32) for s in sizes]  # finite, though a float32 sum of them overflows
    assert gn.debug.gradients_finite(huge)
    assert gn.debug.gradients_finite([]) and gn.debug.gradients_finite([None])
