"""Rows scattered into a table with addition, compiled (an Embedding's gradient, ops.Take).

``out[idx[j]] += rows[j]`` for j in order: one pass over the rows, against a sort, a
reduceat and two fancy assignments in NumPy (ops.indexing._scatter_add_rows: 6400 ids of a
20000 x 128 table, 1.2 ms). Each index's rows are added in their original order, from 0;
NumPy's reduceat adds a run in another order, so the sums agree to float rounding
(tests/compiled/test_scatter.py).
"""
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def scatter_add_rows(out, idx, rows):
    """out[idx[j]] += rows[j] for each j; out (n, width), idx (k,), rows (k, width)."""
    for j in range(idx.size):
        target, source = out[idx[j]], rows[j]
        for c in range(source.size):
            target[c] += source[c]
