"""Real daily stock prices (Quandl WIKI, public domain) from the PyPI package ``bokeh-sampledata``.

The package ships ``bokeh_sampledata/_data/stocks.csv.gz`` (columns Ticker, Date, Open, High,
Low, Close, Volume, Adj Close); glassnet reads it with the csv module, without importing
bokeh. Series end on 2013-03-01: AAPL, MSFT and IBM start on 2000-03-01 (3270 trading days),
GOOG on 2004-08-19 (2148 days), FB on 2012-05-18 (196 days). ``pip install bokeh-sampledata``.
"""
import csv
import gzip

import numpy as np

from ._files import package_data_file

PACKAGE_FILE = "_data/stocks.csv.gz"
SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG", "FB")
COLUMNS = ("open", "high", "low", "close", "volume", "adj_close")
_HEADER = ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"]


def load_data(symbol="AAPL", column="adj_close"):
    """Daily prices of one stock as a time series ``(dates, values)``, oldest first.

    dates: ``datetime64[D]`` (n,) trading days; values: float32 (n,) of ``column`` (default
    the split- and dividend-adjusted close; also "open", "high", "low", "close", "volume").
    Split it with ``split_by_time`` and window it with
    ``glassnet.utils.sequence.timeseries_windows``.
    """
    sym = str(symbol).upper()
    if sym not in SYMBOLS:
        raise ValueError(f"stocks.load_data: unknown symbol {symbol!r}; available: {', '.join(SYMBOLS)}")
    if column not in COLUMNS:
        raise ValueError(f"stocks.load_data: unknown column {column!r}; available: {', '.join(COLUMNS)}")
    path = package_data_file("bokeh_sampledata", PACKAGE_FILE)
    if path is None:
        raise FileNotFoundError(
            "stock prices not found: `pip install bokeh-sampledata` (glassnet reads its "
            f"{PACKAGE_FILE}; bokeh itself is not needed). glassnet never downloads data."
        )
    col = _HEADER.index({"adj_close": "Adj Close"}.get(column, column.title()))
    dates, values = [], []
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != _HEADER:
                raise ValueError(f"unexpected header {header}, expected {_HEADER}")
            for row in reader:
                if row and row[0] == sym:
                    dates.append(row[1])
                    values.append(row[col])
        dates = np.array(dates, dtype="datetime64[D]")
        values = np.array(values, dtype=np.float64).astype(np.float32)
    except (OSError, EOFError, ValueError, csv.Error) as e:
        raise ValueError(f"{path}: unreadable stocks file ({e}); reinstall bokeh-sampledata") from e
    order = np.argsort(dates, kind="stable")  # the file is sorted; this only guards it
    return dates[order], values[order]


def split_by_time(series, val_fraction=0.1, test_fraction=0.1):
    """Split a time series into consecutive (train, val, test) parts, in time order, never shuffled.

    ``series``: an array (split along axis 0) or a tuple/list of equal-length arrays (e.g.
    ``(dates, values)``), each split alike, giving tuples. The last
    ``round(test_fraction * n)`` steps are test, the ``round(val_fraction * n)`` before them
    are validation, the rest is train. A fraction of 0 gives an empty part.
    """
    parts = list(series) if isinstance(series, (tuple, list)) else None
    arrays = [np.asarray(a) for a in parts] if parts is not None else [np.asarray(series)]
    if any(a.ndim == 0 for a in arrays):
        raise ValueError("split_by_time: expected arrays with a time axis 0, received a scalar")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"split_by_time: arrays differ in length: {[len(a) for a in arrays]}")
    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"split_by_time: {name} must be in [0, 1), received {frac!r}")
    n_test = int(round(test_fraction * n))
    n_val = int(round(val_fraction * n))
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise ValueError(
            f"split_by_time: val_fraction={val_fraction} and test_fraction={test_fraction} leave "
            f"no training steps out of {n}"
        )
    cuts = (slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n))
    if parts is None:
        return tuple(arrays[0][c] for c in cuts)
    return tuple(tuple(a[c] for a in arrays) for c in cuts)
