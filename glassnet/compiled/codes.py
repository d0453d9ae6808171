"""The integer codes by which the kernels name activations (importable without numba)."""

LINEAR, RELU, SIGMOID, TANH = 0, 1, 2, 3
ACTIVATIONS = {"linear": LINEAR, "relu": RELU, "sigmoid": SIGMOID, "tanh": TANH}
