"""Model: a Layer that groups layers and can be trained (Keras' ``keras.Model``).

``gn.Model(inputs, outputs)`` builds a functional model; subclassing ``gn.Model`` and
writing ``call`` builds a subclassed one. The training methods (compile, fit, evaluate,
predict, ...) are provided by ``glassnet.training``, which sits above this package and
plugs itself in at import, so models never import the training loop.
"""
from glassnet.layers.layer import Layer, unique_name
from glassnet.models import summary as _summary

_TRAINER = {}


def register_trainer(impl):
    """Called by glassnet.training: ``impl`` provides compile/fit/evaluate/predict/..."""
    _TRAINER["impl"] = impl


def _trainer():
    impl = _TRAINER.get("impl")
    if impl is None:
        import glassnet.training  # noqa: F401  (registers itself; only reached if glassnet/__init__ was bypassed)
        impl = _TRAINER["impl"]
    return impl


class Model(Layer):
    """A group of layers with training and inference methods."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from glassnet.models.functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError(f"Model: unexpected positional arguments {args!r}; use Model(inputs, outputs) or subclass Model")
        name = kwargs.pop("name", None) or unique_name(_default_name(type(self)))
        super().__init__(name=name, **kwargs)
        self.optimizer = None
        self.compiled = False

    # ---- structure ------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index, as Keras finds it."""
        if index is not None and name is not None:
            raise ValueError("get_layer: give either name or index, not both")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f'get_layer: index {index} is out of range; model "{self.name}" has {len(layers)} layers')
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f'get_layer: no layer named "{name}" in model "{self.name}"; its layers are {[l.name for l in layers]}')

    def _summary_rows(self):
        return [_summary.layer_row(l) for l in self.layers]

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False, layer_range=None):
        """Print Keras' table of layers, output shapes and parameter counts."""
        lines = _summary.summary_lines(self)
        (print_fn or print)("\n".join(lines))

    # ---- training methods (glassnet.training) -----------------------------------------
    def compile(self, *args, **kwargs):
        return _trainer().compile(self, *args, **kwargs)

    def fit(self, *args, **kwargs):
        return _trainer().fit(self, *args, **kwargs)

    def evaluate(self, *args, **kwargs):
        return _trainer().evaluate(self, *args, **kwargs)

    def predict(self, *args, **kwargs):
        return _trainer().predict(self, *args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        return _trainer().train_on_batch(self, *args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        return _trainer().test_on_batch(self, *args, **kwargs)

    def predict_on_batch(self, *args, **kwargs):
        return _trainer().predict_on_batch(self, *args, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus regularisation losses (for custom train_step)."""
        return _trainer().compute_loss(self, x, y, y_pred, sample_weight, training)

    def _losses_from(self, trainable_weights):
        """``self.losses`` given the trainable weights the caller already has: the training
        step needs both, and each would otherwise walk every layer to rebuild the list."""
        if type(self).losses is not Layer.losses:  # a model that defines its own losses
            return self.losses
        out = [w.regularizer(w) for w in trainable_weights if w.regularizer is not None]
        return out + self._activity_losses_deep()

    @property
    def metrics(self):
        """The loss tracker and the compiled metrics (Keras 3's model.metrics)."""
        if not getattr(self, "compiled", False):
            return []
        return [self._loss_tracker] + self._compiled_metrics.metrics

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        _trainer().reset_metrics(self)

    def get_metrics_result(self):
        return _trainer().get_metrics_result(self)

    # ---- saving (glassnet.models.saving: Keras 3's .keras and .weights.h5 files) -------
    def save(self, filepath, overwrite=True, **kwargs):
        """Write the model (config, weights, optimizer state) as a Keras 3 .keras file, atomically."""
        from glassnet.models.saving import save_model
        return save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights as a Keras 3 .weights.h5 file, atomically."""
        from glassnet.models.saving import save_weights
        return save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Load weights from a .weights.h5 or .keras file (all or nothing unless skip_mismatch)."""
        from glassnet.models.saving import load_weights
        return load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        return config


def _default_name(cls):
    from glassnet.layers.layer import snake_case
    return snake_case(cls.__name__)
