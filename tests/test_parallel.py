"""glassnet's worker threads (glassnet.parallel) and its hold on NumPy's BLAS threads (glassnet.blas)."""
import threading

import pytest

from glassnet import blas, parallel


def test_single_threaded_restores_the_count():
    before = blas.threads()
    with blas.single_threaded():
        with blas.single_threaded():
            pass
        if before is not None:
            assert blas.threads() == before  # the count outside the block
    assert blas.threads() == before


def test_run_keeps_the_order_and_uses_another_thread():
    names = []

    def part(k):
        names.append(threading.current_thread().name)
        return k * k
    assert parallel.run(part, [1, 2, 3]) == [1, 4, 9]
    assert threading.current_thread().name in names and any(n.startswith("glassnet") for n in names)
    assert parallel.run(part, [5]) == [25]


def test_an_error_in_a_part_is_raised_after_all_parts_end():
    done = []

    def part(k):
        if k == 0:
            raise ValueError("part 0 failed")
        done.append(k)
    with pytest.raises(ValueError, match="part 0 failed"):
        parallel.run(part, [0, 1, 2])
    assert sorted(done) == [1, 2]
    assert blas._depth["n"] == 0  # the hold on the BLAS count ended with the parts


def test_a_pool_made_before_a_fork_is_not_reused(monkeypatch):
    """After os.fork the parent's pool threads do not exist in the child: a new pool is made."""
    stale = object()
    monkeypatch.setitem(parallel._pools, 1, (-1, stale))
    assert parallel.run(lambda k: k + 1, [1, 2]) == [2, 3]
    pid, pool = parallel._pools[1]
    assert pool is not stale and pid > 0


def test_a_run_inside_a_part_runs_its_parts_in_turn():
    """No deadlock when a part splits again: the inner parts run on the part's own thread."""
    def outer(k):
        inner = parallel.run(lambda j: (threading.current_thread().name, k * 10 + j), [0, 1])
        assert inner[0][0] == inner[1][0] == threading.current_thread().name
        return [v for _, v in inner]
    assert parallel.run(outer, [1, 2]) == [[10, 11], [20, 21]]
