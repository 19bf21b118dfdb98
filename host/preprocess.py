"""A user's picture of a digit -> the model's input, framed like the training data. NumPy and Pillow only.

The shipped models learned scikit-learn's digits: light ink on black, the digit's box scaled until its longer
side fills the 8x8 frame and centred, each pixel the ink count of a 4x4 block of a 32x32 bitmap (0..16, x16 on
the PIXEL grid). A phone photo of a digit on paper, a digit on ruled paper or in a form's cell, chalk on a board
differ in every one of these, so `prepare` redoes the same steps on any picture:

  decode    any Pillow file (EXIF rotation applied; palette, alpha, 16-bit) or an .npy batch -> grey in [0, 1];
            large files drafted (JPEG) or box-reduced to about twice the working size
  work      area-downscale so the longer side is at most WORK_SIDE (speed; averages sensor noise)
  polarity  dark ink on paper or light ink on a board (dark_ink: the flattened picture's tails)
  paper     fine pictures: the paper's light at every pixel and the ink relative to it, the ruled, squared and
            cell lines removed, the digit's own strokes chosen (host/ink.py); no ink: no content
  stroke    fine pictures: slant beyond ink.SLANT_KEPT removed; strokes thickened to the training set's width
            relative to the digit
  crop      the box of the ink, padded to a square (centred) with the training's margin (framing_for)
  resize    area downsampling to the model's input (each output pixel = the mean ink of its area)
  levels    the training set's grey levels (digits: counts 0..16 of a block, x16, 256 -> 255)

"Fine" pictures have at least FINE_SCALE pixels per model pixel; smaller ones (an 8x8 digit of the training set
itself) keep their grey levels, which already are ink coverage: their ink is the deviation from the border's
median, on the side of the stronger one. No ink above MIN_CONTRAST of full scale: no content (`Prepared.content`
False, a blank frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import ink as strokes
from .backends import UserError

WORK_SIDE = 128        # longer side of the working picture (pixels); larger pictures are area-downscaled
FINE_SCALE = 4         # picture pixels per model pixel from which strokes are cleaned and normalized
MIN_CONTRAST = 0.12    # peak ink below this fraction of full scale: no content
MIN_INK = 0.1          # fine pictures: ink darker than the paper there by less than this is the paper's texture
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 grey from RGB


@dataclass(frozen=True)
class Framing:
    """How a training set frames its digits."""
    margin: float      # empty border on each side, as a fraction of the content's longer side
    picture_margin: float  # the same for fine pictures (the model's preference; small ones are framed already)
    levels: int        # grey levels above 0 (digits: 16 ink counts of a 4x4 block); 0: any of 0..255
    stroke: float      # stroke width / content's longer side


FRAMINGS = {
    # stroke 0.16: preprocessed strokes pictures then have the training images' mean ink (81 vs 78 of 255)
    # and share of pixels >= 128 (34 % vs 32 %)
    "digits": Framing(margin=0.0, picture_margin=0.0, levels=16, stroke=0.16),
    # MNIST: a 20x20 box in 28 (+2 padding); its stroke width is not measured here
    "mnist": Framing(margin=0.3, picture_margin=0.3, levels=0, stroke=0.12),
}


@dataclass
class Prepared:
    image: np.ndarray          # uint8 [C, H, W], the model's input
    content: bool              # False: no ink found (a blank page); image is then all background
    polarity: str              # "dark-on-light" or "light-on-dark" (what the picture was)
    steps: dict = field(default_factory=dict)  # name -> float [h, w] picture of each step (keep_steps)


# Fine pictures for a model trained with model/augment.py (zoomed, shifted digits): strokes set seed 1 (tuning
# only; eval is seed 0), 2,000 pictures: margin 0.1 -> 92.8 %, 0 -> 89.2 %; a model without: 66 % vs 85 %.
AUGMENTED_MARGIN = 0.1


def framing_for(meta: dict | None) -> Framing:
    """The framing of the data set a model file was trained on (its meta: dataset, train_config.augment)."""
    meta = meta or {}
    framing = FRAMINGS.get(meta.get("dataset") or "digits", FRAMINGS["digits"])
    if (meta.get("train_config") or {}).get("augment"):
        framing = replace(framing, picture_margin=max(framing.margin, AUGMENTED_MARGIN))
    return framing


# ---- decode ---------------------------------------------------------------------------------------------

def decode(path: Path, channels: int = 1) -> np.ndarray:
    """A picture file as float grey [H, W] in [0, 1] (RGB as BT.601 luma); [3, H, W] for 3-channel models."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.draft(None, (2 * WORK_SIDE, 2 * WORK_SIDE))  # JPEG: decode at 1/2..1/8 scale (12 MP: 2.7 -> 0.1 s)
            img = ImageOps.exif_transpose(img)  # phones store the sensor's orientation plus an EXIF tag
            k = max(img.size) // (2 * WORK_SIDE)
            if k >= 2 and img.mode in ("L", "RGB", "RGBA", "LA"):  # other formats: a box filter in C (area mean)
                img = img.reduce(k)
            if channels == 3:
                return np.asarray(img.convert("RGB"), np.float64).transpose(2, 0, 1) / 255.0
            return to_grey(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UserError(f"{path} is not a readable image ({type(e).__name__})") from None


def to_grey(img) -> np.ndarray:
    """A Pillow image of any mode as float grey [H, W] in [0, 1]; transparency composited onto a background
    that contrasts with the opaque pixels (a black digit drawn on a transparent canvas stays visible)."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):  # 16-bit / 32-bit grey
        a = np.asarray(img, np.float64)
        top = 65535.0 if a.max() <= 65535 and img.mode != "F" else max(float(a.max()), 1.0)
        return np.clip(a / top, 0.0, 1.0)
    alpha = None
    if img.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        alpha = np.asarray(img.getchannel("A"), np.float64) / 255.0
        img = img.convert("RGB")
    elif img.mode not in ("L", "RGB"):
        img = img.convert("RGB")  # 1, CMYK, YCbCr, LAB, HSV
    a = np.asarray(img, np.float64) / 255.0
    grey = a @ LUMA if a.ndim == 3 else a
    if alpha is not None:
        opaque = grey[alpha > 0.5]
        background = 1.0 if opaque.size and np.median(opaque) < 0.5 else 0.0
        grey = alpha * grey + (1.0 - alpha) * background
    return grey


def picture_array(a) -> np.ndarray:
    """An in-memory picture [H, W] (uint8, uint16, bool, or float in [0, 1]) as float grey in [0, 1]."""
    a = np.asarray(a)
    scale = {("u", 1): 255.0, ("u", 2): 65535.0, ("b", 1): 1.0}.get((a.dtype.kind, a.dtype.itemsize))
    if scale is None and a.dtype.kind != "f":
        raise UserError(f"pictures are uint8, uint16, bool or float pixels, got {a.dtype}")
    a = a.astype(np.float64) / (scale or 1.0)
    if not np.isfinite(a).all() or a.min(initial=0) < 0 or a.max(initial=0) > 1:
        raise UserError("float pixels must lie in [0, 1]")
    return a


def npy_images(path: Path, channels: int) -> list[np.ndarray]:
    """An .npy of one picture [H, W] or a batch [N, H, W] / [N, C, H, W], as float grey pictures in [0, 1]
    (uint8, uint16 or bool; floats taken as [0, 1]). Three-channel models: [C, H, W] pictures."""
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as e:
        raise UserError(f"{path} is not a readable .npy file ({type(e).__name__})") from None
    if a.ndim == 2 or (a.ndim == 3 and channels > 1):
        a = a[None]
    if a.ndim == 4:
        if a.shape[1] != channels:
            raise UserError(f"{path}: a batch [N, C, H, W] with C = {channels} channels, got {list(a.shape)}")
        a = a[:, 0] if channels == 1 else a
    if a.ndim not in (3, 4) or a.shape[0] == 0 or min(a.shape[-2:]) == 0:
        raise UserError(f"{path}: expected a picture [H, W] or a batch [N, H, W] or [N, C, H, W], "
                        f"got {list(a.shape)}")
    try:
        return list(picture_array(a))
    except UserError as e:
        raise UserError(f"{path}: {e}") from None


# ---- the steps ------------------------------------------------------------------------------------------

def area_matrix(n_out: int, n_in: int) -> np.ndarray:
    """[n_out, n_in] weights of area resampling along one axis: output pixel i is the mean of the input over
    [i * n_in / n_out, (i + 1) * n_in / n_out) (partial pixels by their overlap)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    return np.clip(overlap, 0.0, None) * (n_out / n_in)


def area_resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area resampling of [..., H, W] to [..., h, w]."""
    return area_matrix(h, a.shape[-2]) @ a @ area_matrix(w, a.shape[-1]).T


def to_work_size(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    k = WORK_SIDE / max(h, w)
    return grey if k >= 1 else area_resize(grey, max(1, round(h * k)), max(1, round(w * k)))


def ink(grey: np.ndarray) -> tuple[np.ndarray, str]:
    """(ink, polarity) of a small picture: the background is the median of the border (it touches the
    border, the digit mostly does not); the ink lies on the side of it with the stronger deviation; ink = that
    deviation, >= 0."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    darker, lighter = np.clip(background - grey, 0.0, None), np.clip(grey - background, 0.0, None)
    dark = contrast(darker) > contrast(lighter)
    return (darker, "dark-on-light") if dark else (lighter, "light-on-dark")


def dark_ink(grey: np.ndarray) -> bool:
    """Polarity of a large picture: the paper is most of it, the ink a thin tail of it, so the ink lies on
    the side where the extreme (0.5th or 99.5th percentile) is farther from the median, once the light's
    slow changes (a third of the picture and larger: falloff, a shadow's side) are taken out. The border
    alone misleads: a shadow over half of it, a vignette that lights the middle above every border pixel."""
    from PIL import Image

    h, w = grey.shape
    coarse = Image.fromarray(grey.astype(np.float32), "F").resize((3, 3), Image.BOX)
    flat = grey - np.asarray(coarse.resize((w, h), Image.BILINEAR), np.float64)
    low, mid, high = np.percentile(flat, [0.5, 50, 99.5])
    return mid - low > high - mid


def contrast(a: np.ndarray) -> float:
    """Peak ink of a 2x2 mean: one hot pixel (sensor noise, dust) is not a stroke."""
    if min(a.shape) < 2:
        return float(a.max())
    return float(((a[:-1, :-1] + a[1:, :-1] + a[:-1, 1:] + a[1:, 1:]) / 4).max())


def ramp(a: np.ndarray, low: float, high: float) -> np.ndarray:
    """Ink below `low` -> 0 (the paper's texture), above `high` -> 1 (a solid stroke), linear between."""
    return np.clip((a - low) / (high - low), 0.0, 1.0)


def content_box(a: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), half-open, of the nonzero ink; None if there is none."""
    rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def side(box: tuple[int, int, int, int]) -> int:
    return max(box[1] - box[0], box[3] - box[2])


def crop_square(a: np.ndarray, box: tuple[int, int, int, int], margin: float) -> np.ndarray:
    """The box, centred in a square of its longer side plus `margin` of it on each side (zero fill)."""
    top, bottom, left, right = box
    h, w = bottom - top, right - left
    n = max(h, w)
    pad = int(round(margin * n))
    out = np.zeros((n + 2 * pad, n + 2 * pad))
    y0, x0 = pad + (n - h) // 2, pad + (n - w) // 2
    out[y0:y0 + h, x0:x0 + w] = a[top:bottom, left:right]
    return out


def to_levels(a: np.ndarray, levels: int) -> np.ndarray:
    """Ink coverage in [0, 1] -> uint8 pixels on the training set's grid: `levels` steps of 256 // levels
    (digits: count * 16, 256 -> 255), or 0..255 as stored in 8-bit files (levels 0)."""
    if not levels:
        return np.round(a * 255).astype(np.uint8)
    return np.minimum(np.round(a * levels) * (256 // levels), 255).astype(np.uint8)


def fine_strokes(work: np.ndarray, dark_ink: bool, stroke: float, steps: dict | None) -> np.ndarray:
    """A picture holding strokes -> the digit's ink in [0, 1] (host/ink.py's steps), thickened to `stroke` of
    the digit's longer side; all zero if nothing stands out from the paper by MIN_CONTRAST."""
    def note(name, a):
        if steps is not None:
            steps[name] = a
        return a

    a = note("paper", strokes.ink(work, dark_ink))
    if contrast(a) < MIN_CONTRAST:
        return np.zeros_like(a)
    t = max(strokes.otsu(a), MIN_INK)
    mask, _ = strokes.remove_lines(a, t)
    a = strokes.digit_strokes(np.where(mask, a, 0.0))
    solid = float(np.median(a[a > 0])) if a.any() else 0.0
    if solid < MIN_CONTRAST:  # noise, JPEG blocks, leftovers of lines
        return note("ink", np.zeros_like(a))
    a = strokes.deskew(note("ink", ramp(a, t, max(solid, t + 1e-3))))
    return note("stroke", strokes.thicken(a, stroke * side(content_box(a))))


# ---- the whole ------------------------------------------------------------------------------------------

def prepare(grey: np.ndarray, shape: list[int], framing: Framing = FRAMINGS["digits"],
            keep_steps: bool = False) -> Prepared:
    """One picture (float grey [H, W] in [0, 1]) -> the model's input uint8 [1, h, w], framed like the
    training data. Three-channel models ([C, H, W] pictures): area resizing only."""
    c, h, w = shape
    if c != 1 or grey.ndim == 3:
        rgb = grey if grey.ndim == 3 else np.repeat(grey[None], c, 0)
        return Prepared(to_levels(area_resize(rgb, h, w), 0), True, "rgb")
    steps = {"picture": grey} if keep_steps else {}
    work = to_work_size(grey)
    fine = max(work.shape) >= FINE_SCALE * max(h, w)
    if fine:  # the digit's own strokes, solid, as wide as the training set's relative to the digit
        dark = dark_ink(work)
        polarity = "dark-on-light" if dark else "light-on-dark"
        a = fine_strokes(work, dark, framing.stroke, steps if keep_steps else None)
        box = content_box(a)
    else:  # small pictures: their grey levels already are ink coverage
        diff, polarity = ink(work)
        peak = contrast(diff)
        a = diff / max(float(diff.max()), 1e-12)
        if keep_steps:
            steps["ink"] = a
        box = content_box(diff >= peak / 32) if peak >= MIN_CONTRAST else None
    if box is None:
        return Prepared(np.zeros((1, h, w), np.uint8), False, polarity, steps)
    sq = crop_square(a, box, framing.picture_margin if fine else framing.margin)
    if keep_steps:
        steps["crop"] = sq
    small = area_resize(sq, h, w)
    image = to_levels(small, framing.levels)[None]
    if keep_steps:
        steps["resize"] = small
        steps["levels"] = image[0] / 255.0
    return Prepared(image, True, polarity, steps)


def raw(grey: np.ndarray, shape: list[int], name: str) -> np.ndarray:
    """--raw: the pixels as they are (no preprocessing); the picture must have the model's size."""
    c, h, w = shape
    a = grey if grey.ndim == 3 else grey[None]
    if list(a.shape[-2:]) != [h, w] or (grey.ndim == 3 and a.shape[0] != c):
        raise UserError(f"{name}: --raw takes pictures of the model's size {h}x{w}, got "
                        f"{'x'.join(map(str, a.shape[-2:]))} (leave out --raw to preprocess it)")
    return np.repeat(np.round(a * 255).astype(np.uint8), c // a.shape[0], 0)


def pictures_of(paths: list[str], channels: int):
    """(name, float grey picture) for every picture in files (pictures, or .npy batches: one per image)."""
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise UserError(f"image {path} not found")
        pictures = npy_images(path, channels) if path.suffix == ".npy" else [decode(path, channels)]
        batch = path.suffix == ".npy" and len(pictures) > 1
        for i, grey in enumerate(pictures):
            yield (f"{p}[{i}]" if batch else p), grey


def read_inputs(paths: list[str], shape: list[int], framing: Framing = FRAMINGS["digits"],
                as_is: bool = False, keep_steps: bool = False) -> tuple[list[str], np.ndarray, list[Prepared | None]]:
    """Files (pictures or .npy batches) -> (a name per image, uint8 [N, C, H, W], Prepared per image (with its
    steps if keep_steps) or None with as_is)."""
    names, images, prepared = [], [], []
    for name, grey in pictures_of(paths, shape[0]):
        if as_is:
            images.append(raw(grey, shape, name))
            prepared.append(None)
        else:
            prepared.append(prepare(grey, shape, framing, keep_steps))
            images.append(prepared[-1].image)
        names.append(name)
    return names, np.stack(images), prepared


def figure(pictures: list[np.ndarray], shape: list[int], path: Path, framing: Framing = FRAMINGS["digits"],
           cell: int = 96) -> Path:
    """A PNG of the steps of `prepare`, one row per picture (for the README); each step fitted into `cell`."""
    return steps_sheet([prepare(g, shape, framing, keep_steps=True).steps for g in pictures], path, cell)


def steps_sheet(rows: list[dict], path: Path, cell: int = 96) -> Path:
    """A PNG of prepared pictures' steps (Prepared.steps, kept with keep_steps), one row per picture."""
    from PIL import Image, ImageDraw

    from ..quant.model_file import write_atomic

    cols = max(len(r) for r in rows)
    sheet = Image.new("L", (cols * (cell + 8), len(rows) * (cell + 18)), 128)
    draw = ImageDraw.Draw(sheet)
    for i, steps in enumerate(rows):
        for k, (name, a) in enumerate(steps.items()):
            tile = Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))
            scale = cell / max(tile.size)
            tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))),
                               Image.NEAREST)
            x, y = k * (cell + 8) + 4, i * (cell + 18)
            sheet.paste(tile, (x, y + 16))
            draw.text((x, y + 2), name, fill=255)
    path = Path(path)
    write_atomic(path, lambda f: sheet.save(f, format="PNG"))
    return path


def named_picture(text: str) -> np.ndarray:
    """A picture file, or SET:INDEX - picture INDEX of one of model/wild.py's sets (seed 0) - as float grey."""
    from ..model import wild

    name, _, index = text.partition(":")
    if name in wild.SETS and index.isdigit():
        return wild.pictures(name)[0][int(index), 0] / 255.0
    return decode(Path(text))


if __name__ == "__main__":  # python -m vitflow.host.preprocess OUT.png PICTURE|SET:INDEX...: the steps as a picture
    import sys

    framing = framing_for({"dataset": "digits", "train_config": {"augment": True}})  # the shipped models'
    print(f"wrote {figure([named_picture(p) for p in sys.argv[2:]], [1, 8, 8], Path(sys.argv[1]), framing)}")
