"""PyDataset: a batch source for fit/evaluate/predict (``keras.utils.PyDataset``)."""


class PyDataset:
    """Subclass it: ``__len__`` is the number of batches, ``__getitem__(i)`` returns batch i
    as ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; ``on_epoch_end`` runs after each epoch
    (shuffle there). ``workers``/``use_multiprocessing`` are accepted and ignored."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning a batch")

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)
