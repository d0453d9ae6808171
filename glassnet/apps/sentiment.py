"""Is a movie review positive or negative? Embedding + LSTM on real Rotten Tomatoes snippets.

Seed 004's text example: "turn words into vector representations" with an ``Embedding``
layer, read the sequence with an LSTM, and classify two classes with "a dense layer with 1
neuron, sigmoid activation" (binary cross-entropy). The data are 12752 critics' snippets
(``glassnet.datasets.movie_reviews``, encoded like ``keras.datasets.imdb``: 1 = fresh,
0 = rotten), on its fixed stratified split of 10201 training / 2551 test snippets.

    ids (batch, 40) -> Embedding(10000, 64, mask_zero=True) -> Dropout -> LSTM(32) -> Dropout
                    -> Dense(1, sigmoid)

Snippets are short (median 19 tokens, 99 % under 43), so they are padded (or cut at the
front) to 40 ids; ``mask_zero=True`` makes the LSTM skip the padding. The "bilstm" variant
reads each snippet both ways (``Bidirectional(LSTM(32))``). The nets overfit after two or
three epochs, so early stopping watches the validation loss (the last 10 % of the training
snippets) and keeps the best epoch's weights. The test accuracy is reported beside the
majority-class rate (always "fresh": 0.578), the floor any classifier must clear.
Measured with the defaults, seeds 0..3: test accuracy 0.765-0.773 (LSTM) and 0.763-0.768
(Bidirectional), the best epoch always the second of three.

Note: the word index (and so which words the 10000 kept are) is ranked by frequency over
all snippets, test included, as ``keras.datasets.imdb`` does; no label information is used.
"""
import json
import time
from pathlib import Path

NAME = "sentiment"
SUMMARY = "movie-review sentiment: Embedding + LSTM (and a Bidirectional LSTM) on real Rotten Tomatoes snippets"
DEFAULT_EPOCHS = 8           # an upper bound: early stopping usually ends a run after 3 epochs
NUM_WORDS = 10000
MAXLEN = 40
EMBED_DIM = 64
UNITS = 32
DROPOUT = 0.3
VARIANTS = ("lstm", "bilstm")


def load_data(num_words=NUM_WORDS, maxlen=MAXLEN):
    """Padded id arrays ``(x_train, y_train), (x_test, y_test)``: x int32 (n, maxlen).

    Every snippet is kept (longer ones lose their first ids), so the test split is always
    the same 2551 snippets; ``movie_reviews.load_data(maxlen=...)`` would drop long ones.
    """
    from glassnet.datasets import movie_reviews
    from glassnet.utils.sequence import pad_sequences
    (x, y), (xt, yt) = movie_reviews.load_data(num_words=num_words)
    return (pad_sequences(x, maxlen=maxlen), y), (pad_sequences(xt, maxlen=maxlen), yt)


def encode(texts, num_words=NUM_WORDS, maxlen=MAXLEN):
    """Your own sentences as the model's input: tokenised and indexed as the training data."""
    from glassnet.datasets import movie_reviews
    from glassnet.utils.sequence import pad_sequences
    index = movie_reviews.get_word_index()
    seqs = []
    for text in texts:
        ids = [index.get(w, num_words) + 3 for w in movie_reviews.tokenize(text)]  # 3: index_from
        seqs.append([1] + [i if i < num_words else 2 for i in ids])              # 1 start, 2 oov
    return pad_sequences(seqs, maxlen=maxlen)


def build_model(variant="lstm", num_words=NUM_WORDS, maxlen=MAXLEN, embed_dim=EMBED_DIM, units=UNITS,
                dropout=DROPOUT):
    """Embedding(mask_zero) -> Dropout -> LSTM or Bidirectional(LSTM) -> Dropout -> Dense(1, sigmoid)."""
    import glassnet as gn
    L = gn.layers
    if variant not in VARIANTS:
        raise ValueError(f"sentiment: unknown variant {variant!r}; use one of {', '.join(VARIANTS)} or 'both'")
    # layers made in input-to-output order: each draws its initializer seed when made, so the
    # same seed gives the same weights as the same model written out (examples/sentiment.py)
    embedding = L.Embedding(num_words, embed_dim, mask_zero=True, name="embedding")
    first_dropout = L.Dropout(dropout)
    if variant == "lstm":
        rnn = L.LSTM(units, name="lstm")
    else:
        rnn = L.Bidirectional(L.LSTM(units), name="bidirectional_lstm")
    return gn.Sequential([gn.Input((maxlen,)), embedding, first_dropout, rnn, L.Dropout(dropout),
                          L.Dense(1, activation="sigmoid", name="positive")], name=f"sentiment_{variant}")


def _examples(model, texts, labels, num_words, maxlen, n=6):
    """A few test snippets with the predicted probability of "fresh", for the printout."""
    probs = model.predict(encode(texts[:n], num_words, maxlen), verbose=0)[:, 0]
    lines = []
    for text, label, p in zip(texts[:n], labels[:n], probs):
        mark = "ok" if (p >= 0.5) == bool(label) else "NO"
        short = text if len(text) <= 90 else text[:87] + "..."
        lines.append(f"  {mark}  p(fresh) = {p:.2f}  [{'fresh' if label else 'rotten'}]  {short}")
    return lines


def run(epochs=None, seed=0, out=None, verbose="auto", variant="both", num_words=NUM_WORDS, maxlen=MAXLEN,
        embed_dim=EMBED_DIM, units=UNITS, dropout=DROPOUT, patience=1, train_samples=None):
    """Train and test the LSTM and/or the Bidirectional-LSTM classifier; returns test accuracy per variant.

    ``variant``: "lstm", "bilstm" or "both". ``train_samples`` trains on the first n
    training snippets only (for quick checks); the test set is always the full one.
    """
    import glassnet as gn

    variants = VARIANTS if variant == "both" else (variant,)
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"sentiment: unknown variant {v!r}; use one of {', '.join(VARIANTS)} or 'both'")
    epochs = DEFAULT_EPOCHS if epochs is None else epochs
    out = Path(out or "glassnet-out") / NAME
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)

    (x, y), (xt, yt) = load_data(num_words, maxlen)
    if train_samples:
        x, y = x[:train_samples], y[:train_samples]
    results = {"train_samples": int(len(x)), "test_samples": int(len(xt)),
               "majority_class_accuracy": float(max(yt.mean(), 1 - yt.mean()))}
    histories, lines = {}, []
    for v in variants:
        gn.utils.set_random_seed(seed)
        model = build_model(v, num_words, maxlen, embed_dim, units, dropout)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        if verbose:
            model.summary()
        stop = gn.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        wall, cpu = time.perf_counter(), time.process_time()
        from glassnet.apps import report_callbacks
        reports = report_callbacks(out, f"report_{v}.html", class_names=["negative", "positive"])
        history = model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.1, callbacks=[stop] + reports,
                            verbose=verbose)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        loss, accuracy = model.evaluate(xt, yt, verbose=0)
        histories[v] = history.history
        results.update({f"{v}_test_accuracy": float(accuracy), f"{v}_test_loss": float(loss),
                        f"{v}_epochs_run": len(history.history["loss"]), f"{v}_best_epoch": int(stop.best_epoch) + 1,
                        f"{v}_train_seconds": round(wall, 1), f"{v}_train_cpu_seconds": round(cpu, 1)})
        lines.append(f"{v}: test accuracy {accuracy:.4f} (majority class {results['majority_class_accuracy']:.4f}),"
                     f" best epoch {stop.best_epoch + 1} of {len(history.history['loss'])}")
        if verbose:
            from glassnet.datasets import movie_reviews
            (_, _), (texts, labels) = movie_reviews.load_texts()
            lines += _examples(model, texts, labels, num_words, maxlen)
    results.update({"num_words": num_words, "maxlen": maxlen, "embed_dim": embed_dim, "units": units,
                    "dropout": dropout, "epochs": epochs, "seed": seed})
    say("\n" + "\n".join(lines))
    (out / "history.json").write_text(json.dumps(histories, indent=1))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    results["out"] = str(out)
    return results
