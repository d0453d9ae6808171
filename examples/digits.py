"""The demo, as a script: a small convnet on the real 8x8 handwritten digits that ship with
glassnet, written exactly as a Keras user would (only the import differs).

    python examples/digits.py
"""
import numpy as np

import glassnet as keras
from glassnet.datasets import digits

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = digits.load_data()
x_train = x_train[..., None].astype("float32") / 16  # pixels are 0..16
x_test = x_test[..., None].astype("float32") / 16

model = keras.Sequential([
    keras.Input((8, 8, 1)),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Dropout(0.25),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dropout(0.4),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=20, batch_size=32, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f} on {len(x_test)} digits")
print("first predictions:", np.argmax(model.predict(x_test[:10], verbose=0), axis=1), "truth:", y_test[:10])
