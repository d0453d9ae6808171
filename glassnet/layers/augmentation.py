"""Image augmentation layers: RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
RandomContrast, RandomCrop (Keras 3 names, arguments and defaults; channels_last).

Inputs are a batch (batch, height, width, channels) or one image (height, width, channels).
Each layer transforms its input when training (in ``fit``, and on a direct call, where Keras'
default is ``training=True``) and is the identity when ``training=False`` (``predict``,
``evaluate``); RandomCrop then takes the central window instead. Outputs are floats.

Geometric layers share one sampler: a 2x3 affine map per image sends each output pixel (x, y)
to the input point (a0 x + a1 y + a2, b0 x + b1 y + b2); that point is read with nearest or
bilinear interpolation, and points outside the image are filled by ``fill_mode``:
    reflect   d c b a | a b c d | d c b a     (about the edge of the last pixel)
    wrap      a b c d | a b c d | a b c d
    nearest   a a a a | a b c d | d d d d
    constant  k k k k | a b c d | k k k k     (k = fill_value)
All output pixels of the whole batch are computed at once with NumPy index arithmetic; the
reads are ``ops.take`` gathers, so gradients flow back to the input when it needs them.
Random draws come from ``glassnet.random.generator()`` (``gn.utils.set_random_seed``) or, with
``seed=``, from the layer's own Generator.
"""
import math

import numpy as np

from glassnet import ops
from glassnet import random as gn_random
from glassnet.layers.layer import Layer

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


# ---- the sampler -------------------------------------------------------------------------
def _fold_index(i, n, fill_mode):
    """Integer source indices folded into [0, n) by ``fill_mode``, and whether each was inside
    the image (only "constant" needs that: the others always read some pixel)."""
    inside = (i >= 0) & (i < n)
    if fill_mode == "reflect":
        i = np.mod(i, 2 * n)
        i = np.where(i >= n, 2 * n - 1 - i, i)
    elif fill_mode == "wrap":
        i = np.mod(i, n)
    else:
        i = np.clip(i, 0, n - 1)
    return i, inside


def _axis_reads(coord, n, fill_mode, interpolation):
    """The pixels one axis reads for each source coordinate: [(index, weight)], one pair for
    nearest, two (floor and floor + 1) for bilinear. Indices are folded with a lookup table
    over the small range of integers that occur (measured 1.9x faster for "reflect" than
    folding every coordinate with np.mod, on 128 images of 28x28); under "constant" an
    outside read has index -1."""
    if interpolation == "nearest":
        lo, parts = np.floor(coord + 0.5), [(0, None)]
    else:
        lo = np.floor(coord)
        frac = coord - lo
        parts = [(0, 1.0 - frac), (1, frac)]
    lo = lo.astype(np.intp)
    first = int(lo.min()) if lo.size else 0
    span = np.arange(first, (int(lo.max()) if lo.size else 0) + 2)
    table, inside = _fold_index(span, n, fill_mode)
    if fill_mode == "constant":
        table = np.where(inside, table, -1)
    lo -= first
    return [(np.take(table, lo + k), w) for k, w in parts]


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="reflect",
                     fill_value=0.0, output_size=None):
    """Resample a batch of images through per-image affine maps (keras.ops.image.affine_transform).

    images: Tensor (batch, height, width, channels). transforms: array (batch, 6 or 8) with rows
    [a0, a1, a2, b0, b1, b2(, 0, 0)]: output pixel (x, y) reads input point
    (a0 x + a1 y + a2, b0 x + b1 y + b2). output_size: (height, width), default the input's.
    Returns a Tensor (batch, out_height, out_width, channels).
    """
    batch, height, width, channels = images.shape
    out_h, out_w = output_size or (height, width)
    t = np.asarray(transforms, np.float64)[:, :6, None, None]
    y, x = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    src_x = t[:, 0] * x + t[:, 1] * y + t[:, 2]                      # (batch, out_h, out_w)
    src_y = t[:, 3] * x + t[:, 4] * y + t[:, 5]
    reads_y = _axis_reads(src_y, height, fill_mode, interpolation)
    reads_x = _axis_reads(src_x, width, fill_mode, interpolation)
    # one row per pixel of the batch, so that each read is a single gather of rows
    rows = ops.reshape(images, (batch * height * width, channels))
    base = (np.arange(batch) * (height * width))[:, None, None]
    dtype = images.dtype
    out, outside = None, 0.0
    for iy, wy in reads_y:
        for ix, wx in reads_x:
            w = wy if wx is None else wx if wy is None else wy * wx
            if w is None:
                w = np.ones(src_x.shape)
            flat = base + iy * width + ix
            if fill_mode == "constant":
                off = (iy < 0) | (ix < 0)
                outside = outside + np.where(off, w, 0.0)
                w = np.where(off, 0.0, w)
                flat = np.where(off, 0, flat)
            term = ops.take(rows, flat)
            term = term * w[..., None].astype(dtype)
            out = term if out is None else out + term
    if fill_mode == "constant" and fill_value:
        out = out + (fill_value * outside)[..., None].astype(dtype)
    return out


def resize(images, size, interpolation="bilinear"):
    """Resize (batch, h, w, c) to ``size`` = (height, width), pixel centres aligned
    (``align_corners=False``, no antialiasing: what Keras' resize does on its torch backend)."""
    batch, h, w, _ = images.shape
    out_h, out_w = size
    sy, sx = h / out_h, w / out_w
    t = np.tile([sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5], (batch, 1))
    return affine_transform(images, t, interpolation, "nearest", output_size=(out_h, out_w))


# ---- the layers --------------------------------------------------------------------------
def _range(factor, name, layer, low=-1.0, high=1.0, low_open=False):
    """(lower, upper) from a number f (-> (-|f|, |f|)) or a pair, every value checked."""
    where = f'{layer}: `{name}` should be a number (or a list of two numbers) in the range ' \
            f'{"(" if low_open else "["}{low}, {high}], received {name}={factor!r}'
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(where)
        values = [float(f) for f in factor]
        lower, upper = sorted(values)
    elif isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
        values = [float(factor)]
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(where)
    if any(v > high or v < low or (low_open and v == low) for v in values):
        raise ValueError(where)
    return lower, upper


class _ImageAugmentation(Layer):
    """What the augmentation layers share: the seed, the input checks and the training switch."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": only data_format="channels_last" (batch, height, '
                f"width, channels) is supported, received {data_format!r}; transpose the images first"
            )
        self.data_format = "channels_last"
        self.seed = seed
        self._rng = None if seed is None else gn_random.generator(seed)
        self.supports_masking = False

    def _generator(self):
        # looked up on every call: set_random_seed replaces the global Generator
        return self._rng if self._rng is not None else gn_random.generator()

    def call(self, inputs, training=None):
        if inputs.ndim not in (3, 4):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected images of shape '
                f"(batch, height, width, channels) or (height, width, channels), received shape {inputs.shape}"
                + ("; add a channels axis, e.g. Reshape((h, w, 1))" if inputs.ndim == 2 else "")
            )
        x = ops.cast(inputs, self.compute_dtype)
        single = x.ndim == 3
        if single:
            x = ops.expand_dims(x, 0)
        # Keras' image layers default to training=True: only an explicit False turns them off
        x = self._augment(x) if training is None or training else self._inference(x)
        return ops.squeeze(x, 0) if single else x

    def _inference(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "data_format": self.data_format})
        return config


class _AffineAugmentation(_ImageAugmentation):
    """A geometric augmentation: a random affine map per image, resampled with fill_mode."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        head = f'{type(self).__name__} "{self.name}"'
        if fill_mode not in _FILL_MODES:
            raise NotImplementedError(f"{head}: unknown `fill_mode` {fill_mode!r}. Expected one of {_FILL_MODES}.")
        if interpolation not in _INTERPOLATIONS:
            raise NotImplementedError(f"{head}: unknown `interpolation` {interpolation!r}. Expected one of {_INTERPOLATIONS}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)

    def _augment(self, x):
        batch, height, width, _ = x.shape
        transforms = self._transforms(self._generator(), batch, height, width)
        return affine_transform(x, transforms, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomFlip(_ImageAugmentation):
    """Flip each image left-right ("horizontal"), top-bottom ("vertical") or both
    ("horizontal_and_vertical", each flip drawn independently), each with probability 1/2."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f'RandomFlip "{self.name}": `mode` must be one of {self._MODES}, received {mode!r}')
        self.mode = mode

    def _augment(self, x):
        rng = self._generator()
        for axis, kind in ((2, "horizontal"), (1, "vertical")):
            if kind in self.mode:
                flips = rng.random(x.shape[0]) < 0.5
                if flips.any():
                    x = ops.where(flips[:, None, None, None], ops.flip(x, axis=axis), x)
        return x

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


class RandomRotation(_AffineAugmentation):
    """Rotate each image about its centre by an angle drawn uniformly from
    [lower, upper] * 360 degrees (``factor`` f means [-f, f]; positive is counter-clockwise)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        self.factor = _range(factor, "factor", f'RandomRotation "{self.name}"')

    def _transforms(self, rng, batch, height, width):
        angle = rng.uniform(self.factor[0], self.factor[1], batch) * 2.0 * math.pi
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        # output (x, y) reads the input point rotated about the centre: R(angle) (p - c) + c
        return np.stack([cos, -sin, cx - cx * cos + cy * sin,
                         sin, cos, cy - cx * sin - cy * cos], axis=1)

    def get_config(self):
        config = super().get_config()
        config["factor"] = list(self.factor)
        return config


class RandomTranslation(_AffineAugmentation):
    """Shift each image by a fraction of its size, drawn uniformly from ``height_factor`` and
    ``width_factor`` (a number f means [-f, f]; positive moves the content down / right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        head = f'RandomTranslation "{self.name}"'
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range(height_factor, "height_factor", head)
        self.width_lower, self.width_upper = _range(width_factor, "width_factor", head)

    def _transforms(self, rng, batch, height, width):
        dy = rng.uniform(self.height_lower, self.height_upper, batch) * height
        dx = rng.uniform(self.width_lower, self.width_upper, batch) * width
        one, zero = np.ones(batch), np.zeros(batch)
        return np.stack([one, zero, -dx, zero, one, -dy], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomZoom(_AffineAugmentation):
    """Zoom each image about its centre: the visible part is (1 + z) times the image size,
    z drawn from ``height_factor`` (and ``width_factor``; None keeps the aspect ratio).
    A positive z zooms out, a negative one zooms in; a number f means [-f, f]."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=fill_value,
                         data_format=data_format, **kwargs)
        head = f'RandomZoom "{self.name}"'
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range(height_factor, "height_factor", head, low_open=True)
        if width_factor is not None:
            self.width_lower, self.width_upper = _range(width_factor, "width_factor", head, low_open=True)

    def _transforms(self, rng, batch, height, width):
        zy = 1.0 + rng.uniform(self.height_lower, self.height_upper, batch)
        zx = zy if self.width_factor is None else 1.0 + rng.uniform(self.width_lower, self.width_upper, batch)
        zero = np.zeros(batch)
        return np.stack([zx, zero, (width - 1) / 2.0 * (1.0 - zx),
                         zero, zy, (height - 1) / 2.0 * (1.0 - zy)], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomContrast(_ImageAugmentation):
    """Scale each image's deviation from its per-channel mean by a factor c drawn from
    [1 - lower, 1 + upper] (``factor`` f: [1 - f, 1 + f]):  y = (x - mean) * c + mean, then
    clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        head = f'RandomContrast "{self.name}"'
        lower, upper = _range(factor, "factor", head, low=0.0, high=1.0)
        # a single number f means [1 - f, 1 + f], as the Keras documentation states
        self.factor = (upper, upper) if not isinstance(factor, (tuple, list)) else (lower, upper)
        if len(value_range) != 2 or value_range[0] > value_range[1]:
            raise ValueError(f"{head}: `value_range` must be (low, high) with low <= high, received {value_range!r}")
        self.value_range = tuple(value_range)

    def _augment(self, x):
        c = self._generator().uniform(1.0 - self.factor[0], 1.0 + self.factor[1], (x.shape[0], 1, 1, 1))
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        y = (x - mean) * c.astype(x.dtype) + mean
        return ops.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self):
        config = super().get_config()
        config.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return config


class RandomCrop(_ImageAugmentation):
    """Crop a random (height, width) window, at one place for the whole batch, when training.
    At inference (and for images smaller than the window) take instead the largest central
    window with the target's aspect ratio, resized (bilinear) to (height, width)."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        for arg, val in (("height", height), ("width", width)):
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val <= 0:
                raise ValueError(f'RandomCrop "{self.name}": `{arg}` must be a positive integer, received {val!r}')
        self.height, self.width = int(height), int(width)

    def _augment(self, x):
        _, h, w, _ = x.shape
        if h < self.height or w < self.width:
            return self._inference(x)
        rng = self._generator()
        top = int(rng.integers(0, h - self.height + 1))
        left = int(rng.integers(0, w - self.width + 1))
        return ops.getitem(x, (slice(None), slice(top, top + self.height), slice(left, left + self.width)))

    def _inference(self, x):
        _, h, w, _ = x.shape
        crop_h = max(min(h, int(w * self.height / self.width)), 1)
        crop_w = max(min(w, int(h * self.width / self.height)), 1)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        x = ops.getitem(x, (slice(None), slice(top, top + crop_h), slice(left, left + crop_w)))
        if (crop_h, crop_w) != (self.height, self.width):
            x = resize(x, (self.height, self.width))
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
