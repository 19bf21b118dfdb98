"""Data sets as uint8 images [N, C, H, W] (PIXEL grid: value p/256) with int64 labels. Nothing is downloaded.

- digits: scikit-learn's bundled 8x8 digits, the embedded default. Pixels 0..16 scaled by 16 (16 -> 255),
  split with train_test_split(test_size=0.2, random_state=0, stratify=y): 1,437 train / 360 test images. The
  test split also ships as data/digits_test.npz (`python -m vitflow.model.datasets` writes it), so evaluating
  needs no scikit-learn: without it, digits() has the test split only (training needs the `train` extra).
- mnist: IDX files (optionally .gz) from a folder the user names; zero-padded 28x28 -> 32x32 so that every
  architecture's token grid and pooled count are powers of two.
- cifar10: the python batches (data_batch_1..5, test_batch) from a folder the user names.
- strokes: the out-of-distribution set (model/ood.py): synthetic pen digits, 64x64 pictures in four variants,
  generated; test images only, run through the preprocessing (host/preprocess.py).
- photos, ruled, board, thinpen, script, fonts, forms, nondigits: the pictures people take (model/wild.py),
  generated the same way; nondigits are labelled -1 (the right answer: no content, or not a digit).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WILD_SETS = ("photos", "ruled", "board", "thinpen", "script", "fonts", "forms", "nondigits")  # model/wild.py
DATASETS = ("digits", "mnist", "cifar10", "strokes", *WILD_SETS)
PICTURE_SETS = ("strokes", *WILD_SETS)  # test pictures of any size: evaluated through host/preprocess.py
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2


class DataError(ValueError):
    """Data that cannot be loaded; the message says what is missing and what to do."""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    patch: int              # patch size that gives a 4x4 token grid for vit/swin
    variants: np.ndarray | None = None  # a group name per test image, reported apart (strokes)
    pictures: bool = False  # test images are pictures of any size, preprocessed to the model's input

    @property
    def in_chans(self) -> int:
        return self.x_train.shape[1]

    @property
    def img_size(self) -> int:
        return self.x_train.shape[2]

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(initial=0), self.y_test.max(initial=0))) + 1


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    if name == "digits":
        return digits()
    if name in PICTURE_SETS:  # generated test pictures, no training split
        from .ood import strokes
        from .wild import pictures

        x, y, variants = strokes() if name == "strokes" else pictures(name)
        return Dataset(name, np.zeros((0, *x.shape[1:]), np.uint8), np.zeros(0, np.int64), x, y, patch=2,
                       variants=variants, pictures=True)
    if name not in DATASETS:
        raise DataError(f"unknown data set '{name}' (choose from {', '.join(DATASETS)})")
    if data_dir is None:
        raise DataError(f"data set '{name}' is read from a folder: pass --data-dir FOLDER (nothing is downloaded)")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    return mnist(folder) if name == "mnist" else cifar10(folder)


DIGITS_TEST_FILE = Path(__file__).resolve().parent / "data" / "digits_test.npz"


def digits() -> Dataset:
    """The digits split from scikit-learn; without scikit-learn, the shipped test split and no training images."""
    try:
        return digits_sklearn()
    except ImportError:
        x, y = digits_test()
        return Dataset("digits", np.zeros((0, *x.shape[1:]), np.uint8), np.zeros(0, np.int64), x, y, patch=2)


def digits_test() -> tuple[np.ndarray, np.ndarray]:
    """The shipped digits test split: uint8 images [360, 1, 8, 8], int64 labels."""
    try:
        with np.load(DIGITS_TEST_FILE, allow_pickle=False) as z:
            return z["x_test"], z["y_test"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"{DIGITS_TEST_FILE} is missing or unreadable ({type(e).__name__}): reinstall vitflow, "
                        "or install scikit-learn (pip install 'vitflow[train]')") from None


def save_digits_test(path: Path = DIGITS_TEST_FILE) -> Path:
    """Write the test split of digits_sklearn() to `path` (once; the file is shipped in the package)."""
    from ..quant.model_file import write_atomic

    d = digits_sklearn()
    write_atomic(Path(path), lambda f: np.savez_compressed(f, x_test=d.x_test, y_test=d.y_test))
    Path(path).chmod(0o644)  # a package data file, not a private temporary
    return Path(path)


def digits_sklearn() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = np.minimum(d.images * 16, 255).astype(np.uint8)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target.astype(np.int64), test_size=DIGITS_TEST_FRACTION,
                                          random_state=DIGITS_SPLIT_SEED, stratify=d.target)
    return Dataset("digits", xtr, ytr, xte, yte, patch=2)


def _open(folder: Path, stem: str):
    for name in (stem, stem + ".gz"):
        p = folder / name
        if p.is_file():
            return gzip.open(p, "rb") if name.endswith(".gz") else open(p, "rb")
    raise DataError(f"{folder} has no {stem}[.gz]: expected the four MNIST IDX files "
                    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                    "t10k-labels-idx1-ubyte)")


def read_idx(folder: Path, stem: str) -> np.ndarray:
    """An IDX file of unsigned bytes (magic 0x0000_08_NN, NN dimensions, big-endian sizes)."""
    with _open(folder, stem) as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{folder / stem} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{folder / stem} is truncated: {body.size} bytes for shape {dims}")
    return body.reshape(dims)


def mnist(folder: Path) -> Dataset:
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(folder, f"{prefix}-images-idx3-ubyte")
        y = read_idx(folder, f"{prefix}-labels-idx1-ubyte").astype(np.int64)
        if x.ndim != 3 or y.shape != (x.shape[0],):
            raise DataError(f"{folder}: {prefix} images {x.shape} and labels {y.shape} do not match")
        pad = (32 - x.shape[1]) // 2
        parts[split] = (np.pad(x, ((0, 0), (pad, pad), (pad, pad)))[:, None], y)
    return Dataset("mnist", *parts["train"], *parts["test"], patch=8)


def _cifar_batch(path: Path):
    if not path.is_file():
        raise DataError(f"{path.parent} has no {path.name}: expected the CIFAR-10 python batches "
                        "(data_batch_1..5, test_batch)")
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")  # the format CIFAR-10 ships in
        x = np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(d[b"labels"], np.int64)
    except Exception as e:
        raise DataError(f"{path} is not a CIFAR-10 python batch ({type(e).__name__})") from None
    return x, y


def cifar10(folder: Path) -> Dataset:
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    train = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = _cifar_batch(folder / "test_batch")
    return Dataset("cifar10", np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]),
                   xte, yte, patch=8)


if __name__ == "__main__":
    print(f"wrote {save_digits_test()}")
