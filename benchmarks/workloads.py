"""The benchmark workloads, shared by both frameworks: shapes, data and GEMM FLOP counts.

Every workload is the same model, on the same float32 data, trained with Adam(1e-3) on the
same loss in glassnet (workloads_glassnet.py, through its public Keras API) and in PyTorch
(workloads_torch.py, a plain nn.Module + torch.optim.Adam loop). Both builders take the
arrays made here, so the two sides see identical inputs.

    tiny         Dense 2-16-16-1 (relu, relu, linear), MSE, batch 32
    mlp          Dense 784-512-512-10 (relu, relu, softmax), sparse CE, batch 128
    cnn          keras-io MNIST convnet, sparse CE, batch 128, 28x28x1 images
    lstm         Embedding(20000, 128) + LSTM(128) + Dense(1, sigmoid), binary CE, batch 64, length 100
    predict_mlp  the mlp's forward pass, predict() on 2048 samples at batch 1024
    predict_cnn  the cnn's forward pass, predict() on 2048 samples at batch 1024
"""
import numpy as np

PREDICT_SAMPLES, PREDICT_BATCH = 2048, 1024

# name -> (what one "step" is, its batch size)
WORKLOADS = {
    "tiny": ("train step", 32),
    "mlp": ("train step", 128),
    "cnn": ("train step", 128),
    "lstm": ("train step", 64),
    "predict_mlp": ("predict batch", PREDICT_BATCH),
    "predict_cnn": ("predict batch", PREDICT_BATCH),
}
TRAIN_WORKLOADS = ("tiny", "mlp", "cnn", "lstm")

LSTM_VOCAB, LSTM_LEN, LSTM_DIM, LSTM_UNITS = 20000, 100, 128, 128


def make_data(name, seed=0):
    """(x, y) NumPy arrays for workload ``name``: float32 inputs (int64 ids for lstm);
    y is None for the predict workloads. The same seed gives the same arrays."""
    rng = np.random.default_rng(seed)
    if name == "tiny":
        x = rng.standard_normal((32, 2), dtype=np.float32)
        return x, (x[:, :1] * x[:, 1:]).astype(np.float32)          # learn x0 * x1
    if name == "mlp":
        return rng.random((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
    if name == "cnn":
        return rng.random((128, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 128)
    if name == "lstm":
        x = rng.integers(0, LSTM_VOCAB, (64, LSTM_LEN))
        return x, rng.integers(0, 2, (64, 1)).astype(np.float32)
    if name == "predict_mlp":
        return rng.random((PREDICT_SAMPLES, 784), dtype=np.float32), None
    if name == "predict_cnn":
        return rng.random((PREDICT_SAMPLES, 28, 28, 1), dtype=np.float32), None
    raise KeyError(name)


def steps_per_call(name):
    """How many "steps" one call of a workload's step function makes (predict: batches)."""
    return PREDICT_SAMPLES // PREDICT_BATCH if name.startswith("predict") else 1


# ---- GEMM FLOPs: 2*M*K*N per matrix product, forward + backward ------------------------------
def _gemm(m, k, n):
    return 2.0 * m * k * n


def _dense_train(batch, dims, first_needs_dx=False):
    """Forward, dW and dX GEMMs of a stack of Dense layers; the first layer's dX is skipped
    (its input is data) unless something below it learns."""
    total = 0.0
    for i, (k, n) in enumerate(dims):
        f = _gemm(batch, k, n)
        total += f * (3 if i > 0 or first_needs_dx else 2)
    return total


def _cnn(batch, train):
    """Conv 3x3 1->32 on 28x28 (26x26 out), pool, conv 3x3 32->64 (11x11 out), pool, dense 1600->10.
    Training: forward + dW for every layer, + dX for all but the first conv."""
    conv1 = _gemm(batch * 26 * 26, 9 * 1, 32)
    conv2 = _gemm(batch * 11 * 11, 9 * 32, 64)
    dense = _gemm(batch, 1600, 10)
    if not train:
        return conv1 + conv2 + dense
    return 2 * conv1 + 3 * conv2 + 3 * dense


def _lstm(batch):
    """Input projection x W (B*T, 128) x (128, 512) and recurrent h U per step (B, 128) x (128, 512):
    forward, dW and dX each (the embedding below learns, so dX of the input counts), + Dense 128->1."""
    gates = 4 * LSTM_UNITS
    xw = _gemm(batch * LSTM_LEN, LSTM_DIM, gates)
    hu = _gemm(batch * LSTM_LEN, LSTM_UNITS, gates)
    return 3 * xw + 3 * hu + 3 * _gemm(batch, LSTM_UNITS, 1)


def gemm_flops(name):
    """FLOPs of the GEMMs/convolutions of one step of workload ``name`` (forward + backward
    for training, forward for one predict batch)."""
    if name == "tiny":
        return _dense_train(32, [(2, 16), (16, 16), (16, 1)])
    if name == "mlp":
        return _dense_train(128, [(784, 512), (512, 512), (512, 10)])
    if name == "cnn":
        return _cnn(128, train=True)
    if name == "lstm":
        return _lstm(64)
    if name == "predict_mlp":
        return sum(_gemm(PREDICT_BATCH, k, n) for k, n in [(784, 512), (512, 512), (512, 10)])
    if name == "predict_cnn":
        return _cnn(PREDICT_BATCH, train=False)
    raise KeyError(name)
