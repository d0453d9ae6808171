"""PyTorch side of the benchmark: the same models as plain nn.Modules, trained by the usual
fast loop (zero_grad(set_to_none=True), forward, loss, backward, Adam step).

Idiomatic choices: images in torch's native NCHW layout (converted once, before timing);
classifiers output logits and use F.cross_entropy / BCEWithLogits (the fused, stable form a
PyTorch user writes), while predict applies the softmax so it returns what Keras' model
returns. Adam is torch.optim.Adam with eps=1e-7 (Keras' default) and torch's own choice of
implementation unless ``adam`` says "foreach" or "fused".
"""
import numpy as np

import workloads as W


def _modules(torch):
    nn = torch.nn

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(W.LSTM_VOCAB, W.LSTM_DIM)
            self.lstm = nn.LSTM(W.LSTM_DIM, W.LSTM_UNITS, batch_first=True)
            self.dense = nn.Linear(W.LSTM_UNITS, 1)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.embedding(ids))
            return self.dense(h[-1])

    return {
        "tiny": lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)),
        "mlp": lambda: nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)),
        "cnn": lambda: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                                     nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10)),
        "lstm": LSTMNet,
    }


def _loss(torch, base):
    F = torch.nn.functional
    return {"tiny": F.mse_loss, "mlp": F.cross_entropy, "cnn": F.cross_entropy,
            "lstm": F.binary_cross_entropy_with_logits}[base]


def _input(torch, base, x):
    if base == "cnn":  # NHWC data -> torch's native NCHW, once
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return torch.from_numpy(x)


def prepare(name, x, y):
    """The workload's NumPy arrays as torch tensors (NCHW images), made before any timing
    or memory baseline, as a PyTorch user's data would already be."""
    import torch

    base = name.replace("predict_", "")
    return _input(torch, base, x), None if y is None else torch.from_numpy(y)


def build(name, xt, yt, seed=0, adam="default"):
    """A no-argument function that runs one step of workload ``name`` on the tensors from
    ``prepare``, and the module."""
    import torch

    torch.manual_seed(seed)
    base = name.replace("predict_", "")
    model = _modules(torch)[base]()
    if name.startswith("predict_"):
        model.eval()
        batch = W.PREDICT_BATCH

        def predict():
            with torch.inference_mode():
                return np.concatenate([torch.softmax(model(xt[i:i + batch]), -1).numpy()
                                       for i in range(0, len(xt), batch)])
        return predict, model

    model.train()
    loss_fn = _loss(torch, base)
    kwargs = {"foreach": True} if adam == "foreach" else {"fused": True} if adam == "fused" else {}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, **kwargs)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step, model
