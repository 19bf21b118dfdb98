"""Loaders on small files the tests write: MNIST IDX (plain and .gz), CIFAR-10 python batches, digits split."""

import gzip
import pickle
import struct

import numpy as np
import pytest

from vitflow.model.datasets import DataError, digits, load_dataset


def write_idx(path, arr, gz=False):
    raw = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb").write(raw)


def make_mnist(folder, n=(12, 5), gz=False):
    rng = np.random.default_rng(0)
    for prefix, count in zip(("train", "t10k"), n):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, count, dtype=np.uint8), gz)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx(tmp_path, gz):
    make_mnist(tmp_path, gz=gz)
    d = load_dataset("mnist", tmp_path)
    assert d.x_train.shape == (12, 1, 32, 32) and d.x_test.shape == (5, 1, 32, 32) and d.x_train.dtype == np.uint8
    assert d.x_train[:, :, :2].max() == 0  # zero padding 28 -> 32
    assert d.img_size // d.patch == 4


def test_mnist_errors(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path)
    make_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03" + struct.pack(">3I", 5, 28, 28) + b"\0" * 10)
    with pytest.raises(DataError, match="truncated"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"garbage!")
    with pytest.raises(DataError, match="not an IDX"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("mnist", None)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("cifar10", tmp_path / "nope")


def test_cifar10_batches(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        (folder / name).write_bytes(pickle.dumps(batch))
    d = load_dataset("cifar10", tmp_path)
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32) and d.in_chans == 3
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        load_dataset("cifar10", tmp_path)


def test_digits_split_is_fixed():
    d = digits()
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_test.shape == (360, 1, 8, 8)
    assert d.x_test.max() == 255 and np.bincount(d.y_test).min() >= 35  # stratified
    assert np.array_equal(d.y_test[:10], digits().y_test[:10])
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset("imagenet")
