"""Image augmentation layers: shapes, inference identity, exact transforms, statistics,
seeds, gradients, Keras numbers, and use inside model.fit."""
import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import augmentation as aug
from tests.layers.keras_reference import keras_or_skip

L = gn.layers


def _images(rng, shape=(4, 8, 8, 3)):
    return rng.random(shape).astype("float32")


def _all_layers(seed=None):
    return [L.RandomFlip(seed=seed), L.RandomRotation(0.2, seed=seed), L.RandomTranslation(0.2, 0.3, seed=seed),
            L.RandomZoom(0.2, seed=seed), L.RandomContrast(0.3, seed=seed), L.RandomCrop(5, 6, seed=seed)]


# ---- shapes, dtypes, the training switch ---------------------------------------------------
@pytest.mark.parametrize("layer", _all_layers(seed=0), ids=lambda l: type(l).__name__)
def test_shapes_batched_and_single_image(rng, layer):
    x = _images(rng, (3, 8, 9, 2))
    want = (5, 6, 2) if isinstance(layer, L.RandomCrop) else (8, 9, 2)
    for training in (True, False, None):
        assert layer(x, training=training).shape == (3,) + want
        assert layer(x[0], training=training).shape == want
    assert layer.compute_output_shape((None, 8, 9, 2)) == (None,) + want


@pytest.mark.parametrize("layer", _all_layers(seed=0)[:-1], ids=lambda l: type(l).__name__)
def test_identity_at_inference_and_float_output(rng, layer):
    x = (rng.random((2, 6, 6, 3)) * 255).astype("uint8")
    y = layer(x, training=False)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), x.astype("float32"))
    # Keras' image layers default to training=True: a plain call augments
    assert not np.array_equal(layer(x.astype("float32")).numpy(), x)


def test_inference_inside_predict_is_identity(rng):
    x = _images(rng)
    m = gn.Sequential([gn.Input((8, 8, 3)), L.RandomRotation(0.3), L.RandomFlip(), L.RandomContrast(0.5)])
    np.testing.assert_array_equal(m.predict(x, verbose=0), x)


# ---- exact transforms ----------------------------------------------------------------------------
def test_flip_is_exactly_np_flip(rng):
    x = _images(rng, (64, 5, 7, 2))
    for mode, axis in (("horizontal", 1), ("vertical", 0)):
        y = L.RandomFlip(mode, seed=1)(x, training=True).numpy()
        flipped = [np.array_equal(b, np.flip(a, axis)) for a, b in zip(x, y)]
        same = [np.array_equal(b, a) for a, b in zip(x, y)]
        assert all(f or s for f, s in zip(flipped, same))
        assert 16 < sum(flipped) < 48          # each image with probability 1/2
    y = L.RandomFlip(seed=2)(x, training=True).numpy()
    kinds = [next(k for k, f in enumerate([lambda a: a, lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a[::-1, ::-1]])
                  if np.array_equal(b, f(a))) for a, b in zip(x, y)]
    assert set(kinds) == {0, 1, 2, 3}          # the two flips are drawn independently


@pytest.mark.parametrize("factor,k", [(0.25, 1), (-0.25, -1), (0.5, 2)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotation_by_quarter_turns_is_rot90(rng, factor, k, interpolation):
    x = _images(rng, (3, 7, 7, 2))
    y = L.RandomRotation((factor, factor), interpolation=interpolation)(x, training=True).numpy()
    np.testing.assert_allclose(y, np.rot90(x, k, axes=(1, 2)), atol=1e-5)


def test_translation_by_whole_pixels_is_np_roll(rng):
    x = _images(rng, (2, 8, 8, 1))
    # height 0.25 * 8 = 2 pixels down, width -0.125 * 8 = 1 pixel left
    wrap = L.RandomTranslation((0.25, 0.25), (-0.125, -0.125), fill_mode="wrap")(x, training=True).numpy()
    np.testing.assert_allclose(wrap, np.roll(x, (2, -1), axis=(1, 2)), atol=1e-6)
    const = L.RandomTranslation((0.25, 0.25), (-0.125, -0.125), fill_mode="constant", fill_value=-1.0,
                                interpolation="nearest")(x, training=True).numpy()
    want = np.roll(x, (2, -1), axis=(1, 2))
    want[:, :2], want[:, :, -1:] = -1.0, -1.0
    np.testing.assert_allclose(const, want, atol=1e-6)


def test_fill_modes_on_a_shift_past_the_edge():
    x = np.arange(1, 5, dtype="float32").reshape(1, 1, 4, 1)           # a b c d = 1 2 3 4
    expect = {"reflect": [2, 1, 1, 2], "wrap": [3, 4, 1, 2], "nearest": [1, 1, 1, 2], "constant": [9, 9, 1, 2]}
    for mode, want in expect.items():
        layer = L.RandomTranslation(0, (0.5, 0.5), fill_mode=mode, fill_value=9.0)
        np.testing.assert_allclose(layer(x, training=True).numpy().ravel(), want, err_msg=mode)


def test_zoom_zero_is_identity_and_zoom_out_fills_the_border(rng):
    x = _images(rng, (2, 9, 9, 1))
    np.testing.assert_allclose(L.RandomZoom((0.0, 0.0))(x, training=True).numpy(), x, atol=1e-6)
    y = L.RandomZoom((1.0, 1.0), fill_mode="constant", fill_value=-1.0, interpolation="nearest")(x, training=True).numpy()
    # zoom factor 2 about the centre pixel: the middle stays, output pixel i reads input 2i - 4
    assert np.all(y[:, 4, 4] == x[:, 4, 4])
    np.testing.assert_array_equal(y[:, 3, 3], x[:, 2, 2])
    assert np.all(y[:, 0] == -1.0) and np.all(y[:, :, -1] == -1.0)


def test_contrast_range_and_clipping(rng):
    x = rng.uniform(50, 150, (200, 4, 4, 2)).astype("float32")
    y = L.RandomContrast(0.5, seed=3)(x, training=True).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y.mean(axis=(1, 2), keepdims=True), mean, rtol=1e-5)   # no clipping here
    c = ((y - mean) / (x - mean)).reshape(200, -1)
    np.testing.assert_allclose(c, c[:, :1].repeat(c.shape[1], 1), rtol=1e-3)  # one factor per image
    assert 0.5 <= c.min() < 0.7 and 1.3 < c.max() <= 1.5                     # [1 - f, 1 + f]
    z = L.RandomContrast((0.0, 0.0))(x, training=True).numpy()
    np.testing.assert_allclose(z, x, rtol=1e-6)
    wide = L.RandomContrast((1.0, 1.0), value_range=(0, 1))(rng.random((8, 4, 4, 1)), training=True).numpy()
    assert wide.min() >= 0.0 and wide.max() <= 1.0


def test_crop_training_window_and_inference_centre(rng):
    x = _images(rng, (3, 6, 8, 1))
    layer = L.RandomCrop(4, 5, seed=0)
    starts = set()
    for _ in range(40):
        y = layer(x, training=True).numpy()
        hits = [(i, j) for i in range(3) for j in range(4) if np.array_equal(y, x[:, i:i + 4, j:j + 5])]
        assert len(hits) == 1                      # one window, the same for the whole batch
        starts.add(hits[0])
    assert len(starts) > 6
    # inference: the largest central window with the target's aspect ratio
    np.testing.assert_array_equal(L.RandomCrop(6, 6)(x, training=False).numpy(), x[:, :, 1:7])
    np.testing.assert_array_equal(L.RandomCrop(6, 8)(x, training=False).numpy(), x)
    # images smaller than the window are resized even when training
    assert L.RandomCrop(10, 10)(x, training=True).shape == (3, 10, 10, 1)


def test_crop_inference_resize_matches_keras(rng):
    keras = keras_or_skip()
    x = _images(rng, (2, 6, 8, 3))
    got = L.RandomCrop(3, 4)(x, training=False).numpy()      # whole image (aspect 3:4) resized
    want = keras.ops.convert_to_numpy(keras.ops.image.resize(x, (3, 4)))
    np.testing.assert_allclose(got, want, atol=1e-6)
    got = L.RandomCrop(4, 4)(x, training=False).numpy()      # central 6x6, resized
    want = keras.ops.convert_to_numpy(keras.ops.image.resize(x[:, :, 1:7], (4, 4)))
    np.testing.assert_allclose(got, want, atol=1e-6)


# ---- the sampler against Keras, and its fast fold against the plain one -----------------------
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_matches_keras(rng, fill_mode, interpolation):
    keras = keras_or_skip()
    x = _images(rng, (3, 7, 9, 2))
    angle, scale = rng.uniform(-3, 3, 3), rng.uniform(0.5, 1.7, 3)
    t = np.zeros((3, 8), "float32")
    t[:, 0], t[:, 1], t[:, 2] = scale * np.cos(angle), -scale * np.sin(angle), rng.uniform(-6, 6, 3)
    t[:, 3], t[:, 4], t[:, 5] = scale * np.sin(angle), scale * np.cos(angle), rng.uniform(-6, 6, 3)
    want = keras.ops.convert_to_numpy(keras.ops.image.affine_transform(
        x, t, interpolation=interpolation, fill_mode=fill_mode, fill_value=0.5))
    got = aug.affine_transform(gn.tensor(x), t, interpolation, fill_mode, 0.5).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("cls,kwargs", [
    (L.RandomRotation, dict(factor=(0.1, 0.1))),
    (L.RandomTranslation, dict(height_factor=(0.13, 0.13), width_factor=(-0.21, -0.21))),
    (L.RandomZoom, dict(height_factor=(0.3, 0.3), width_factor=(-0.2, -0.2))),
    (L.RandomZoom, dict(height_factor=(-0.25, -0.25))),
])
@pytest.mark.parametrize("fill_mode", ["reflect", "constant"])
def test_fixed_transforms_match_keras(rng, cls, kwargs, fill_mode):
    keras = keras_or_skip()
    x = _images(rng, (2, 9, 7, 3))
    got = cls(fill_mode=fill_mode, **kwargs)(x, training=True).numpy()
    k_layer = getattr(keras.layers, cls.__name__)(fill_mode=fill_mode, **kwargs)
    want = keras.ops.convert_to_numpy(k_layer(x, training=True))
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_lookup_fold_equals_direct_fold(rng, fill_mode):
    coord = rng.uniform(-30, 40, (3, 5, 6))
    for interpolation, offsets in (("bilinear", (0, 1)), ("nearest", (0,))):
        reads = aug._axis_reads(coord, 7, fill_mode, interpolation)
        lo = np.floor(coord + (0.5 if interpolation == "nearest" else 0.0)).astype(int)
        for (idx, _), k in zip(reads, offsets):
            want, inside = aug._fold_index(lo + k, 7, fill_mode)
            if fill_mode == "constant":
                want = np.where(inside, want, -1)
            np.testing.assert_array_equal(idx, want)


# ---- randomness -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda s: L.RandomFlip(seed=s), lambda s: L.RandomRotation(0.3, seed=s),
                                  lambda s: L.RandomTranslation(0.3, 0.3, seed=s), lambda s: L.RandomZoom(0.3, seed=s),
                                  lambda s: L.RandomContrast(0.5, seed=s), lambda s: L.RandomCrop(5, 5, seed=s)])
def test_seeded_layers_repeat_and_global_seed_repeats(rng, make):
    x = _images(rng, (8, 8, 8, 3))
    a, b, c = make(7), make(7), make(8)
    ya, yb, yc = (l(x, training=True).numpy() for l in (a, b, c))
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, yc)
    assert not np.array_equal(ya, a(x, training=True).numpy())    # a new draw on each call
    gn.utils.set_random_seed(3)
    first = make(None)(x, training=True).numpy()
    gn.utils.set_random_seed(3)
    np.testing.assert_array_equal(make(None)(x, training=True).numpy(), first)


def test_rotation_angles_spread_over_the_factor_range(rng):
    layer = L.RandomRotation(0.1, seed=0)
    t = layer._transforms(np.random.default_rng(0), 2000, 8, 8)
    angle = np.degrees(np.arctan2(t[:, 3], t[:, 0]))
    assert -36 <= angle.min() < -34 and 34 < angle.max() <= 36
    assert abs(angle.mean()) < 2


# ---- gradients, config, errors, training ----------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: L.RandomRotation(0.2, fill_mode="reflect", seed=1, dtype="float64"),
    lambda: L.RandomZoom(0.3, 0.2, fill_mode="constant", fill_value=0.5, seed=2, dtype="float64"),
    lambda: L.RandomTranslation(0.1, 0.3, fill_mode="wrap", seed=3, dtype="float64"),
    lambda: L.RandomContrast(0.4, value_range=(-10, 10), seed=4, dtype="float64"),
    lambda: L.RandomFlip(seed=5, dtype="float64"),
    lambda: L.RandomCrop(3, 4, seed=6, dtype="float64"),
], ids=["rotation", "zoom", "translation", "contrast", "flip", "crop"])
def test_gradients_flow_through_the_transform(rng, make):
    # a fresh seeded layer per evaluation, so that every evaluation draws the same transform
    x = gn.tensor(rng.standard_normal((2, 5, 6, 2)), requires_grad=True)
    assert gn.gradcheck(lambda t: make()(t, training=True), x)


@pytest.mark.parametrize("layer", _all_layers(seed=5), ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_config_keys_match_keras():
    keras = keras_or_skip()
    for k_layer, g_layer in [(keras.layers.RandomRotation(0.2), L.RandomRotation(0.2)),
                             (keras.layers.RandomZoom(0.2), L.RandomZoom(0.2)),
                             (keras.layers.RandomTranslation(0.1, 0.2), L.RandomTranslation(0.1, 0.2)),
                             (keras.layers.RandomFlip(), L.RandomFlip()), (keras.layers.RandomCrop(3, 3), L.RandomCrop(3, 3)),
                             (keras.layers.RandomContrast(0.2), L.RandomContrast(0.2))]:
        missing = set(k_layer.get_config()) - set(g_layer.get_config())
        assert missing <= {"dtype", "trainable", "name"} - set(g_layer.get_config()), (type(g_layer).__name__, missing)


def test_errors_name_the_layer_and_the_problem(rng):
    with pytest.raises(ValueError, match="received shape"):
        L.RandomFlip(name="flipper")(rng.random((4, 8)))
    with pytest.raises(NotImplementedError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirror-ish")
    with pytest.raises(NotImplementedError, match="interpolation"):
        L.RandomZoom(0.1, interpolation="cubic")
    with pytest.raises(ValueError, match="factor"):
        L.RandomRotation(1.5)
    with pytest.raises(ValueError, match="height_factor"):
        L.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="factor"):
        L.RandomContrast(-0.1)
    with pytest.raises(ValueError, match="mode"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="channels_last"):
        L.RandomFlip(data_format="channels_first")
    with pytest.raises(ValueError, match="positive integer"):
        L.RandomCrop(0, 3)


def test_augmentation_in_a_sequential_model_trains(rng):
    x = _images(rng, (32, 10, 10, 1))
    y = x.mean(axis=(1, 2, 3))[:, None]
    m = gn.Sequential([gn.Input((10, 10, 1)), L.RandomFlip("horizontal", seed=0), L.RandomRotation(0.05, seed=1),
                       L.RandomTranslation(0.1, 0.1, seed=2), L.RandomZoom(0.1, seed=3), L.RandomContrast(0.1, seed=4),
                       L.RandomCrop(8, 8, seed=5), L.Conv2D(2, 3), L.Flatten(), L.Dense(1)])
    assert m.output_shape == (None, 1)
    try:
        m.compile(optimizer="adam", loss="mse")
    except ImportError as e:  # pragma: no cover - only while the trainer is being written
        pytest.skip(f"the trainer is not importable yet: {e}")
    before = [w.copy() for w in m.get_weights()]
    history = m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    assert m.predict(x, verbose=0).shape == (32, 1)
