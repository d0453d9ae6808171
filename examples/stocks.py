"""Next-day stock price with an LSTM, against the naive forecast "tomorrow = today".

The steps of ``glassnet run stocks`` written out (that command also trains a Conv1D model
and plots the test period):

    python examples/stocks.py [SYMBOL]        # AAPL (default), MSFT, IBM or GOOG
"""
import sys

import numpy as np

import glassnet as gn
from glassnet.apps.stocks import prepare, rmse, to_prices
from glassnet.datasets import stocks

symbol = sys.argv[1] if len(sys.argv) > 1 else "AAPL"
dates, prices = stocks.load_data(symbol)          # daily adjusted closes, oldest first
data = prepare(prices, window=20)                 # 20 past log returns -> the next one, split by time,
                                                  # standardised with training-period statistics only
gn.utils.set_random_seed(0)
model = gn.Sequential([gn.Input((20, 1)), gn.layers.LSTM(32), gn.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(data["x_train"], data["y_train"], epochs=50, batch_size=32,
          validation_data=(data["x_val"], data["y_val"]), verbose=2,
          callbacks=[gn.callbacks.EarlyStopping(patience=8, restore_best_weights=True)])

truth, today = data["truth_test"], data["prev_test"]
forecast = to_prices(model.predict(data["x_test"], verbose=0), today, data["mean"], data["std"])
test_dates = dates[data["day_test"]]
print(f"\n{symbol}, test period {test_dates[0]} .. {test_dates[-1]} ({len(truth)} days)")
print(f"  LSTM  test RMSE {rmse(forecast, truth):.4f} $")
print(f"  naive test RMSE {rmse(today, truth):.4f} $   (tomorrow's close = today's)")
print("  the LSTM " + ("beats" if rmse(forecast, truth) < rmse(today, truth) else "does not beat")
      + " the naive forecast on this test period")
nxt = to_prices(model.predict(data["x_next"], verbose=0), [prices[-1]], data["mean"], data["std"])[0]
print(f"\nPredicted adjusted close of {symbol} for the trading day after {dates[-1]}: {nxt:.3f} $"
      f" (last close {prices[-1]:.3f} $, a move of {100 * (nxt / prices[-1] - 1):+.2f} %)")
print(f"the day-to-day moves in the test period had a standard deviation of "
      f"{100 * np.std(np.diff(np.log(truth))):.2f} %")
