"""Architecture configurations: one frozen dataclass, defaults per arch sized for a small FPGA (<= 50k params),
and the one check of a shape (`validate`) that training and every stage reading a model file run first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

ARCHS = ("vit", "mobilevit", "swin")


class ConfigError(ValueError):
    """A model shape the flow cannot build; the message says what to change."""


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "vit"
    in_chans: int = 1          # from the data set
    img_size: int = 8          # square images, from the data set
    num_classes: int = 10
    patch: int = 2             # vit/swin: patch embedding kernel = stride; mobilevit: unfold patch
    dim: int = 48              # token width
    depth: int = 2             # transformer blocks
    heads: int = 3             # head_dim = dim / heads: a power of two (the attention scale is a shift)
    mlp_dim: int = 96
    window: int = 2            # swin: window side in tokens (shift = window // 2 on odd blocks)
    channels: tuple[int, ...] = (16, 32, 24, 64)  # mobilevit: stem, expand, block, final conv
    weight_bits: int = 8       # 8 or 4

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_json(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["channels"] = tuple(d.get("channels", cls.channels))
        return cls(**d)


# the fields a user sets (config file, `vitflow train` flags); the rest come from the data set
SHAPE_FIELDS = ("dim", "depth", "heads", "mlp_dim", "patch", "window", "channels", "weight_bits")


DEFAULTS = {
    "vit": ModelConfig(arch="vit", dim=48, depth=2, heads=3, mlp_dim=96),
    "mobilevit": ModelConfig(arch="mobilevit", dim=32, depth=2, heads=2, mlp_dim=64),
    "swin": ModelConfig(arch="swin", dim=32, depth=4, heads=2, mlp_dim=64, window=2),
}
FIELDS = tuple(f.name for f in fields(ModelConfig))
DATA_FIELDS = ("in_chans", "img_size", "num_classes")  # what the data set decides, not the user
CHANNELS = ("stem", "expand", "block", "final")          # mobilevit's four convolution widths


def default_config(arch: str, **overrides) -> ModelConfig:
    if arch not in DEFAULTS:
        raise ValueError(f"unknown arch '{arch}' (choose from {', '.join(ARCHS)})")
    return replace(DEFAULTS[arch], **overrides)


def config_for_data(values: dict, in_chans: int, img_size: int, num_classes: int, patch: int) -> ModelConfig:
    """The config to train on a data set: the arch's defaults, the data set's image and classes (and its
    default patch), then `values` (a config file's fields, the command line's over them); validated."""
    values = dict(values)
    data = {"in_chans": in_chans, "img_size": img_size, "num_classes": num_classes}
    for k in DATA_FIELDS:
        if k in values and values.pop(k) != data[k]:
            raise ConfigError(f"{k} comes from the data set ({data[k]}), not the config: remove {k}")
    if unknown := sorted(set(values) - set(FIELDS)):
        raise ConfigError(f"unknown config field '{unknown[0]}' (fields: {', '.join(FIELDS)})")
    arch = values.pop("arch", "vit")
    if arch not in ARCHS:
        raise ConfigError(f"unknown arch '{arch}' (choose from {', '.join(ARCHS)})")
    cfg = default_config(arch, **data, patch=patch)
    if "channels" in values:
        if not isinstance(values["channels"], (list, tuple)):
            raise ConfigError(f"channels must be a list of {len(CHANNELS)} integers ({', '.join(CHANNELS)}), "
                              f"got {values['channels']!r}")
        values["channels"] = tuple(values["channels"])
    cfg = replace(cfg, **values)
    validate(cfg)
    return cfg


def read_config_file(path: str | Path) -> dict:
    """The fields of a TOML model config (ModelConfig's field names, e.g. `dim = 32`, `channels = [16, 32,
    24, 64]`); types are checked by `validate`."""
    try:
        import tomllib  # novermin (guarded: Python 3.10 gets the one-line error below)
    except ImportError:  # Python 3.10 (a PYNQ board's): no TOML reader in the standard library
        raise ConfigError("--config needs Python 3.11 or later (tomllib); give the shape as flags") from None
    path = Path(path)
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path} is not a readable TOML file ({e})") from None
    if not values:
        raise ConfigError(f"{path} sets nothing: give model fields ({', '.join(FIELDS)}), or leave out --config")
    if unknown := sorted(set(values) - set(FIELDS)):
        raise ConfigError(f"{path}: unknown field '{unknown[0]}' (fields: {', '.join(FIELDS)})")
    return values


def config_of_model_file(config: dict, what: str = "model") -> ModelConfig:
    """The ModelConfig a model file or checkpoint stores, validated like a new one."""
    try:
        cfg = ModelConfig.from_json(config)
    except TypeError as e:  # fields this version does not know
        raise ConfigError(f"{what}: its config does not fit this vitflow ({e}); retrain it") from None
    try:
        validate(cfg)
    except ConfigError as e:
        raise ConfigError(f"{what}: {e}") from None
    return cfg


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def validate(cfg: ModelConfig) -> None:
    """Refuse a shape that training, the golden model, HLS or the RTL generator would refuse later (or build
    wrongly); the ConfigError says which setting to change."""
    from ..quant import spec

    if cfg.arch not in ARCHS:
        raise ConfigError(f"unknown arch '{cfg.arch}' (choose from {', '.join(ARCHS)})")
    for k in ("in_chans", "img_size", "num_classes", "patch", "dim", "depth", "heads", "mlp_dim", "window"):
        v = getattr(cfg, k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{k} must be a positive integer, got {v!r}")
    if len(cfg.channels) != len(CHANNELS) or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1
                                                      for c in cfg.channels):
        raise ConfigError(f"channels must be {len(CHANNELS)} positive integers ({', '.join(CHANNELS)}), "
                          f"got {list(cfg.channels)}")
    if cfg.weight_bits not in spec.WEIGHT_BITS_CHOICES:
        raise ConfigError(f"weight_bits {cfg.weight_bits!r}: choose one of {spec.WEIGHT_BITS_CHOICES}")
    if cfg.dim < 2:
        raise ConfigError("dim 1: LayerNorm needs at least 2 features, use --dim 2 or more")
    if cfg.dim % cfg.heads:
        raise ConfigError(f"heads {cfg.heads} does not divide dim {cfg.dim}: choose --heads among "
                          f"{_divisors(cfg.dim)}")
    head_dim = cfg.dim // cfg.heads
    if head_dim < 2 or not _power_of_two(head_dim):
        raise ConfigError(f"head_dim = dim / heads = {cfg.dim} / {cfg.heads} = {head_dim}: it must be a power "
                          "of two >= 2 (the attention scale 1/sqrt(head_dim) is a shift, quant/spec.py "
                          f"attention_score_shift): {_pow2_hint(cfg.dim)}")
    _check_grid(cfg)
    w_max = (1 << (cfg.weight_bits - 1)) - 1
    x_max = (1 << spec.ACT_BITS) - 1  # uint8 pixels and ReLU outputs are the widest inputs
    for layer, fan_in in fan_ins(cfg).items():
        bits = spec.accumulator_bits(x_max, [fan_in * w_max], [0])
        if bits > spec.ACC_BITS:
            raise ConfigError(f"layer {layer} sums {fan_in} products: its accumulator may need {bits} bits > "
                              f"{spec.ACC_BITS}; make that layer's input narrower")


def _check_grid(cfg: ModelConfig) -> None:
    """Token grids: patches and windows tile the image, pooled counts are powers of two (the mean is a shift),
    attention sees at least 2 tokens. (An even image side also makes every image a whole number of the
    accelerator's 4-pixel input beats.)"""
    if cfg.arch == "mobilevit":
        if cfg.img_size % 2:
            raise ConfigError(f"mobilevit halves the image (stride-2 depthwise conv): image size {cfg.img_size} "
                              "must be even")
        side = cfg.img_size // 2
        if not _power_of_two(side):
            raise ConfigError(f"mobilevit pools its {side}x{side} feature map: the side (image size / 2) must be a "
                              "power of two (the mean is a shift); pad the images")
        ok = [p for p in _divisors(side) if side // p >= 2]
        if cfg.patch not in ok:
            raise ConfigError(f"patch {cfg.patch} does not tile mobilevit's {side}x{side} feature map into at least "
                              f"2 tokens per attention: choose --patch among {ok}")
        return
    ok = [p for p in _divisors(cfg.img_size) if cfg.img_size // p >= 2 and _power_of_two(cfg.img_size // p)]
    if cfg.patch not in ok:
        raise ConfigError(f"patch {cfg.patch} does not tile the {cfg.img_size}x{cfg.img_size} image into a grid "
                          "whose token count is a power of two >= 2 (the mean pool is a shift): "
                          + (f"choose --patch among {ok}" if ok else "pad the images to a power-of-two size"))
    grid = cfg.img_size // cfg.patch
    if cfg.arch == "swin":
        if grid % cfg.window:
            raise ConfigError(f"window {cfg.window} does not divide the {grid}x{grid} token grid: choose --window "
                              f"among {[w for w in _divisors(grid) if w >= 2]}")
        if cfg.window < 2:
            raise ConfigError("window 1 leaves 1 token per attention: use --window 2 or more")


def fan_ins(cfg: ModelConfig) -> dict[str, int]:
    """Products summed per output of each kind of weighted layer (patch embedding, linears, convolutions)."""
    common = {"attention projections": cfg.dim, "mlp fc1": cfg.dim, "mlp fc2": cfg.mlp_dim}
    if cfg.arch != "mobilevit":
        return {"patch_embed": cfg.in_chans * cfg.patch ** 2, **common, "head": cfg.dim}
    stem, expand, block, final = cfg.channels
    return {"stem": 9 * cfg.in_chans, "expand": stem, "dw": 9, "project": expand, "local": 9 * block,
            "to_tokens": block, **common, "from_tokens": cfg.dim, "fuse": 9 * 2 * block, "final": block,
            "head": final}


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _pow2_hint(dim: int) -> str:
    """Heads that give dim a power-of-two head_dim, or a dim that has some."""
    heads = [h for h in _divisors(dim) if dim // h >= 2 and _power_of_two(dim // h)]
    return f"choose --heads among {heads}" if heads else f"dim {dim} is odd: choose an even --dim (e.g. {dim + 1})"
