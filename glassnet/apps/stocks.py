"""Next-day stock price from the past few weeks: an LSTM and a 1-D convnet against "tomorrow = today".

The seed decks forecast a stock's next close with an LSTM (003, "Predicted Stock Price of
GOOGL ...") and say that, without global structure in a series, a 1-D convnet may do as
well as a recurrent net (004). This app measures both on real daily adjusted closes
(bokeh-sampledata: AAPL, MSFT, IBM 2000-03-01 .. 2013-03-01, GOOG from 2004-08-19) and
puts them next to the naive forecast that tomorrow's close is today's.

Inputs and scaling: the model sees the last ``window`` daily log returns
r_t = log(p_t / p_{t-1}) and predicts the next one; the price forecast is
p_t * exp(r_hat). Returns, not price levels, because prices leave the range of the
training years (AAPL's test closes, 47..91 $, are above every training close, at most
35 $), and a net trained on scaled levels would have to extrapolate; daily returns keep
about the same scale across the years. Returns are standardised with the mean and standard
deviation of the returns inside the training period only, so nothing about the validation
or test period leaks into the inputs (``prepare`` is tested for exactly that).

Split: by time, never shuffled across it (``split_by_time``: the first 80 % of days train,
the next 10 % validation, the last 10 % test). A window belongs to the part holding the
day it predicts; its inputs are all earlier days. The training windows are shuffled among
themselves; early stopping watches the validation loss and restores the best weights.

What to expect: daily returns are close to unpredictable, so the honest result is an RMSE
near the naive one, sometimes a little better, often a little worse. The results say which
(``<model>_beats_naive``: a lower test RMSE, however small), with the paired t statistic of
the squared-error difference (``<model>_beats_naive_beyond_noise`` needs t <= -2). Measured
with the defaults (seed 0), every model on AAPL, MSFT, IBM and GOOG lands within 1 % of the
naive RMSE with |t| < 1.2 (the GOOG LSTM 0.4 % below it, the seven others above): none beats
"tomorrow = today" beyond noise.
"""
import csv
import json
import time
from pathlib import Path

import numpy as np

NAME = "stocks"
SUMMARY = "next-day close from past daily returns: LSTM and Conv1D against the naive 'tomorrow = today'"
DEFAULT_EPOCHS = 50          # an upper bound: early stopping usually ends a model far sooner
DEFAULT_WINDOW = 20          # about four weeks of trading days
VAL_FRACTION = TEST_FRACTION = 0.1
MODELS = ("lstm", "conv1d")


def prepare(prices, window=DEFAULT_WINDOW, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION):
    """Windows of standardised log returns -> the next one, split by time; a dict of arrays.

    ``prices``: (n,) closes, oldest first. Day k's return is r_k = log(p_k / p_{k-1}); a
    window predicting day d holds r_{d-window} .. r_{d-1} (a (window, 1) array) and its
    target is r_d, both as (r - mean) / std with the mean and std of the returns between
    training days only. Keys: ``x_*``, ``y_*`` (float32), ``day_*`` (index of the day
    predicted), ``prev_*`` (p_{d-1}, the naive forecast) and ``truth_*`` (p_d), for
    * in train / val / test, plus ``mean``, ``std``, ``x_next`` (the window after the last
    day) and ``last_price``.
    """
    from glassnet.datasets.stocks import split_by_time
    from glassnet.utils.sequence import timeseries_windows

    prices = np.asarray(prices, dtype=np.float64)
    if prices.ndim != 1 or not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("stocks.prepare: expected a 1-D series of positive, finite prices")
    window = int(window)
    train, val, _ = split_by_time(prices, val_fraction, test_fraction)
    n_train, n_val = len(train), len(val)
    if n_train < window + 3:
        raise ValueError(f"stocks.prepare: {n_train} training days are too few for window={window}")
    r = np.diff(np.log(prices))              # r[k - 1] is the return into day k
    train_r = r[: n_train - 1]               # both of its days in the training period
    mean, std = float(train_r.mean()), float(train_r.std())
    z = ((r - mean) / std).astype(np.float32)
    x, y = timeseries_windows(z, window)
    day = np.arange(len(y)) + window + 1     # y[i] = z[i + window] is the return into that day
    parts = {"train": day < n_train, "val": (day >= n_train) & (day < n_train + n_val),
             "test": day >= n_train + n_val}
    data = {"mean": mean, "std": std, "x_next": z[-window:].reshape(1, window, 1),
            "last_price": float(prices[-1]), "n_train_days": n_train, "n_val_days": n_val}
    for name, keep in parts.items():
        d = day[keep]
        data.update({f"x_{name}": x[keep][..., None], f"y_{name}": y[keep], f"day_{name}": d,
                     f"prev_{name}": prices[d - 1], f"truth_{name}": prices[d]})
    return data


def to_prices(pred, prev, mean, std):
    """Price forecasts from standardised predicted returns: p_{d-1} * exp(mean + std * z)."""
    return np.asarray(prev, np.float64) * np.exp(mean + std * np.asarray(pred, np.float64).reshape(-1))


def rmse(pred, truth):
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - truth) ** 2)))


def paired_t(pred, naive, truth):
    """t statistic of the mean of (model error^2 - naive error^2): < 0 favours the model.

    It treats the days as independent; squared errors cluster in volatile weeks, so the
    true uncertainty is larger: |t| < 2 safely means "within noise", t <= -2 is a hint only.
    """
    d = (np.asarray(pred, np.float64) - truth) ** 2 - (np.asarray(naive, np.float64) - truth) ** 2
    se = d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() / se) if se > 0 else 0.0


def build_model(kind, window=DEFAULT_WINDOW):
    """``"lstm"``: LSTM(32) -> Dense(1); ``"conv1d"``: Conv1D, pooling, Conv1D -> Flatten -> Dense(1)."""
    import glassnet as gn
    L = gn.layers
    if kind == "lstm":
        layers = [L.LSTM(32), L.Dense(1)]
    elif kind == "conv1d":
        # "same" padding: any window from 2 days works; Flatten keeps which day is which
        layers = [L.Conv1D(16, 5, padding="same", activation="relu"), L.MaxPooling1D(2),
                  L.Conv1D(16, 3, padding="same", activation="relu"), L.Flatten(), L.Dense(1)]
    else:
        raise ValueError(f"stocks: unknown model {kind!r}; use one of {', '.join(MODELS)} or 'both'")
    return gn.Sequential([gn.Input((window, 1))] + layers, name=f"stocks_{kind}")


def _train(kind, data, window, epochs, patience, verbose, out=None):
    import glassnet as gn
    from glassnet.apps import report_callbacks
    model = build_model(kind, window)
    model.compile(optimizer="adam", loss="mse")
    if verbose:
        model.summary()
    stop = gn.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    wall, cpu = time.perf_counter(), time.process_time()
    history = model.fit(data["x_train"], data["y_train"], epochs=epochs, batch_size=32, shuffle=True,
                        validation_data=(data["x_val"], data["y_val"]), verbose=verbose,
                        callbacks=[stop] + (report_callbacks(out, f"report_{kind}.html") if out is not None else []))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return model, history, stop, wall, cpu


def _verdict(kind, model_rmse, naive_rmse, t):
    change = 100 * (model_rmse / naive_rmse - 1)
    if model_rmse >= naive_rmse:
        claim = "does not beat the naive forecast"
    elif t <= -2:
        claim = "beats the naive forecast (t <= -2)"
    else:
        claim = "lower RMSE than naive, but within noise (|t| < 2): no evidence that it beats it"
    return f"{kind}: test RMSE {model_rmse:.4f} $ vs naive {naive_rmse:.4f} $ ({change:+.2f} %, t = {t:+.2f}): {claim}"


def _plot(path, dates, truth, naive, preds, symbol):
    """Prediction against truth over the test period; False when matplotlib is absent."""
    try:
        from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone
    except ImportError:
        return False
    fig = Figure(figsize=(10, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(dates, truth, color="black", lw=1.4, label="actual adjusted close")
    top.plot(dates, naive, color="0.6", lw=1, ls="--", label="naive: tomorrow = today")
    for kind, p in preds.items():
        top.plot(dates, p, lw=1, label=f"{kind} ({rmse(p, truth):.3f} $ RMSE)")
    top.set_ylabel("$")
    top.set_title(f"{symbol}: next-day close on the test period (naive RMSE {rmse(naive, truth):.3f} $)")
    top.legend(fontsize=8)
    bottom.axhline(0, color="0.6", lw=0.8)
    for kind, p in preds.items():
        bottom.plot(dates, p - naive, lw=0.8, label=kind)
    bottom.set_ylabel("forecast - today ($)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def run(epochs=None, seed=0, out=None, verbose="auto", symbol="AAPL", window=DEFAULT_WINDOW, model="both",
        patience=8):
    """Train the LSTM and/or the Conv1D forecaster on one stock; test RMSE in $ beside the naive one.

    ``model``: "lstm", "conv1d" or "both". Writes results.json, predictions.csv (test period:
    date, truth, naive and each model's forecast) and, with matplotlib, predictions.png.
    """
    import glassnet as gn
    from glassnet.datasets import stocks as stock_data

    kinds = MODELS if model == "both" else (model,)
    for kind in kinds:
        if kind not in MODELS:
            raise ValueError(f"stocks: unknown model {kind!r}; use one of {', '.join(MODELS)} or 'both'")
    epochs = DEFAULT_EPOCHS if epochs is None else epochs
    out = Path(out or "glassnet-out") / NAME
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)

    dates, prices = stock_data.load_data(symbol)
    data = prepare(prices, window)
    truth, naive = data["truth_test"], data["prev_test"]
    test_dates = dates[data["day_test"]]
    naive_rmse = rmse(naive, truth)
    results = {"symbol": str(symbol).upper(), "window": int(window),
               "train_days": f"{dates[0]} .. {dates[data['n_train_days'] - 1]}",
               "test_days": f"{test_dates[0]} .. {test_dates[-1]}",
               "train_windows": int(len(data["y_train"])), "val_windows": int(len(data["y_val"])),
               "test_windows": int(len(truth)), "naive_test_rmse": naive_rmse}
    preds, verdicts, histories = {}, [], {}
    for kind in kinds:
        gn.utils.set_random_seed(seed)  # each model starts from the same state, whichever runs first
        say(f"\n{kind}: windows of {window} daily log returns -> the next one")
        net, history, stop, wall, cpu = _train(kind, data, window, epochs, patience, verbose, out)
        z = net.predict(data["x_test"], verbose=0)
        pred = to_prices(z, naive, data["mean"], data["std"])
        preds[kind] = pred
        histories[kind] = history.history
        t = paired_t(pred, naive, truth)
        model_rmse = rmse(pred, truth)
        verdicts.append(_verdict(kind, model_rmse, naive_rmse, t))
        next_price = to_prices(net.predict(data["x_next"], verbose=0), [data["last_price"]], data["mean"], data["std"])
        results.update({
            f"{kind}_test_rmse": model_rmse,
            f"{kind}_rmse_vs_naive": model_rmse / naive_rmse,
            f"{kind}_beats_naive": bool(model_rmse < naive_rmse),
            f"{kind}_beats_naive_beyond_noise": bool(model_rmse < naive_rmse and t <= -2),
            f"{kind}_t_vs_naive": t,
            f"{kind}_epochs_run": len(history.history["loss"]),
            f"{kind}_best_epoch": int(stop.best_epoch) + 1,
            f"{kind}_next_day_forecast": float(next_price[0]),
            f"{kind}_train_seconds": round(wall, 1),
            f"{kind}_train_cpu_seconds": round(cpu, 1),
        })
    results.update({"last_day": str(dates[-1]), "last_close": data["last_price"], "epochs": epochs,
                    "seed": seed})

    with open(out / "predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "actual", "naive"] + list(kinds))
        for i, d in enumerate(test_dates):
            w.writerow([str(d), f"{truth[i]:.6f}", f"{naive[i]:.6f}"] + [f"{preds[k][i]:.6f}" for k in kinds])
    plotted = _plot(out / "predictions.png", test_dates.astype("datetime64[D]").astype(object), truth, naive,
                    preds, results["symbol"])
    results["plot"] = "predictions.png" if plotted else "none (matplotlib not installed; see predictions.csv)"
    results["verdict"] = " | ".join(verdicts)
    (out / "history.json").write_text(json.dumps(histories, indent=1))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    say("\n" + "\n".join(verdicts))
    say(f"forecasts for the trading day after {dates[-1]} (last close {data['last_price']:.3f} $): "
        + ", ".join(f"{k} {results[f'{k}_next_day_forecast']:.3f} $" for k in kinds))
    results["out"] = str(out)
    return results
