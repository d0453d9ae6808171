"""Reading and writing model files without trusting them: the checks behind glassnet.models.saving.

Paths must be regular files with the expected suffix; zip member names may not climb out of
the archive; every member's size is checked against its header and the archive's size before
it is read (zip bombs); JSON configs are size- and depth-limited; a save writes a temporary
file in the same directory, fsyncs it and renames it over the target, so a crash mid-save
leaves the previous file intact.
"""
import json
import os
import stat
import tempfile
import zipfile

from glassnet.layers.serialization import check_depth

MAX_JSON_BYTES = 64 << 20
MAX_EXPANSION = 100  # a compressed zip member may expand at most this much (bombs do more)


class FileFormatError(ValueError):
    """A file that is not a valid model or weights file (corrupt, truncated, or hostile)."""


class UnsafeFileError(FileFormatError):
    """A file that asks for something never done on load: links, external data, code."""


def checked_path(filepath, suffixes, what, expected):
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{what}: filepath must be a str or path, received {type(filepath).__name__}")
    path = os.fspath(filepath)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path.endswith(suffixes):
        raise ValueError(f"Invalid filepath for {what}: expected {expected}. Received: filepath={path}")
    return path


def check_regular_file(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a file")
    if not os.path.isfile(path):  # a device or a pipe could be read forever
        raise FileFormatError(f"{path} is not a regular file")


def check_member_name(name, path):
    parts = name.split("/")
    if (len(name) > 1024 or "\x00" in name or "\\" in name or name.startswith("/") or ":" in parts[0]
            or any(p in ("..", ".") for p in parts) or "" in parts[:-1]):
        raise UnsafeFileError(f"{path}: the archive holds a member with an unsafe name {name[:200]!r}")


def read_member(zf, info, archive_size, limit, path):
    name = info.filename
    if info.flag_bits & 0x1:
        raise FileFormatError(f"{path}: {name} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FileFormatError(f"{path}: {name} uses zip compression method {info.compress_type}, which is not read")
    too_big = (info.file_size > limit or info.compress_size > archive_size
               or info.file_size > MAX_EXPANSION * info.compress_size + (1 << 20)
               or (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size))
    if too_big:
        raise FileFormatError(f"{path}: {name} declares {info.file_size} bytes ({info.compress_size} stored in a "
                              f"{archive_size}-byte file); refusing to read it")
    with zf.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise FileFormatError(f"{path}: {name} holds {len(data)} bytes, its header says {info.file_size}")
    return data


def parse_json(data, where):
    try:
        value = json.loads(data.decode("utf-8"))
        check_depth(value, "config")
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FileFormatError(f"{where}: not a valid JSON config ({type(e).__name__}: {str(e)[:300]})") from None
    if not isinstance(value, dict):
        raise FileFormatError(f"{where}: the config must be a JSON object, found {type(value).__name__}")
    return value


def atomic_write(path, write, overwrite):
    """Write via a temporary file in the same directory, fsync, then rename over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path}: it is a directory")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the target appeared meanwhile: never overwrites
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
