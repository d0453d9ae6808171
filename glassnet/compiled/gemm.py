"""float32 matrix products with AVX-512 register tiles, compiled (numba + LLVM vectors).

The convnet's and the LSTM's training steps are mostly matrix products, and on this
project's machines NumPy's OpenBLAS runs its AVX2 (Haswell) kernels, ~110 GFLOP/s a core,
while the CPU has AVX-512 with two 512-bit FMA pipes. The kernel here keeps a tile of C in
vector registers (5 rows x 64 columns, 8 x 32 or 12 x 16) and streams A and B through it,
a broadcast of A and a vector load of B per multiply-add row: 200-230 GFLOP/s a core at the
convnet's shapes, 150-230 at the LSTM's, against OpenBLAS's 105-115 on the same machine
(benchmarks/PROFILE_NOTES.md). numba compiles it for the host CPU, so LLVM emits the
AVX-512 instructions itself; the engine uses it only where the CPU has AVX-512 (avx512()).

Its operands are addressed through offset tables, so that one kernel does plain, transposed
and convolution products without copying the operands into matrices first (implicit im2col):

    c[c_rows[i] + j] (+)= sum_p a[a_rows[i] + a_cols[p]] * b[b_rows[p] + j]

for i < len(a_rows), p < len(a_cols), j < n, with a, b, c flat float32 arrays. ``n`` must be
a multiple of 16 (a vector); the engine uses NumPy for anything else. The sums run in a
fixed order (blocks of KC terms, each in order), so a result does not depend on threads.
"""
from contextlib import contextmanager

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_JIT = dict(cache=True, nogil=True, boundscheck=False)
LANES = 16
KC = 256          # terms of the sum per pass over C: a 5 x 256 block of A stays in L1
MC_TILES = 16     # row tiles per block of A (~80 rows x 256 terms, in L2)
_F32 = ir.FloatType()
_VEC = ir.VectorType(_F32, LANES)


@contextmanager
def _counted_loop(builder, count):
    """``for k in range(count)`` in IR, marked not to unroll: unrolled, the tile's loop needs
    twice the vector registers and spills them (78 against 170 GFLOP/s at the convnet's
    7744 x 288 x 64)."""
    zero = ir.Constant(count.type, 0)
    pre = builder.block
    head = builder.append_basic_block("tile.k")
    body = builder.append_basic_block("tile.body")
    done = builder.append_basic_block("tile.done")
    builder.branch(head)
    builder.position_at_end(head)
    k = builder.phi(count.type)
    k.add_incoming(zero, pre)
    builder.cbranch(builder.icmp_signed("<", k, count), body, done)
    builder.position_at_end(body)
    yield k
    nxt = builder.add(k, ir.Constant(count.type, 1))
    k.add_incoming(nxt, builder.block)
    back = builder.branch(head)
    module = builder.module
    loop_id = module.add_metadata([None, module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])])
    loop_id.operands = (loop_id,) + loop_id.operands[1:]
    back.set_metadata("llvm.loop", loop_id)
    builder.position_at_end(done)


def _tile_intrinsic(mr, nv):
    """An intrinsic that computes one (mr rows) x (nv vectors) tile of C over terms
    [p0, p0 + kc) of the sum; ``rows`` / ``vecs`` (<= mr / nv) of it are stored, the rest of the
    registers repeat the last row / vector (edge tiles), so every load stays in bounds."""

    @intrinsic
    def tile(typingctx, a, a_rows, a_cols, b, b_rows, c, c_rows, i0, j0, p0, kc, rows, vecs, accumulate):
        sig = types.void(a, a_rows, a_cols, b, b_rows, c, c_rows, types.intp, types.intp, types.intp,
                         types.intp, types.intp, types.intp, types.boolean)

        def codegen(context, builder, signature, args):
            arrays = [context.make_array(t)(context, builder, v).data for t, v in zip(signature.args[:7], args[:7])]
            ap, arp, acp, bp, brp, cp, crp = arrays
            i0_, j0_, p0_, kc_, rows_, vecs_, acc_in = args[7:]
            idx = i0_.type
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VEC, [_VEC] * 3), "llvm.fma.v16f32")

            def clamp(k, limit):  # min(k, limit - 1)
                last = builder.sub(limit, idx(1))
                return builder.select(builder.icmp_signed("<", idx(k), last), idx(k), last)

            a_off = [builder.load(builder.gep(arp, [builder.add(i0_, clamp(r, rows_))])) for r in range(mr)]
            c_off = [builder.load(builder.gep(crp, [builder.add(i0_, clamp(r, rows_))])) for r in range(mr)]
            j_off = [builder.add(j0_, builder.mul(clamp(v, vecs_), idx(LANES))) for v in range(nv)]

            def vec_ptr(base, offset):
                return builder.bitcast(builder.gep(base, [offset]), _VEC.as_pointer())

            accs = [[cgutils.alloca_once(builder, _VEC) for _ in range(nv)] for _ in range(mr)]
            with builder.if_else(cgutils.as_bool_bit(builder, acc_in)) as (load_c, zero_c):
                with load_c:
                    for r in range(mr):
                        for v in range(nv):
                            builder.store(builder.load(vec_ptr(cp, builder.add(c_off[r], j_off[v])), align=4), accs[r][v])
                with zero_c:
                    for r in range(mr):
                        for v in range(nv):
                            builder.store(ir.Constant(_VEC, [0.0] * LANES), accs[r][v])
            lane0 = ir.Constant(ir.IntType(32), 0)
            splat = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
            with _counted_loop(builder, kc_) as k:
                p = builder.add(p0_, k)
                a_col = builder.load(builder.gep(acp, [p]))
                b_row = builder.load(builder.gep(brp, [p]))
                bv = [builder.load(vec_ptr(bp, builder.add(b_row, j_off[v])), align=4) for v in range(nv)]
                for r in range(mr):
                    s = builder.load(builder.gep(ap, [builder.add(a_off[r], a_col)]))
                    sv = builder.insert_element(ir.Constant(_VEC, ir.Undefined), s, lane0)
                    sv = builder.shuffle_vector(sv, ir.Constant(_VEC, ir.Undefined), splat)
                    for v in range(nv):
                        builder.store(builder.call(fma, [sv, bv[v], builder.load(accs[r][v])]), accs[r][v])
            for r in range(mr):
                with builder.if_then(builder.icmp_signed("<", idx(r), rows_)):
                    for v in range(nv):
                        with builder.if_then(builder.icmp_signed("<", idx(v), vecs_)):
                            builder.store(builder.load(accs[r][v]), vec_ptr(cp, builder.add(c_off[r], j_off[v])), align=4)
            return context.get_dummy_value()

        return sig, codegen

    return tile


# (rows, vectors) per register tile: 20, 16 or 12 accumulators, the vectors of B and the broadcasts
# of A within the 32 vector registers (6 x 4 spilled: 170 against 215 GFLOP/s at 7744 x 288 x 64)
_TILE_64 = _tile_intrinsic(5, 4)
_TILE_32 = _tile_intrinsic(8, 2)
_TILE_16 = _tile_intrinsic(12, 1)


@njit(**_JIT)
def gemm(a, a_rows, a_cols, b, b_rows, c, c_rows, n, accumulate):
    """c[c_rows[i] + j] (+)= sum_p a[a_rows[i] + a_cols[p]] * b[b_rows[p] + j] (see the module
    docstring); ``accumulate`` adds to c instead of overwriting it. n % 16 == 0."""
    m, k = a_rows.shape[0], a_cols.shape[0]
    vecs_total = n // LANES
    if vecs_total % 4 == 0:
        mr, nv = 5, 4
    elif vecs_total % 2 == 0:
        mr, nv = 8, 2
    else:
        mr, nv = 12, 1
    if k == 0 and not accumulate:
        for i in range(m):
            for j in range(n):
                c[c_rows[i] + j] = 0.0
        return
    for p0 in range(0, k, KC):
        kc = min(KC, k - p0)
        acc = accumulate or p0 > 0
        for ic in range(0, m, MC_TILES * mr):  # a block of A's rows that stays in L2 while B's columns pass
            for j0 in range(0, n, nv * LANES):
                for i0 in range(ic, min(ic + MC_TILES * mr, m), mr):
                    rows = min(mr, m - i0)
                    if nv == 4:
                        _TILE_64(a, a_rows, a_cols, b, b_rows, c, c_rows, i0, j0, p0, kc, rows, nv, acc)
                    elif nv == 2:
                        _TILE_32(a, a_rows, a_cols, b, b_rows, c, c_rows, i0, j0, p0, kc, rows, nv, acc)
                    else:
                        _TILE_16(a, a_rows, a_cols, b, b_rows, c, c_rows, i0, j0, p0, kc, rows, nv, acc)


_OFFSETS = {}
_OFFSETS_MAX = 64


def offsets(count, stride):
    """The offset table [0, stride, 2 * stride, ...] of ``count`` rows or columns (read-only,
    cached: an LSTM step asks for the same few hundred times)."""
    key = (count, stride)
    found = _OFFSETS.get(key)
    if found is None:
        found = np.arange(count, dtype=np.intp) * stride
        found.flags.writeable = False
        if len(_OFFSETS) >= _OFFSETS_MAX:
            _OFFSETS.clear()
        _OFFSETS[key] = found
    return found


def _flat_rows(x):
    """x (2-D) as (flat array, row offsets, column offsets), without a copy when x is C- or
    F-contiguous (a transposed matrix), else of a C-contiguous copy."""
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        x = np.ascontiguousarray(x)
    r, k = x.shape
    if x.flags.c_contiguous:
        return x.reshape(-1), offsets(r, k), offsets(k, 1)
    return x.T.reshape(-1), offsets(r, 1), offsets(k, r)


def matmul(a, b, out, accumulate=False):
    """out (+)= a @ b for float32 2-D arrays; out C-contiguous with a multiple of 16 columns.
    b is read by rows, so an F-contiguous b (a transposed weight) is copied first. The shapes
    are checked here: the kernel reads memory through its tables unchecked."""
    _check_operands(a, b, out)
    flat_a, a_rows, a_cols = _flat_rows(a)
    b = np.ascontiguousarray(b)
    n = b.shape[1]
    gemm(flat_a, a_rows, a_cols, b.reshape(-1), offsets(b.shape[0], n), out.reshape(-1),
         offsets(out.shape[0], out.shape[1]), n, accumulate)
    return out


def _check_operands(a, b, out):
    if not (a.ndim == b.ndim == out.ndim == 2 and a.shape[1] == b.shape[0]
            and out.shape == (a.shape[0], b.shape[1])):
        raise ValueError(f"compiled gemm.matmul: expected a (m, k), b (k, n) and out (m, n), received "
                         f"{a.shape}, {b.shape} and {out.shape}")
    if not (a.dtype == b.dtype == out.dtype == np.float32):
        raise TypeError(f"compiled gemm.matmul: expected float32 operands, received {a.dtype}, {b.dtype} "
                        f"and {out.dtype}")
    if out.shape[1] % LANES or not out.flags.c_contiguous:
        raise ValueError(f"compiled gemm.matmul: out must be C-contiguous with a multiple of {LANES} "
                         f"columns, received shape {out.shape} and strides {out.strides}")


def avx512():
    """Whether this CPU has AVX-512 (F): without it LLVM splits each 16-lane vector in two and
    the tiles no longer fit the registers, so the engine keeps NumPy's BLAS."""
    from llvmlite import binding

    return "+avx512f" in binding.get_host_cpu_features().flatten().split(",")
