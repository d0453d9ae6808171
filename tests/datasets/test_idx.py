"""The IDX reader: headers and data written by hand with struct, round trips, and bad files."""
import gzip
import struct
import time

import numpy as np
import pytest

from glassnet.datasets import idx


def header(code, *dims):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def write(path, data, compress=False):
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_reads_hand_written_uint8_images(tmp_path, compress):
    pixels = bytes(range(24))
    path = write(tmp_path / ("x.gz" if compress else "x"), header(0x08, 2, 3, 4) + pixels, compress)
    out = idx.read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.ravel(), np.arange(24))
    assert out.flags.writeable


@pytest.mark.parametrize(
    "code, fmt, values",
    [
        (0x09, ">b", [-128, -1, 0, 127]),
        (0x0B, ">h", [-32768, -2, 1, 32767]),
        (0x0C, ">i", [-(2**31), -3, 5, 2**31 - 1]),
        (0x0D, ">f", [-1.5, 0.0, 0.25, 3.0e38]),
        (0x0E, ">d", [-1e300, 0.1, 2.0, np.pi]),
    ],
)
def test_reads_big_endian_dtypes_into_native_order(tmp_path, code, fmt, values):
    data = header(code, 4) + b"".join(struct.pack(fmt, v) for v in values)
    out = idx.read_idx(write(tmp_path / "v", data))
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, np.array(values, dtype=out.dtype))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_write_read_round_trip(tmp_path, dtype, name):
    arr = (np.arange(2 * 5 * 3) % 100).astype(dtype).reshape(2, 5, 3)
    idx.write_idx(tmp_path / name, arr)
    out = idx.read_idx(tmp_path / name)
    assert out.dtype == np.dtype(dtype) and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    raw = (tmp_path / name).read_bytes()
    assert raw[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")


def test_write_rejects_dtype_without_code(tmp_path):
    with pytest.raises(ValueError, match="int64 has no IDX code"):
        idx.write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def test_empty_dimension_gives_empty_array(tmp_path):
    out = idx.read_idx(write(tmp_path / "e", header(0x08, 0, 28, 28)))
    assert out.shape == (0, 28, 28)


BAD_FILES = {
    "empty file": (b"", "shorter than the 4-byte magic"),
    "bad magic": (b"\x01\x02\x08\x01" + b"\x00" * 8, "magic number starts with 0x0102"),
    "unknown dtype code": (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x00", "unknown IDX dtype code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    "truncated header": (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "truncated IDX header"),
    "truncated data": (header(0x08, 10, 5) + bytes(49), r"\(50 data bytes\) but the file holds only 49"),
    "trailing bytes": (header(0x08, 2) + bytes(3), r"\(2 data bytes\) but the file holds more than 2 \(trailing"),
    "int32 size": (header(0x0C, 3) + bytes(8), r"\(12 data bytes\)"),
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_give_a_value_error_naming_the_file(tmp_path, case, compress):
    data, message = BAD_FILES[case]
    path = write(tmp_path / f"bad-{case.replace(' ', '_')}-idx1-ubyte", data, compress)
    with pytest.raises(ValueError, match=message) as err:
        idx.read_idx(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("compress", [False, True])
def test_huge_declared_shape_is_refused_without_allocating(tmp_path, compress):
    # 3 dims of 2**32 - 1 declare ~8e28 bytes; the file holds 100.
    path = write(tmp_path / "huge", header(0x0E, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + bytes(100), compress)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="holds only 100"):
        idx.read_idx(path)
    assert time.perf_counter() - start < 1.0


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "c.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data at all" * 4)
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        idx.read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_stream(tmp_path):
    good = gzip.compress(header(0x08, 1000) + bytes(range(256)) * 4)
    path = tmp_path / "t.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        idx.read_idx(path)


def test_gzip_with_bad_crc(tmp_path):
    good = bytearray(gzip.compress(header(0x08, 4) + b"\x01\x02\x03\x04"))
    good[-8] ^= 0xFF  # the CRC32 in the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(good))
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        idx.read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        idx.read_idx(tmp_path / "nope")


def test_is_idx_name():
    assert idx.is_idx_name("train-images-idx3-ubyte")
    assert idx.is_idx_name("/a/b/t10k-labels.idx1-ubyte.gz")
    assert not idx.is_idx_name("mnist.npz")
