"""Sequential: a plain stack of layers, each feeding the next (``keras.Sequential``)."""
from glassnet.layers.input_layer import InputLayer, KerasTensor
from glassnet.layers.layer import Layer, unique_name
from glassnet.models.model import Model


class Sequential(Model):
    """``gn.Sequential([layers...])``: built at once from an Input, else on first call."""

    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or unique_name("sequential"), trainable=trainable)
        self.optimizer = None
        self.compiled = False
        object.__setattr__(self, "_input_layer", None)  # not a tracked sublayer: Keras leaves it out of .layers
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer, rebuild=True):
        """Append a layer (or an Input); a layer that does not fit is not added."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(f'Sequential "{self.name}": an Input can only be the first entry')
            object.__setattr__(self, "_input_layer", layer)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f'Sequential "{self.name}": expected a Layer instance, received {layer!r} ({type(layer).__name__})')
        if not self._layers and self._input_layer is None and layer._input_shape_arg is not None:
            object.__setattr__(self, "_input_layer", InputLayer(batch_shape=layer._input_shape_arg))
        self._layers.append(layer)
        if rebuild:
            try:
                self._rebuild()
            except Exception:
                self._layers.pop()
                raise

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self._layers:
            raise ValueError(f'Sequential "{self.name}" has no layers to pop')
        layer = self._layers.pop()
        if rebuild:
            self._rebuild()
        return layer

    def _rebuild(self):
        if self._input_layer is None:
            self.built = False
            return
        x = self._input_layer.output_tensor
        for layer in self._layers:
            x = layer(x)
        self.built = True
        self._output_shape = x.shape if self._layers else self._input_layer.batch_shape

    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            raise ValueError(f'Sequential "{self.name}": build needs an input_shape, e.g. (None, 784)')
        object.__setattr__(self, "_input_layer", InputLayer(batch_shape=tuple(input_shape)))
        self._rebuild()

    @property
    def inputs(self):
        return [self._input_layer.output_tensor] if self._input_layer else None

    @property
    def outputs(self):
        """The symbolic output (built models only), as keras.Sequential.outputs."""
        if self._input_layer is None or not self._layers:
            return None
        node_outputs = self._layers[-1]._inbound_nodes[-1].outputs if self._layers[-1]._inbound_nodes else None
        return [node_outputs] if node_outputs is not None else None

    @property
    def input_shape(self):
        return self._input_layer.batch_shape if self._input_layer else None

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers:
            x = layer(x)
        return x

    def get_config(self):
        from glassnet.layers.serialization import serialize_layer
        config = {"name": self.name, "trainable": self.trainable, "layers": []}
        if self._input_layer is not None:
            config["layers"].append(serialize_layer(self._input_layer))
        config["layers"] += [serialize_layer(l) for l in self._layers]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from glassnet.layers.serialization import deserialize_layer
        layers = [deserialize_layer(c, custom_objects) for c in config["layers"]]
        return cls(layers=layers, name=config.get("name"), trainable=config.get("trainable", True))
