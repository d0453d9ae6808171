"""Tensor construction, dtypes and conversions."""
import numpy as np
import pytest

import glassnet as gn


def test_python_floats_become_float32_arrays_keep_dtype():
    assert gn.tensor(1.5).dtype == np.float32
    assert gn.tensor([[1.0, 2.0]]).dtype == np.float32
    assert gn.tensor(np.zeros(3)).dtype == np.float64
    assert gn.tensor(np.zeros(3, np.float32)).dtype == np.float32
    assert gn.tensor([1, 2]).dtype.kind == "i"
    assert gn.tensor([1, 2], dtype="float64").dtype == np.float64


def test_properties():
    t = gn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert isinstance(t.numpy(), np.ndarray)
    assert gn.tensor(3.0).item() == 3.0
    with pytest.raises(ValueError, match="item: only one-element tensors"):
        t.item()
    assert np.asarray(t).shape == (2, 3)
    assert "requires_grad=True" in repr(t)


def test_detach_shares_memory_and_cuts_graph():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    d = x.detach()
    assert np.shares_memory(d.numpy(), x.numpy())


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating tensors can require gradients"):
        gn.tensor([1, 2], requires_grad=True)


def test_object_data_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        gn.tensor([[1.0], [1.0, 2.0]])


def test_comparisons_give_bool_tensors_without_grad():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == bool and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), [False, True, True])


def test_ndarray_on_the_left_uses_tensor_ops():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], np.float32) * x
    assert isinstance(y, gn.Tensor) and y.requires_grad


def test_assign_in_place_checks_shape():
    w = gn.tensor(np.zeros(3, np.float32))
    w.assign([1, 2, 3])
    np.testing.assert_array_equal(w.numpy(), [1, 2, 3])
    with pytest.raises(ValueError, match=r"assign: expected a value of shape \(3,\)"):
        w.assign([1, 2])
