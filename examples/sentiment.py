"""Movie-review sentiment: Embedding(mask_zero=True) + LSTM + Dense(1, sigmoid), then your own sentences.

The steps of ``glassnet run sentiment`` written out (that command also trains the
Bidirectional-LSTM variant):

    python examples/sentiment.py ["a sentence to score" ...]
"""
import sys

import glassnet as gn
from glassnet.apps.sentiment import encode, load_data

(x, y), (x_test, y_test) = load_data(num_words=10000, maxlen=40)   # ids padded to 40, 0 = padding
gn.utils.set_random_seed(0)
model = gn.Sequential([
    gn.Input((40,)),
    gn.layers.Embedding(10000, 64, mask_zero=True),   # each word id -> a learned 64-vector
    gn.layers.Dropout(0.3),
    gn.layers.LSTM(32),                                # reads the snippet, skipping the padding
    gn.layers.Dropout(0.3),
    gn.layers.Dense(1, activation="sigmoid"),          # p(positive)
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(x, y, epochs=8, batch_size=32, validation_split=0.1, verbose=2,
          callbacks=[gn.callbacks.EarlyStopping(patience=1, restore_best_weights=True)])
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"\ntest accuracy {accuracy:.4f} on {len(y_test)} snippets"
      f" (always answering 'positive' scores {y_test.mean():.4f})\n")

sentences = sys.argv[1:] or ["A funny, touching and beautifully acted film.",
                             "Dull, overlong and badly written; a waste of a fine cast.",
                             "Not as good as the first one, but still worth seeing."]
for text, p in zip(sentences, model.predict(encode(sentences), verbose=0)[:, 0]):
    print(f"  p(positive) = {p:.2f}  {text}")
