"""Corrupted and hostile files given to load_model / load_weights.

Over a thousand cases: truncated and bit-flipped .keras zips and .weights.h5 files, config
mutations (unknown classes, "module" pointing at os/subprocess, lambdas as bytecode, wrong
types and sizes, broken graphs), crafted HDF5 (links, external data, wrong shapes and dtypes,
shape bombs), crafted zips (unsafe names, duplicates, lying sizes, encryption), and pickle
payloads that would create a marker file if anything unpickled them. Each file either loads
or raises FileFormatError / OSError naming the file; the marker never appears.

The cases run in a child process, so a crash or a hang of the interpreter fails the test
instead of taking pytest down with it.
"""
import base64
import copy
import io
import json
import marshal
import os
import pickle
import random
import struct
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

MIN_CASES = 1000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_corrupt_and_hostile_files_are_refused_cleanly(tmp_path):
    pytest.importorskip("h5py")
    marker = tmp_path / "MARKER"
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), str(tmp_path), str(marker)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, f"the loader process died (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "a payload ran: the marker file exists"
    assert report["cases"] >= MIN_CASES, report["categories"]
    assert all(report["categories"].values()), report["categories"]
    assert report["bad"] == [], "\n".join(map(str, report["bad"][:20]))
    assert report["refused"] > report["cases"] // 2  # most hostile inputs must actually be refused


# ---- the child process -------------------------------------------------------------------
class _Payload:
    """Unpickling this creates ``path`` (as a real attack would run a command)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _zip(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are wanted here
        with zipfile.ZipFile(buffer, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buffer.getvalue()


def _h5(build):
    import h5py
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        build(f)
    return buffer.getvalue()


def _paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _paths(v, prefix + (i,))


def _set(tree, path, value, delete=False):
    tree = copy.deepcopy(tree)
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    elif delete:
        node.pop(path[-1])
    else:
        node[path[-1]] = value
    return tree


def _flip(data, rnd, n, lo=0, hi=None):
    data = bytearray(data)
    hi = len(data) if hi is None else min(hi, len(data))
    for _ in range(n):
        p = rnd.randrange(lo, hi)
        data[p] ^= 1 << rnd.randrange(8)
    return bytes(data)


def _patch_sizes(archive, name, size):
    """Rewrite the declared uncompressed size of ``name`` in both its headers."""
    data = bytearray(archive)
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + n]) == name.encode():
            struct.pack_into("<I", data, pos + 24, size)
        pos += 4
    return bytes(data)


def _set_flag(archive, name, bit):
    data = bytearray(archive)
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(name)
    flags = struct.unpack_from("<H", data, info.header_offset + 6)[0] | bit
    struct.pack_into("<H", data, info.header_offset + 6, flags)
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + n]) == name.encode():
            struct.pack_into("<H", data, pos + 8, flags)
        pos += 4
    return bytes(data)


def main(workdir, marker):
    import h5py

    import glassnet as gn
    from glassnet.models.saving import FileFormatError, load_model, load_weights, save_model, save_weights

    warnings.simplefilter("ignore")
    gn.random.set_seed(0)
    L = gn.layers

    def base_sequential():
        model = gn.Sequential([gn.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return model

    seq = base_sequential()
    x, y = np.ones((4, 4), "float32"), np.ones((4, 2), "float32")
    seq.fit(x, y, epochs=1, verbose=0)
    inp = gn.Input((4,), name="inp")
    shared = L.Dense(3, name="shared")
    func = gn.Model(inp, L.Dense(2, name="head")(L.Add(name="add")([shared(inp), shared(inp)])))
    func.compile(optimizer="sgd", loss="mse")
    save_model(seq, os.path.join(workdir, "seq.keras"))
    save_model(func, os.path.join(workdir, "func.keras"))
    save_weights(seq, os.path.join(workdir, "seq.weights.h5"))
    seq_keras = open(os.path.join(workdir, "seq.keras"), "rb").read()
    seq_h5 = open(os.path.join(workdir, "seq.weights.h5"), "rb").read()
    members = {n: zipfile.ZipFile(io.BytesIO(seq_keras)).read(n) for n in ("metadata.json", "config.json",
                                                                          "model.weights.h5")}
    func_zip = zipfile.ZipFile(os.path.join(workdir, "func.keras"))
    func_config = json.loads(func_zip.read("config.json"))
    func_weights = func_zip.read("model.weights.h5")
    target = base_sequential()  # load_weights goes into this one
    target(x)

    rnd = random.Random(1234)
    cases = []  # (category, file name, bytes, "model" | "weights")

    def keras_file(config=None, weights=None, extra=()):
        cfg = members["config.json"] if config is None else config
        cfg = cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()
        return _zip([("metadata.json", members["metadata.json"]), ("config.json", cfg),
                     ("model.weights.h5", members["model.weights.h5"] if weights is None else weights), *extra])

    def func_file(config):
        return _zip([("metadata.json", b"{}"), ("config.json", json.dumps(config).encode()),
                     ("model.weights.h5", func_weights)])

    # A. the .keras zip: truncated and bit-flipped
    for n in sorted({0, 1, 4, 21, 22, len(seq_keras) - 22, len(seq_keras) - 1} | {rnd.randrange(len(seq_keras))
                                                                                 for _ in range(110)}):
        cases.append(("zip_truncated", "m.keras", seq_keras[:n], "model"))
    for _ in range(260):
        cases.append(("zip_bitflip", "m.keras", _flip(seq_keras, rnd, rnd.randint(1, 6)), "model"))
    for _ in range(90):
        cases.append(("zip_bitflip", "m.keras", _flip(seq_keras, rnd, rnd.randint(1, 3), len(seq_keras) - 250), "model"))

    # B. the .weights.h5 file: truncated and bit-flipped; C. model.weights.h5 inside a valid zip
    for n in sorted({0, 8, 512, len(seq_h5) - 1} | {rnd.randrange(len(seq_h5)) for _ in range(90)}):
        cases.append(("h5_truncated", "w.weights.h5", seq_h5[:n], "weights"))
    for _ in range(130):
        cases.append(("h5_bitflip", "w.weights.h5", _flip(seq_h5, rnd, rnd.randint(1, 8)), "weights"))
    for _ in range(120):
        cases.append(("h5_bitflip", "w.weights.h5", _flip(seq_h5, rnd, rnd.randint(1, 4), 0, 2048), "weights"))
    for _ in range(100):
        flipped = _flip(members["model.weights.h5"], rnd, rnd.randint(1, 6))
        cases.append(("h5_in_zip_bitflip", "m.keras", keras_file(weights=flipped), "model"))

    # D. config mutations: every value deleted or replaced by something hostile
    code = marshal.dumps(compile(f"open({marker!r}, 'w')", "<payload>", "eval"))
    lambda_config = {"class_name": "__lambda__", "config": {"value": [base64.b64encode(code).decode(), None, None]}}
    os_object = {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"},
                 "registered_name": "os>system"}
    replacements = [None, -1, 0, 10 ** 15, 10 ** 30, 1e308, float("nan"), True, "x" * 300, [], {}, [[[]]],
                    lambda_config, os_object,
                    {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", marker]}},
                    {"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "object"}},
                    {"class_name": "__keras_tensor__", "config": {"keras_history": ["nowhere", 0, 0]}}]
    paths = list(_paths(func_config))
    for path in paths:
        if path:
            cases.append(("config_mutation", "m.keras", func_file(_set(func_config, path, None, delete=True)), "model"))
    for _ in range(260):
        path = rnd.choice(paths)
        cases.append(("config_mutation", "m.keras", func_file(_set(func_config, path, rnd.choice(replacements))),
                      "model"))
    layer_paths = [("config", "layers", i) for i in range(len(func_config["config"]["layers"]))]
    hostile_layers = [
        {"module": "os", "class_name": "system", "config": {"command": f"touch {marker}"}},
        {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", marker]}, "registered_name": "x>Popen"},
        {"module": "builtins", "class_name": "eval", "config": {"source": f"open({marker!r}, 'w')"}},
        {"module": "keras.layers", "class_name": "TFOpLambda", "config": {"name": "t"}},
        {"module": "keras.layers", "class_name": "__lambda__", "config": lambda_config["config"]},
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"name": "lam", "function": lambda_config, "arguments": {}}},
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"name": "lam", "function": {"module": "os", "class_name": "function", "config": "system",
                                                "registered_name": "system"}, "arguments": {"command": f"touch {marker}"}}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "d", "units": 2, "activation": lambda_config}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "d", "units": 2, "kernel_initializer": os_object}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "eval"}},
        {"module": "os", "class_name": "Dense", "config": {"name": "d", "units": 2}, "registered_name": "os>system"},
        {"module": "keras.layers", "class_name": 12, "config": {}},
        {"module": "keras.layers", "class_name": "X" * 100000, "config": {}},
    ]
    for path in layer_paths:
        for hostile in hostile_layers:
            layer = dict(hostile)
            layer.setdefault("name", func_config["config"]["layers"][path[-1]]["name"])
            layer["inbound_nodes"] = func_config["config"]["layers"][path[-1]].get("inbound_nodes", [])
            cases.append(("config_hostile", "m.keras", func_file(_set(func_config, path, layer)), "model"))
    top_level = [
        {**func_config, "class_name": "Evil"}, {**func_config, "module": "os", "class_name": "system"},
        {**func_config, "class_name": "Model", "config": {"name": "m"}},
        {**func_config, "compile_config": {"optimizer": {"module": "subprocess", "class_name": "Popen",
                                                         "config": {"args": ["touch", marker]}}, "loss": "mse"}},
        {**func_config, "compile_config": {"optimizer": "adam", "loss": {"module": "os", "class_name": "function",
                                                                         "config": "system"}}},
        {**func_config, "compile_config": {"optimizer": "adam", "loss": lambda_config, "metrics": [os_object]}},
        {**func_config, "compile_config": {"optimizer": "adam", "loss": "mse", "loss_weights": ["x"]}},
        {**func_config, "config": {**func_config["config"], "output_layers": [["add", 5, 0]]}},
        {**func_config, "config": {**func_config["config"], "input_layers": [["head", 0, 0]]}},
        {**func_config, "config": {**func_config["config"], "layers": func_config["config"]["layers"] * 2}},
        {**func_config, "config": {**func_config["config"], "layers": func_config["config"]["layers"][::-1]}},
    ]
    for config in top_level:
        cases.append(("config_hostile", "m.keras", func_file(config), "model"))
    cycle = copy.deepcopy(func_config)
    for layer in cycle["config"]["layers"]:
        if layer["name"] == "shared":
            layer["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["head", 0, 0]
    cases.append(("config_hostile", "m.keras", func_file(cycle), "model"))
    deep = "[" * 100000 + "]" * 100000
    for raw in [b"", b"null", b"[1, 2]", b"3", b"\xff\xfe\x00garbage", "\ufeff{}".encode("utf-16"), deep.encode(),
                json.dumps({"class_name": "Functional", "config": [[[[[[[[[[[[]]]]]]]]]]]]}).encode(),
                b'{"class_name": "Sequential", "config": ' + b'{"a": ' * 300 + b"1" + b"}" * 301,
                b"{" + b'"k": 1, ' * 200000 + b'"class_name": "Nothing"}',
                b'{"class_name": "Dense", "config": {"units": 1' + b"0" * 5000 + b"}}"]:
        cases.append(("config_raw", "m.keras", keras_file(config=raw), "model"))

    # E. crafted HDF5: links, external data, wrong dtypes and shapes, bombs
    def like_seq(f, override):
        """seq's weights file, with ``override(f)`` applied at the end."""
        def copy_dataset(name, obj):
            if isinstance(obj, h5py.Dataset):
                f.create_dataset(name, data=obj[()])

        with h5py.File(io.BytesIO(seq_h5), "r") as src:
            src.visititems(copy_dataset)
        override(f)

    def replace(path, **kwargs):
        def op(f):
            del f[path]
            f.create_dataset(path, **kwargs)
        return op

    k0 = "layers/dense/vars/0"

    def op_soft(f):
        del f["layers/dense"]
        f["layers/dense"] = h5py.SoftLink("/layers/dense_1")

    def op_external(f):
        del f["layers/dense"]
        f["layers/dense"] = h5py.ExternalLink("/etc/passwd", "/x")

    def op_external_storage(f):
        del f[k0]
        f.create_dataset(k0, shape=(4, 3), dtype="f4", external=[("/etc/hostname", 0, 48)])

    def op_virtual(f):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
        layout[:] = h5py.VirtualSource("other.h5", "data", shape=(4, 3))
        del f[k0]
        f.create_virtual_dataset(k0, layout, fillvalue=0)

    def op_group_for_dataset(f):
        del f[k0]
        f.create_group(k0)

    def op_dataset_for_group(f):
        del f["layers/dense/vars"]
        f.create_dataset("layers/dense/vars", data=np.zeros(3))

    def op_pickled_bytes(f):
        del f[k0]
        f.create_dataset(k0, data=np.void(pickle.dumps(_Payload(marker))))

    def op_extra(f):
        f.create_dataset("layers/dense/vars/2", data=np.zeros(3, "f4"))

    def op_renamed(f):
        f.move(k0, "layers/dense/vars/a")

    def op_missing(f):
        del f["layers/dense_1"]

    def op_optimizer_count(f):
        del f["optimizer/vars/2"]

    ops_list = [
        replace(k0, data=np.zeros((3, 4), "f4")), replace(k0, data=np.zeros((4, 3, 1), "f4")),
        replace(k0, data=np.float32(1)), replace(k0, data=np.zeros((4, 3), "S8")),
        replace(k0, data=np.array([["a"] * 3] * 4, dtype=h5py.string_dtype())),
        replace(k0, data=np.zeros((4, 3), "c8")), replace(k0, data=np.zeros((4, 3), [("a", "f4"), ("b", "i4")])),
        replace(k0, shape=(4, 3), dtype=h5py.ref_dtype), replace(k0, shape=(4, 3), dtype=h5py.regionref_dtype),
        replace(k0, shape=(4, 3), dtype=h5py.vlen_dtype(np.float32)),
        replace(k0, shape=(10 ** 9, 10 ** 6), dtype="f8", chunks=(1, 1000), compression="gzip"),
        replace(k0, shape=(2 ** 40,), dtype="f4", chunks=(2 ** 20,)),
        replace(k0, data=np.full((4, 3), np.nan, "f4")), replace(k0, data=np.zeros((4, 3), "f8")),
        replace(k0, data=np.zeros((4, 3), "i8")), replace(k0, data=np.zeros((4, 3), bool)),
        replace(k0, data=np.zeros((4, 3), "f4"), compression="gzip", shuffle=True, fletcher32=True),
        op_soft, op_external, op_external_storage, op_virtual, op_group_for_dataset, op_dataset_for_group,
        op_pickled_bytes, op_extra, op_renamed, op_missing, op_optimizer_count,
    ]
    for op in ops_list:
        crafted = _h5(lambda f, op=op: like_seq(f, op))
        cases.append(("h5_crafted", "w.weights.h5", crafted, "weights"))
        cases.append(("h5_crafted", "m.keras", keras_file(weights=crafted), "model"))

    # F. crafted zips
    good = [("metadata.json", members["metadata.json"]), ("config.json", members["config.json"]),
            ("model.weights.h5", members["model.weights.h5"])]
    npz = io.BytesIO()
    np.savez(npz, a=np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    zips = [
        _zip(good[:1] + good[2:]), _zip(good[:2]), _zip(good[:2] + [("model.weights.npz", npz.getvalue())]),
        _zip(good + [("config.json", b"{}")]), _zip(good + [("../evil", b"x")]), _zip(good + [("/abs", b"x")]),
        _zip(good + [("a\\b", b"x")]), _zip(good + [("C:evil", b"x")]), _zip(good + [("a/../../b", b"x")]),
        _zip(good, zipfile.ZIP_DEFLATED), _zip(good, zipfile.ZIP_BZIP2), _zip(good, zipfile.ZIP_LZMA),
        _zip([(n, seq_keras if n == "config.json" else d) for n, d in good]),
        _zip([("metadata.json", b"{}"), ("config.json", b" " * (70 << 20)), good[2]], zipfile.ZIP_DEFLATED),
        _zip([("metadata.json", b"{}"), good[1], ("model.weights.h5", b"\0" * (8 << 20))], zipfile.ZIP_DEFLATED),
        _set_flag(seq_keras, "config.json", 0x1), _set_flag(seq_keras, "model.weights.h5", 0x1),
        _patch_sizes(seq_keras, "model.weights.h5", 0xFFFFFFF0), _patch_sizes(seq_keras, "config.json", 0xFFFFFFF0),
        _patch_sizes(seq_keras, "config.json", 10), _patch_sizes(seq_keras, "model.weights.h5", 100),
        b"PK\x05\x06" + b"\0" * 18, os.urandom(5000), b"\x89HDF\r\n\x1a\n" + os.urandom(3000),
    ]
    for data in zips:
        cases.append(("zip_crafted", "m.keras", data, "model"))

    # G. pickle payloads wherever a file or member is expected
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        payload = pickle.dumps(_Payload(marker), protocol=protocol)
        cases += [("pickle", "m.keras", payload, "model"), ("pickle", "w.weights.h5", payload, "weights"),
                  ("pickle", "m.keras", keras_file(config=payload), "model"),
                  ("pickle", "m.keras", keras_file(weights=payload), "model"),
                  ("pickle", "m.keras", keras_file(extra=[("model.pkl", payload)]), "model")]
    object_npy = io.BytesIO()
    np.save(object_npy, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    cases += [("pickle", "m.keras", keras_file(weights=object_npy.getvalue()), "model"),
              ("pickle", "w.weights.h5", object_npy.getvalue(), "weights"),
              ("pickle", "m.keras", keras_file(weights=npz.getvalue()), "model")]

    # run them all
    categories, bad, refused, loaded = {}, [], 0, 0
    log = open(os.environ["GLASSNET_FUZZ_LOG"], "w") if os.environ.get("GLASSNET_FUZZ_LOG") else None
    for i, (category, name, data, kind) in enumerate(cases):
        categories[category] = categories.get(category, 0) + 1
        path = os.path.join(workdir, f"{i}_{name}")
        with open(path, "wb") as f:
            f.write(data)
        try:
            if kind == "model":
                load_model(path)
            else:
                load_weights(target, path)
            loaded += 1
            if log:
                print(i, category, "LOADED", file=log)
        except (FileFormatError, OSError) as e:
            refused += 1
            if log:
                print(i, category, type(e).__name__, str(e).replace(path, "<file>")[:400], file=log)
            if path not in str(e):
                bad.append((i, category, type(e).__name__, "message does not name the file", str(e)[:300]))
        except Exception as e:  # anything else is a bug: an unclear or unrelated exception
            bad.append((i, category, type(e).__name__, str(e)[:300]))
        os.remove(path)
        if os.path.exists(marker):
            bad.append((i, category, "PAYLOAD RAN"))
            break
    for special in ("/dev/zero", "/dev/null"):  # not regular files: refused, never read forever
        link = os.path.join(workdir, "dev.keras")
        os.symlink(special, link)
        try:
            load_model(link)
            bad.append(("special", special, "loaded"))
        except (FileFormatError, OSError) as e:
            refused += 1
        except Exception as e:
            bad.append(("special", special, type(e).__name__, str(e)[:300]))
        os.remove(link)
        categories["special"] = categories.get("special", 0) + 1
    print(json.dumps({"cases": len(cases) + 2, "categories": categories, "bad": bad, "refused": refused,
                      "loaded": loaded}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
