"""The IDX file format of MNIST and Fashion-MNIST: a strict reader and a small writer.

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4*d bytes   the size of each dimension, uint32
    the data    prod(sizes) * itemsize bytes, C order

Files may be gzip-compressed (detected by content, not by name). A file that breaks any of
these rules, or holds fewer or more data bytes than its header declares, raises a ValueError
naming the file. The reader never allocates more than the file actually holds: a header that
declares a huge array over a short file is refused before anything is read.
"""
import gzip
import os
import struct
import zlib

import numpy as np

# code -> big-endian dtype
DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22


def is_idx_name(path):
    """True if the file name looks like an IDX file (``...idx3-ubyte``, ``...idx1-ubyte.gz``)."""
    name = os.path.basename(os.fspath(path))
    if name.endswith(".gz"):
        name = name[:-3]
    return "idx" in name and name.endswith("-ubyte")


def _parse_header(path, read):
    head = read(4)
    if len(head) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(head)} bytes, shorter than the 4-byte magic number")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: magic number starts with 0x{head[0]:02x}{head[1]:02x}, expected 0x0000"
        )
    code, ndim = head[2], head[3]
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    raw = read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions declared, file ends inside them")
    shape = struct.unpack(f">{ndim}I", raw)
    dtype = DTYPES[code]
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n  # Python ints: no overflow however large the header claims
    return dtype, shape, 4 + 4 * ndim, nbytes


def _size_error(path, shape, dtype, expected, got):
    if got < expected:
        held = f"only {got} (truncated file?)"
    else:  # the gzip reader stops at expected + 1, so it only knows "more"
        held = f"more than {expected} (trailing bytes after the data)"
    return ValueError(
        f"{path}: IDX header declares shape {shape} of {dtype.newbyteorder('=').name} "
        f"({expected} data bytes) but the file holds {held}"
    )


def read_idx(path):
    """Read an IDX file (plain or gzip) into a NumPy array in native byte order.

    Raises FileNotFoundError if ``path`` does not exist and ValueError, naming the file, for
    a bad magic number, unknown dtype code, truncated header or data, trailing bytes, or a
    corrupt gzip stream.
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            dtype, shape, header, expected = _parse_header(path, raw.read)
            got = os.fstat(raw.fileno()).st_size - header
            if got != expected:
                raise _size_error(path, shape, dtype, expected, got)
            data = np.fromfile(path, dtype=dtype, count=expected // dtype.itemsize, offset=header)
            return data.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                dtype, shape, _, expected = _parse_header(path, f.read)
                # Read in bounded chunks: gzip.read(n) would allocate n bytes up front, and n
                # comes from an untrusted header.
                buf = bytearray()
                while len(buf) <= expected:
                    chunk = f.read(min(_CHUNK, expected + 1 - len(buf)))
                    if not chunk:
                        break
                    buf += chunk
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({type(e).__name__}: {e})") from e
    if len(buf) != expected:
        raise _size_error(path, shape, dtype, expected, len(buf))
    data = np.frombuffer(buf, dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip-compressed if ``compress`` or the name ends in .gz).

    Supported dtypes: uint8, int8, int16, int32, float32, float64.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(
            f"write_idx: dtype {array.dtype} has no IDX code; "
            "use one of uint8, int8, int16, int32, float32, float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: IDX needs 1 to 255 dimensions, received shape {array.shape}")
    data = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data += np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(data)
