"""pad_sequences and to_categorical against real Keras; timeseries_windows against a plain loop."""
import os

import numpy as np
import pytest

from glassnet.utils.sequence import pad_sequences, timeseries_windows, to_categorical


@pytest.fixture(scope="module")
def keras():
    os.environ["KERAS_BACKEND"] = "torch"
    return pytest.importorskip("keras")


SEQS = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10, 11], [12]]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 10])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_matches_keras(keras, maxlen, padding, truncating):
    kw = dict(maxlen=maxlen, padding=padding, truncating=truncating)
    ours = pad_sequences(SEQS, **kw)
    theirs = keras.utils.pad_sequences(SEQS, **kw)
    assert ours.dtype == theirs.dtype == np.int32
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "seqs, kw",
    [
        ([[0.5, 1.5], [2.5]], dict(dtype="float32", value=-1.0)),
        ([[1, 2], [3]], dict(dtype="int64", value=7, padding="post")),
        ([np.array([1, 2, 3]), np.array([4])], dict(maxlen=2)),
        ([[[1, 2], [3, 4]], [[5, 6]]], dict(maxlen=3)),  # entries are vectors
        ([[[1, 2], [3, 4]], []], dict(padding="post", value=9)),
        ([["a", "b"], ["c"]], dict(dtype=object, value="<pad>")),
        ([["a", "b"], ["c"]], dict(dtype="<U5", value="x")),
        ([[1.7, 2.2], [3.9]], dict()),  # float values cast to the int32 dtype
        (((1, 2), (3, 4, 5)), dict(padding="post", truncating="post", maxlen=2)),
    ],
)
def test_pad_sequences_other_dtypes_and_shapes_match_keras(keras, seqs, kw):
    ours = pad_sequences(seqs, **kw)
    theirs = keras.utils.pad_sequences(seqs, **kw)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match='Padding type "middle"'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match='Truncating type "x"'):
        pad_sequences([[1]], truncating="x")
    with pytest.raises(ValueError, match="entry 1 is 5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="not compatible with `value`"):
        pad_sequences([[1]], value="pad")
    with pytest.raises(ValueError, match="different from expected shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


def test_pad_sequences_edge_cases():
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)


@pytest.mark.parametrize(
    "y, num_classes",
    [
        ([0, 2, 1, 2], None),
        ([0, 2, 1, 2], 5),
        ([[1], [0], [3]], None),  # a trailing axis of 1 is dropped
        ([[1, 2], [0, 3]], None),
        (np.array([3], dtype=np.uint8), 4),
        (np.array(2), 3),  # a scalar label
    ],
)
def test_to_categorical_matches_keras(keras, y, num_classes):
    ours = to_categorical(y, num_classes)
    theirs = keras.utils.to_categorical(y, num_classes)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), received values from 0 to 3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="from -1"):
        to_categorical([-1, 1])
    with pytest.raises(ValueError, match="pass num_classes"):
        to_categorical([])
    assert to_categorical([], num_classes=4).shape == (0, 4)


def loop_windows(series, window, horizon):
    n = len(series) - window - horizon + 1
    x = np.stack([series[i:i + window] for i in range(n)])
    y = np.stack([series[i + window + horizon - 1] for i in range(n)])
    return x, y


@pytest.mark.parametrize("shape", [(20,), (17, 3)])
@pytest.mark.parametrize("window, horizon", [(1, 1), (5, 1), (4, 3), (16, 1)])
def test_timeseries_windows_equals_a_loop(shape, window, horizon):
    series = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x, y = timeseries_windows(series, window, horizon)
    ex, ey = loop_windows(series, window, horizon)
    assert x.shape == ex.shape == (shape[0] - window - horizon + 1, window) + shape[1:]
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    assert x.dtype == np.float32 and x.flags.writeable and x.flags.c_contiguous
    x[0] = 99  # a copy, not a view of the series
    assert not np.any(series == 99)


def test_timeseries_windows_worked_example():
    x, y = timeseries_windows(np.arange(6), window=3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    x, y = timeseries_windows(np.arange(6), window=3, horizon=3)
    np.testing.assert_array_equal(x, [[0, 1, 2]])
    np.testing.assert_array_equal(y, [5])


def test_timeseries_windows_errors():
    with pytest.raises(ValueError, match="too short for window=5 and horizon=2"):
        timeseries_windows(np.arange(6), 5, 2)
    with pytest.raises(ValueError, match="must be >= 1"):
        timeseries_windows(np.arange(6), 0)
    with pytest.raises(ValueError, match="scalar"):
        timeseries_windows(np.float32(3.0), 1)
