"""Daily stock prices from bokeh-sampledata's CSV, and the time-ordered split."""
import importlib.util

import numpy as np
import pytest

from glassnet.datasets import stocks

needs_bokeh_sampledata = pytest.mark.skipif(
    importlib.util.find_spec("bokeh_sampledata") is None, reason="pip install bokeh-sampledata==2026.1"
)


@needs_bokeh_sampledata
@pytest.mark.parametrize(
    "symbol, n, first_day, first, last",
    [
        ("AAPL", 3270, "2000-03-01", 4.186662803811, 56.137353095488),
        ("MSFT", 3270, "2000-03-01", 30.225709797294, 24.684342419163),
        ("IBM", 3270, "2000-03-01", 73.667718762847, 175.27118333217),
        ("GOOG", 2148, "2004-08-19", 50.32284179174976, 404.3431686260103),
    ],
)
def test_real_adjusted_closes(symbol, n, first_day, first, last):
    dates, prices = stocks.load_data(symbol)
    assert dates.dtype == np.dtype("datetime64[D]") and prices.dtype == np.float32
    assert dates.shape == prices.shape == (n,)
    assert dates[0] == np.datetime64(first_day) and dates[-1] == np.datetime64("2013-03-01")
    assert np.all(np.diff(dates) > np.timedelta64(0, "D"))
    np.testing.assert_allclose([prices[0], prices[-1]], [first, last], rtol=1e-6)
    assert np.all(np.isfinite(prices)) and prices.min() > 0


@needs_bokeh_sampledata
def test_other_columns_and_lower_case_symbol():
    dates, close = stocks.load_data("aapl", column="close")
    assert close[0] == np.float32(130.31)
    _, volume = stocks.load_data("AAPL", column="volume")
    assert volume[0] == 9616100


def test_unknown_symbol_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown symbol 'TSLA'; available: AAPL, MSFT, IBM, GOOG"):
        stocks.load_data("TSLA")
    with pytest.raises(ValueError, match="unknown column"):
        stocks.load_data("AAPL", column="price")


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(stocks, "package_data_file", lambda *a: None)
    with pytest.raises(FileNotFoundError, match="pip install bokeh-sampledata"):
        stocks.load_data("AAPL")


def test_split_by_time_keeps_order_and_sizes():
    series = np.arange(100.0)
    train, val, test = stocks.split_by_time(series, val_fraction=0.1, test_fraction=0.2)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), series)
    assert train.max() < val.min() and val.max() < test.min()
    train, val, test = stocks.split_by_time(series, 0.0, 0.0)
    assert len(train) == 100 and len(val) == 0 and len(test) == 0


@needs_bokeh_sampledata
def test_split_by_time_on_dates_and_prices():
    (d_tr, p_tr), (d_va, p_va), (d_te, p_te) = stocks.split_by_time(stocks.load_data("IBM"), 0.15, 0.15)
    assert len(d_tr) == len(p_tr) == 3270 - 2 * 490 and len(d_va) == len(d_te) == 490
    assert d_tr[-1] < d_va[0] and d_va[-1] < d_te[0]


def test_split_by_time_errors():
    with pytest.raises(ValueError, match="differ in length"):
        stocks.split_by_time((np.arange(5), np.arange(4)))
    with pytest.raises(ValueError, match="test_fraction must be in"):
        stocks.split_by_time(np.arange(5), 0.1, 1.5)
    with pytest.raises(ValueError, match="leave no training steps"):
        stocks.split_by_time(np.arange(10), 0.5, 0.5)
