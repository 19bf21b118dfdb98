"""Model file: round trip, validation, version, corruption, atomic writes, accumulator bound."""

import json

import numpy as np
import pytest

from vitflow.host.backends import ModelPaths
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel, ModelFileError, from_header

SHIPPED = ModelPaths.resolve("vit", None).model_file


@pytest.fixture(scope="module")
def shipped():
    return IntModel.load(SHIPPED)


def test_round_trip(shipped, tmp_path):
    p = tmp_path / "m.npz"
    shipped.save(p)
    again = IntModel.load(p)
    assert again.header() == shipped.header()
    x = np.random.default_rng(0).integers(0, 256, (4, *shipped.input_shape), dtype=np.uint8)
    assert np.array_equal(golden.run(again, x), golden.run(shipped, x))
    assert [f.name for f in tmp_path.iterdir()] == ["m.npz"]  # no temporary left behind


def test_accumulators_proven_within_32_bits(shipped):
    assert shipped.meta["max_accumulator_bits"] <= 32


def header_with(shipped, **change):
    h = json.loads(json.dumps(shipped.header()))
    h.update(change)
    return h


def test_rejects_other_version_and_format(shipped):
    with pytest.raises(ModelFileError, match="version 99"):
        from_header(header_with(shipped, version=99), dict(shipped.arrays), "m")
    with pytest.raises(ModelFileError, match="not a vitflow model file"):
        from_header(header_with(shipped, format="onnx"), dict(shipped.arrays), "m")


def test_rejects_inconsistent_content(shipped):
    h = header_with(shipped)
    h["ops"][1]["op"] = "teleport"
    with pytest.raises(ModelFileError, match="unknown op"):
        from_header(h, dict(shipped.arrays), "m")
    arrays = dict(shipped.arrays)
    arrays["patch_embed.weight"] = arrays["patch_embed.weight"].astype(np.int16) * 300
    with pytest.raises(ModelFileError, match="outside int8"):
        from_header(header_with(shipped), arrays, "m")
    gelu = next(o for o in shipped.ops if o.op == "gelu")
    arrays = dict(shipped.arrays)
    arrays[gelu.arrays["lut"]] = arrays[gelu.arrays["lut"]] + 1
    with pytest.raises(ModelFileError, match="GELU table"):
        from_header(header_with(shipped), arrays, "m")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        IntModel.load(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(ModelFileError, match="not a readable"):
        IntModel.load(bad)
