"""Probabilistic and hinge metrics: running means of the matching losses."""
from glassnet import losses
from glassnet.metrics.base import MeanMetricWrapper


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of binary crossentropy."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of categorical crossentropy."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of sparse categorical crossentropy."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class _Simple(MeanMetricWrapper):
    _loss = None
    _default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(type(self)._loss, name=name or self._default_name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class KLDivergence(_Simple):
    """Running mean of the KL divergence sum(t log(t / p))."""
    _loss = staticmethod(losses.kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_Simple):
    """Running mean of the Poisson loss."""
    _loss = staticmethod(losses.poisson)
    _default_name = "poisson"


class Hinge(_Simple):
    """Running mean of the hinge loss."""
    _loss = staticmethod(losses.hinge)
    _default_name = "hinge"


class SquaredHinge(_Simple):
    """Running mean of the squared hinge loss."""
    _loss = staticmethod(losses.squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_Simple):
    """Running mean of the categorical hinge loss."""
    _loss = staticmethod(losses.categorical_hinge)
    _default_name = "categorical_hinge"
