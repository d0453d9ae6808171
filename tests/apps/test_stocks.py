"""glassnet run stocks: next-day close from past returns, LSTM and Conv1D against the naive forecast."""
import csv
import importlib.util
import json

import numpy as np
import pytest

from glassnet import cli
from glassnet.apps import stocks

needs_bokeh_sampledata = pytest.mark.skipif(
    importlib.util.find_spec("bokeh_sampledata") is None,
    reason="the stock prices ship in bokeh-sampledata: pip install bokeh-sampledata==2026.1",
)


def random_walk(n=600, seed=0):
    rng = np.random.default_rng(seed)
    return 50 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))


def same(a, b):
    for key in ("x_train", "y_train", "day_train", "prev_train", "truth_train"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert (a["mean"], a["std"]) == (b["mean"], b["std"])


def test_scaler_and_training_inputs_ignore_later_prices():
    prices = random_walk()
    base = stocks.prepare(prices, window=10)
    n_train, n_val = base["n_train_days"], base["n_val_days"]
    later = prices.copy()
    later[n_train + n_val:] *= np.linspace(1.5, 3.0, len(prices) - n_train - n_val)   # change the test period
    changed = stocks.prepare(later, window=10)
    same(base, changed)
    for key in ("x_val", "y_val"):                        # validation does not look at the test period either
        np.testing.assert_array_equal(base[key], changed[key])
    assert not np.array_equal(base["y_test"], changed["y_test"])
    later[n_train:] = prices[n_train:] * 0.5 + 7          # change validation and test
    same(base, stocks.prepare(later, window=10))


def test_scaler_uses_exactly_the_training_returns():
    prices = random_walk()
    d = stocks.prepare(prices, window=10)
    r = np.diff(np.log(prices[: d["n_train_days"]]))
    np.testing.assert_allclose([d["mean"], d["std"]], [r.mean(), r.std()], rtol=1e-12)
    np.testing.assert_allclose(d["y_train"].std(), 1, atol=0.1)


def test_windows_are_the_returns_before_the_day_they_predict():
    prices = random_walk()
    d = stocks.prepare(prices, window=10)
    n_train, n_val = d["n_train_days"], d["n_val_days"]
    assert d["day_train"].max() < n_train <= d["day_val"].min()
    assert d["day_val"].max() < n_train + n_val <= d["day_test"].min()
    assert d["day_test"].max() == len(prices) - 1
    for part in ("train", "val", "test"):
        days = d[f"day_{part}"]
        np.testing.assert_array_equal(np.diff(days), 1)   # consecutive, in time order
        assert d[f"x_{part}"].shape == (len(days), 10, 1) and d[f"x_{part}"].dtype == np.float32
    k, day = 7, d["day_test"][7]
    r = (np.diff(np.log(prices)) - d["mean"]) / d["std"]
    np.testing.assert_allclose(d["x_test"][k, :, 0], r[day - 11: day - 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d["y_test"][k], r[day - 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(d["prev_test"], prices[d["day_test"] - 1])
    np.testing.assert_array_equal(d["truth_test"], prices[d["day_test"]])
    np.testing.assert_allclose(d["x_next"][0, :, 0], r[-10:], rtol=1e-5, atol=1e-6)


def test_price_round_trip_and_the_naive_forecast():
    d = stocks.prepare(random_walk(), window=10)
    exact = stocks.to_prices(d["y_test"], d["prev_test"], d["mean"], d["std"])
    np.testing.assert_allclose(exact, d["truth_test"], rtol=1e-5)   # a perfect return forecast is the truth
    zero_return = np.full(len(exact), -d["mean"] / d["std"])
    np.testing.assert_allclose(stocks.to_prices(zero_return, d["prev_test"], d["mean"], d["std"]), d["prev_test"])
    truth, naive = d["truth_test"], d["prev_test"]
    assert stocks.rmse(naive, truth) == pytest.approx(np.sqrt(np.mean((truth - naive) ** 2)))
    assert stocks.paired_t(truth, naive, truth) < -2 and stocks.paired_t(naive, naive, truth) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        stocks.prepare([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match="unknown model"):
        stocks.build_model("transformer")
    with pytest.raises(ValueError, match="unknown model"):
        stocks.run(model="gru", epochs=1, verbose=0)


@needs_bokeh_sampledata
def test_real_prices_leave_the_training_range():
    """Why returns and not price levels: AAPL's test closes are above every training close."""
    from glassnet.datasets import stocks as stock_data
    _, prices = stock_data.load_data("AAPL")
    d = stocks.prepare(prices)
    assert d["truth_test"].min() > prices[: d["n_train_days"]].max()


@needs_bokeh_sampledata
def test_run_both_models_end_to_end(tmp_path):
    r = stocks.run(epochs=2, seed=0, out=tmp_path, verbose=0, window=10, model="both")
    assert r["symbol"] == "AAPL" and r["window"] == 10
    assert r["naive_test_rmse"] > 0
    for kind in ("lstm", "conv1d"):
        assert r[f"{kind}_test_rmse"] > 0
        assert r[f"{kind}_beats_naive"] == (r[f"{kind}_test_rmse"] < r["naive_test_rmse"])
        assert r[f"{kind}_rmse_vs_naive"] == pytest.approx(r[f"{kind}_test_rmse"] / r["naive_test_rmse"])
        assert r[f"{kind}_beats_naive_beyond_noise"] is (r[f"{kind}_beats_naive"] and r[f"{kind}_t_vs_naive"] <= -2)
        assert 1 <= r[f"{kind}_epochs_run"] <= 2
        assert kind in r["verdict"]
    out = tmp_path / "stocks"
    saved = json.loads((out / "results.json").read_text())
    assert saved["naive_test_rmse"] == r["naive_test_rmse"]
    rows = list(csv.reader(open(out / "predictions.csv")))
    assert rows[0] == ["date", "actual", "naive", "lstm", "conv1d"] and len(rows) - 1 == r["test_windows"]
    truth = np.array([float(row[1]) for row in rows[1:]])
    lstm = np.array([float(row[3]) for row in rows[1:]])
    assert stocks.rmse(lstm, truth) == pytest.approx(r["lstm_test_rmse"], rel=1e-5)
    if importlib.util.find_spec("matplotlib"):
        assert r["plot"] == "predictions.png" and (out / "predictions.png").stat().st_size > 10_000
    else:
        assert "matplotlib not installed" in r["plot"]


@needs_bokeh_sampledata
def test_one_model_only(tmp_path):
    r = stocks.run(epochs=1, out=tmp_path, verbose=0, model="conv1d", symbol="msft", window=8)
    assert r["symbol"] == "MSFT" and "conv1d_test_rmse" in r and "lstm_test_rmse" not in r


@needs_bokeh_sampledata
def test_cli_runs_stocks(tmp_path, capsys):
    assert cli.main(["run", "stocks", "--epochs", "1", "--out", str(tmp_path), "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "naive_test_rmse" in out and "lstm_beats_naive" in out and "conv1d_test_rmse" in out
    assert (tmp_path / "stocks" / "predictions.csv").exists()
