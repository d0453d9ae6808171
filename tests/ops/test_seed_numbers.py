"""The lecture decks' worked convolution and pooling numbers (seeds/*.txt), through gn.ops.

Where a slide's number disagrees with the arithmetic, the test asserts the arithmetic and
the comment says what the slide prints.
"""
import numpy as np

from glassnet import ops, tensor


def conv2d(image, kernel, **kw):
    """One grey image (H, W) and one filter (kh, kw) through ops.conv; returns (OH, OW)."""
    x = np.asarray(image, np.float64)[None, :, :, None]
    k = np.asarray(kernel, np.float64)[:, :, None, None]
    return ops.conv(x, k, **kw).numpy()[0, :, :, 0]


def pool2d(fn, image, **kw):
    return fn(np.asarray(image, np.float64)[None, :, :, None], **kw).numpy()[0, :, :, 0]


# ---- seed 003: "A gentle introduction to Deep Learning" --------------------------------
IMAGE_003 = [[2, 4, 9, 1, 4], [2, 1, 4, 4, 6], [1, 1, 2, 9, 2], [7, 3, 5, 1, 3], [2, 3, 4, 8, 5]]
KERNEL_003 = [[1, 2, 3], [-4, 7, 4], [2, -5, 1]]


def test_seed003_valid_convolution():
    y = conv2d(IMAGE_003, KERNEL_003)
    np.testing.assert_array_equal(y, [[51, 66, 20], [31, 49, 101], [15, 53, -2]])


def test_seed003_zero_padded_convolution_keeps_5x5():
    expected = [[21, 59, 37, -19, 2], [30, 51, 66, 20, 43], [-14, 31, 49, 101, -19],
                [59, 15, 53, -2, 21], [49, 57, 64, 76, 10]]
    # "Input 5x5 with padding 1. Filter 3x3, stride 1 -> Output is 5x5": pad 1 == "same" here
    np.testing.assert_array_equal(conv2d(IMAGE_003, KERNEL_003, padding=1), expected)
    np.testing.assert_array_equal(conv2d(IMAGE_003, KERNEL_003, padding="same"), expected)


def test_seed003_output_volume_32x32x10():
    # 32x32x3 input, ten 5x5 filters, stride 1, pad 2: (32 + 2*2 - 5)/1 + 1 = 32
    x = np.zeros((1, 32, 32, 3), np.float32)
    kernel = np.zeros((5, 5, 3, 10), np.float32)
    assert ops.conv(x, kernel, strides=1, padding=2).shape == (1, 32, 32, 10)
    assert kernel.size + 10 == 760               # 76 parameters per filter, bias included
    # six 5x5 filters on a 32x32x3 image without padding: a 28x28x6 "new image"
    assert ops.conv(x, np.zeros((5, 5, 3, 6), np.float32)).shape == (1, 28, 28, 6)


def test_seed003_max_pool_2x2_stride_2():
    # only the output (6 8 / 3 4) is in the deck's text; the input is the picture's, the
    # CS231n example it reproduces
    x = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]
    np.testing.assert_array_equal(pool2d(ops.max_pool, x, pool_size=(2, 2), strides=2), [[6, 8], [3, 4]])


# ---- seed 000: "Convolutional Neural Network: Mechanics" ---------------------------------
def test_seed000_kernel_slides_across_the_image():
    image = [[0.4, 0.9, 0.1], [0.7, 0.2, 0.6], [0.8, 0.3, 0.5]]
    kernel = [[5.7, 2.4], [3.1, 0.9]]
    # The slide prints 7.67 for the third cell; its own products give
    # 5.7*0.7 + 2.4*0.2 + 3.1*0.8 + 0.9*0.3 = 3.99 + 0.48 + 2.48 + 0.27 = 7.22.
    np.testing.assert_allclose(conv2d(image, kernel), [[6.79, 6.53], [7.22, 3.96]], rtol=1e-12)


def test_seed000_the_maximum_stays_the_maximum():
    # the four arrangements of 66, 2, 6, 32 on the pooling slide all pool to 66
    for window in ([[66, 2], [6, 32]], [[6, 2], [66, 32]], [[2, 66], [6, 32]], [[32, 6], [2, 66]]):
        assert pool2d(ops.max_pool, window, pool_size=2)[0, 0] == 66


# ---- seed 002: convolutional filters and pooling ----------------------------------------
def test_seed002_filter_outputs_32_and_36():
    kernel = [[0, 1, -1], [1, 0, 1], [1, 2, 0]]
    assert conv2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], kernel).item() == 32
    assert conv2d([[2, 3, 1], [5, 6, 3], [8, 9, 8]], kernel).item() == 36
    # stride 1 across the 3x6 image holding both patches side by side
    wide = [[1, 2, 3, 2, 3, 1], [4, 5, 6, 5, 6, 3], [7, 8, 9, 8, 9, 8]]
    assert conv2d(wide, kernel)[0, 0] == 32 and conv2d(wide, kernel)[0, 3] == 36


def test_seed002_3x3_max_pool_stride_3():
    # the two windows "Max = 9" and "Max = 12", side by side, no overlap (stride 3)
    image = [[1, 2, 3, 5, 2, 1], [4, 5, 6, 5, 7, 1], [7, 8, 9, 9, 5, 12]]
    np.testing.assert_array_equal(pool2d(ops.max_pool, image, pool_size=(3, 3), strides=3), [[9, 12]])
    # "Can use other functions besides max. Example, average"
    np.testing.assert_allclose(pool2d(ops.avg_pool, image, pool_size=(3, 3)), [[5, 47 / 9]])


# ---- seed 001: "How Convolutional Neural Networks Work" (X's and O's) -----------------------
from tests.seed_data import FEATURES_001, MAPS_001, x_image  # noqa: E402  (typed once)


POOLED_001 = {
    "diagonal \\": "1.00 0.33 0.55 0.33  0.33 1.00 0.33 0.55  0.55 0.33 1.00 0.11  0.33 0.55 0.11 0.77",
    "x": "0.55 0.33 0.55 0.33  0.33 1.00 0.55 0.11  0.55 0.55 0.55 0.11  0.33 0.11 0.11 0.33",
    "diagonal /": "0.33 0.55 1.00 0.77  0.55 0.55 1.00 0.33  1.00 1.00 0.11 0.55  0.77 0.33 0.55 0.33",
}


def _table(text, n):
    return np.array(text.split(), float).reshape(n, n)


def _as_printed(a):
    return np.trunc(np.round(a * 100, 9)) / 100


def _feature_maps():
    kernel = np.stack([np.array(f, float) for f in FEATURES_001.values()], -1)[:, :, None, :]
    return ops.conv(x_image()[None, :, :, None], kernel).numpy()[0] / 9    # (7, 7, 3)


def test_seed001_filtering_one_patch():
    # the matching patch gives (1+...+1)/9 = 1; the patch with two mismatches gives .55
    img = x_image()
    f = np.array(FEATURES_001["diagonal \\"], float)
    assert conv2d(img[1:4, 1:4], f).item() / 9 == 1
    assert _as_printed(conv2d(img[3:6, 3:6], f).item() / 9) == 0.55   # 5/9


def test_seed001_feature_maps():
    maps = _feature_maps()
    for i, name in enumerate(FEATURES_001):
        np.testing.assert_array_equal(_as_printed(maps[..., i]), _table(MAPS_001[name], 7), err_msg=name)
    # The pooling slide reprints the first map with 0.11 in row 0, column 5; the convolution
    # gives -1/9 there (as the convolution slide prints): that reprint is a typo.
    assert _as_printed(maps[0, 5, 0]) == -0.11


def test_seed001_relu_then_2x2_max_pool_same():
    relu = np.maximum(_feature_maps(), 0)
    assert (relu >= 0).all()
    pooled = ops.max_pool(relu[None], (2, 2), strides=2, padding="same").numpy()[0]
    assert pooled.shape == (4, 4, 3)       # 7 -> 4: the last row and column pool alone
    for i, name in enumerate(FEATURES_001):
        np.testing.assert_array_equal(_as_printed(pooled[..., i]), _table(POOLED_001[name], 4), err_msg=name)


# ---- seed 004: "Deep Learning for Analyzing Images and Time Series" -------------------------
IMAGE_004 = [
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 0],
    [0, 1, 1, 1, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
]


def test_seed004_identity_filter_copies_the_centre():
    identity = [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    y = conv2d(IMAGE_004, identity)
    np.testing.assert_array_equal(y, [[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0],
                                      [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]])
    # "If you want output size to be same as input, pad 0's to input"
    np.testing.assert_array_equal(conv2d(IMAGE_004, identity, padding="same"), IMAGE_004)


def test_seed004_blur():
    y = conv2d(IMAGE_004, np.full((3, 3), 1 / 9))
    expected = np.array([[3, 5, 6, 5, 3], [5, 8, 8, 6, 3], [6, 9, 8, 7, 4], [5, 8, 8, 6, 3], [3, 5, 6, 5, 3]]) / 9
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_seed004_horizontal_edges_relu_max_pool():
    edges = [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]
    y = conv2d(IMAGE_004, edges)
    np.testing.assert_array_equal(y, [[0, 1, 3, 1, 0], [1, 1, 1, 3, 3], [0, 0, -2, -4, -4],
                                      [1, 1, 1, 3, 3], [0, 1, 3, 1, 0]])
    relu = ops.relu(y)
    np.testing.assert_array_equal(relu.numpy()[2], [0, 0, 0, 0, 0])
    pooled = pool2d(ops.max_pool, relu.numpy(), pool_size=(2, 2), strides=2)
    np.testing.assert_array_equal(pooled, [[1, 3], [1, 3]])
    # "1 pixel in max pooling output captures information from 16 input pixels": a 2x2
    # pool of 3x3 convolutions reads a 4x4 patch. avg_pool reads the same windows as
    # max_pool and sends gradient to every cell, so the gradient marks the whole patch.
    x = tensor(np.asarray(IMAGE_004, float)[None, :, :, None], requires_grad=True)
    out = ops.avg_pool(ops.conv(x, np.ones((3, 3, 1, 1))), (2, 2), strides=2)
    out[0, 0, 0, 0].backward()
    assert (x.grad[0, :, :, 0] != 0).sum() == 16 and (x.grad[0, :4, :4, 0] != 0).all()
