"""The model shape check (model/config.py): every shipped shape passes, each impossible shape is refused with one
line naming the setting to change, and config files (TOML) merge under the command line's values."""

import pytest

from vitflow.model.config import (
    ARCHS,
    ConfigError,
    config_for_data,
    config_of_model_file,
    default_config,
    read_config_file,
    validate,
)

DIGITS = {"in_chans": 1, "img_size": 8, "num_classes": 10, "patch": 2}
MNIST = {"in_chans": 1, "img_size": 32, "num_classes": 10, "patch": 8}


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_shapes_pass(arch):
    for data in (DIGITS, MNIST):
        validate(default_config(arch, **data))


@pytest.mark.parametrize("arch,fields", [
    ("vit", {"img_size": 32, "patch": 4, "dim": 32, "heads": 2, "depth": 1}),  # 64 tokens, head_dim 16
    ("vit", {"dim": 32, "heads": 4}),                                            # head_dim 8
    ("swin", {"img_size": 16, "patch": 2, "window": 4}),
    ("mobilevit", {"img_size": 16, "channels": (8, 16, 16, 32), "patch": 4}),
    ("vit", {"weight_bits": 4}),
])
def test_other_buildable_shapes_pass(arch, fields):
    validate(default_config(arch, **fields))


@pytest.mark.parametrize("arch,fields,match", [
    ("vit", {"heads": 5}, "heads 5 does not divide dim 48: choose --heads among [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]"),
    ("vit", {"dim": 48, "heads": 2}, "head_dim = dim / heads = 48 / 2 = 24: it must be a power of two"),
    ("vit", {"dim": 33, "heads": 1}, "choose an even --dim"),
    ("vit", {"dim": 1, "heads": 1}, "LayerNorm needs at least 2 features"),
    ("vit", {"patch": 3}, "patch 3 does not tile the 8x8 image"),
    ("vit", {"patch": 8}, "choose --patch among [1, 2, 4]"),            # one token: nothing to attend to
    ("vit", {"img_size": 24, "patch": 4}, "choose --patch among [3, 6, 12]"),  # 6x6 tokens: not a power of two
    ("swin", {"window": 3}, "window 3 does not divide the 4x4 token grid: choose --window among [2, 4]"),
    ("swin", {"window": 1}, "window 1 leaves 1 token per attention"),
    ("mobilevit", {"img_size": 12}, "the side (image size / 2) must be a power of two"),
    ("mobilevit", {"img_size": 9}, "must be even"),
    ("mobilevit", {"patch": 4}, "choose --patch among [1, 2]"),
    ("mobilevit", {"channels": (16, 32, 24)}, "channels must be 4 positive integers"),
    ("vit", {"weight_bits": 6}, "weight_bits 6: choose one of (8, 4)"),
    ("vit", {"depth": 0}, "depth must be a positive integer"),
    ("vit", {"dim": "32"}, "dim must be a positive integer, got '32'"),
    ("vit", {"mlp_dim": 1 << 17, "dim": 32, "heads": 2}, "layer mlp fc2 sums 131072 products: its accumulator "
                                                         "may need 33 bits > 32"),
])
def test_impossible_shapes_are_refused_in_one_line(arch, fields, match):
    with pytest.raises(ConfigError) as e:
        validate(default_config(arch, **fields))
    assert match in str(e.value) and "\n" not in str(e.value)


def test_data_set_fills_image_and_values_override(tmp_path):
    cfg = config_for_data({"arch": "swin", "dim": 64, "heads": 4}, **MNIST)
    assert (cfg.arch, cfg.img_size, cfg.patch, cfg.dim, cfg.heads, cfg.depth) == ("swin", 32, 8, 64, 4, 4)
    assert config_for_data({}, **DIGITS) == default_config("vit")  # the shipped vit's shape
    with pytest.raises(ConfigError, match="img_size comes from the data set"):
        config_for_data({"img_size": 16}, **DIGITS)
    assert config_for_data({"img_size": 8}, **DIGITS).img_size == 8  # the data set's own value is fine
    with pytest.raises(ConfigError, match="unknown arch 'resnet'"):
        config_for_data({"arch": "resnet"}, **DIGITS)
    with pytest.raises(ConfigError, match="channels must be a list"):
        config_for_data({"arch": "mobilevit", "channels": 5}, **DIGITS)


def test_config_file(tmp_path):
    good = tmp_path / "m.toml"
    good.write_text('arch = "mobilevit"\ndim = 16\nheads = 1\nchannels = [8, 16, 16, 32]\n')
    cfg = config_for_data(read_config_file(good), **DIGITS)
    assert (cfg.arch, cfg.dim, cfg.heads, cfg.channels) == ("mobilevit", 16, 1, (8, 16, 16, 32))
    for text, match in [("dim = 32\nbogus = 1\n", "unknown field 'bogus'"), ("dim = [\n", "not a readable TOML"),
                        ('dim = "32"\n', None)]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        if match:
            with pytest.raises(ConfigError, match=match):
                read_config_file(bad)
        else:  # read, then refused by the shape check
            with pytest.raises(ConfigError, match="dim must be a positive integer"):
                config_for_data(read_config_file(bad), **DIGITS)
    with pytest.raises(ConfigError, match="not found"):
        read_config_file(tmp_path / "none.toml")


def test_model_file_config_checked_like_a_new_one():
    assert config_of_model_file(default_config("swin").to_json()) == default_config("swin")
    with pytest.raises(ConfigError, match="m.npz: heads 5 does not divide dim 48"):
        config_of_model_file({**default_config("vit").to_json(), "heads": 5}, "m.npz")
    with pytest.raises(ConfigError, match="does not fit this vitflow"):
        config_of_model_file({**default_config("vit").to_json(), "colour": 1}, "m.npz")
