"""Evaluation sets of the pictures people take: generated, deterministic, never trained on.

Each set is drawn by our own renderer (the pen of model/ood.py, Pillow's built-in font, Pillow's perspective
warp and JPEG codec), in a few variants reported apart. Grey uint8 pictures as `vitflow infer` would decode them
(RGB rendered first, then BT.601 luma, so colour casts and blue ruling count as they would):

  photos     a pen digit on paper photographed by a phone: light falloff, a soft shadow across the page,
             colour cast, slight perspective, focus blur, sensor noise, JPEG. Variants: falloff, shadow, tilted
  ruled      the digit on exercise paper: ruled (blue lines, red margin) or squared (a grid), lines kept thin
  board      chalk on a blackboard: light strokes with grain and gaps, haze of wiped chalk
  thinpen    a fine pen on a large picture (384 px): strokes 1-2.5 px wide
  script     handwriting-like shapes (looped 2, open 4, crossed 7, flagged 1, ...) with a strong slant
  fonts      printed digits in Pillow's built-in font (Aileron): regular, bold, light, oblique, rotated
  forms      one cell of a form: its ruling at the edges, parts of the neighbouring cells' digits
  nondigits  what is not a digit: stars, crosses, plus signs, letters, scribbles, arrows, blank photos of
             uneven paper, blank ruled sheets. Label -1: the right answer is "no content" or "not a digit".

`PER_CLASS` pictures per digit (per variant for nondigits), seed `SEED` for evaluation; tune anything on
another seed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .ood import TEMPLATES, arc, chain, coverage, line, pen_path

PER_CLASS = 20
SEED = 0
NOT_A_DIGIT = -1
LUMA = np.array([0.299, 0.587, 0.114])

def figure_eight(n: int = 60) -> np.ndarray:
    """One stroke through both loops of an 8 (a lemniscate of Gerono, standing), starting at the top."""
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([0.5 + 0.3 * np.sin(2 * t), 0.5 - 0.48 * np.cos(t)], 1)


# handwriting shapes the print-like TEMPLATES lack (unit box, x right, y down)
SCRIPT = {
    0: [[chain(arc(0.5, 0.5, 0.34, 0.48, 70, 430), line((0.62, 0.05), (0.7, 0.1)))]],
    1: [[line((0.15, 0.3), (0.6, 0.02), (0.45, 0.98))]],
    2: [[chain(arc(0.5, 0.28, 0.34, 0.26, 165, -20), line((0.8, 0.42), (0.2, 0.88)),
               arc(0.3, 0.82, 0.12, 0.12, 250, -90), line((0.3, 0.94), (0.95, 0.96)))]],
    3: [[chain(arc(0.45, 0.26, 0.32, 0.24, 160, -85), arc(0.45, 0.74, 0.36, 0.26, 95, -160))]],
    4: [[line((0.25, 0.02), (0.08, 0.55), (0.95, 0.55)), line((0.72, 0.1), (0.6, 0.98))]],
    5: [[chain(line((0.3, 0.02), (0.22, 0.45)), arc(0.5, 0.68, 0.32, 0.3, 150, -160)),
         line((0.3, 0.02), (0.9, 0.0))]],
    6: [[chain(arc(0.85, 0.7, 0.65, 0.68, 95, 185), arc(0.5, 0.74, 0.29, 0.24, 180, -170))]],
    7: [[line((0.05, 0.12), (0.15, 0.02), (0.92, 0.04), (0.35, 0.98)), line((0.35, 0.52), (0.85, 0.48))]],
    8: [[figure_eight()]],
    9: [[chain(arc(0.5, 0.28, 0.3, 0.26, 20, 380), line((0.8, 0.22), (0.6, 0.98)))]],
}


# ---- rendering helpers ------------------------------------------------------------------------------------

def pen_digit(digit: int, rng: np.random.Generator, script: bool = False) -> list[np.ndarray]:
    """A digit's strokes as one writer draws them (unit height); script: the handwriting shapes, slanted."""
    templates = (SCRIPT[digit] + TEMPLATES[digit][:1]) if script else TEMPLATES[digit]
    strokes = pen_path(templates[rng.integers(len(templates))], rng)
    if script:  # a writer's slant on top of pen_path's: x -= slant * (y - 1)
        slant = rng.uniform(0.15, 0.4)
        strokes = [np.stack([p[:, 0] + slant * (1 - p[:, 1]), p[:, 1]], 1) for p in strokes]
    return strokes


def place(strokes, shape, height: float, centre, width: float) -> np.ndarray:
    """Coverage [h, w] of strokes (unit height) scaled to `height` pixels, their box centred at `centre` (x, y)."""
    lo = np.min([p.min(0) for p in strokes], 0)
    hi = np.max([p.max(0) for p in strokes], 0)
    origin = np.asarray(centre, float) - height * (lo + hi) / 2
    return coverage(strokes, shape, height, origin, width)


def grid(shape):
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    return x / w - 0.5, y / h - 0.5


def lighting(rng, shape, falloff=(0.1, 0.35), shadow: float = 0.0) -> np.ndarray:
    """A phone's light on a page [h, w]: vignette, a tilt across the page, optionally a soft shadow edge."""
    x, y = grid(shape)
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    light = 1 - rng.uniform(*falloff) * ((x - cx) ** 2 + (y - cy) ** 2) * 2
    a = rng.uniform(0, 2 * np.pi)
    light *= 1 + rng.uniform(0, 0.2) * (np.cos(a) * x + np.sin(a) * y)
    if shadow:
        b = rng.uniform(0, 2 * np.pi)
        d = np.cos(b) * x + np.sin(b) * y - rng.uniform(-0.3, 0.3)
        light *= 1 - shadow * rng.uniform(0.5, 1.0) / (1 + np.exp(-d / rng.uniform(0.01, 0.06)))
    return light


def on_paper(cov, rng, paper=(0.8, 0.95), ink=(0.03, 0.3), cast: float = 0.08) -> np.ndarray:
    """RGB [3, h, w]: ink of a pen (black or blue) over paper with a colour cast."""
    p = rng.uniform(*paper) * (1 + rng.uniform(-cast, cast, 3))
    k = rng.uniform(*ink) * (np.array([0.5, 0.6, 1.6]) if rng.random() < 0.4 else np.ones(3))
    return p[:, None, None] * (1 - cov) + k[:, None, None] * cov


def perspective(rgb: np.ndarray, rng, amount: float) -> np.ndarray:
    """The page seen at a slant: corners moved by up to `amount` of the side (Pillow's perspective warp)."""
    from PIL import Image

    _, h, w = rgb.shape
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    dst = src + rng.uniform(-amount, amount, (4, 2)) * [w, h]
    m = []
    for (x, y), (u, v) in zip(dst, src):  # output (x, y) -> input (u, v): Pillow's coefficients
        m.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        m.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(m), src.ravel())
    edge = tuple(int(c) for c in np.asarray(img)[h // 2, 0])
    img = img.transform((w, h), Image.PERSPECTIVE, tuple(coeffs), Image.BILINEAR, fillcolor=edge)
    return np.asarray(img, float).transpose(2, 0, 1) / 255


def camera(rgb: np.ndarray, rng, blur=(0.3, 1.0), noise=(0.005, 0.03), quality=(35, 85)) -> np.ndarray:
    """Focus blur, sensor noise and JPEG, as a phone saves a picture; grey uint8 [h, w] (BT.601)."""
    from PIL import Image, ImageFilter

    rgb = rgb + rng.normal(0, rng.uniform(*noise), rgb.shape)
    img = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(*quality)))
    with Image.open(buf) as decoded:
        a = np.asarray(decoded.convert("RGB"), float)
    return np.clip(np.round(a @ LUMA), 0, 255).astype(np.uint8)


def font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the bitmap font has one size
        raise ValueError("the fonts and nondigits sets need Pillow >= 10.1 (its scalable built-in font)") from None


def glyph(text: str, shape, height: float, rng, weight: int = 0, oblique: float = 0.0,
          rotate: float = 0.0) -> np.ndarray:
    """Coverage [h, w] of `text` in the built-in font, its ink `height` px tall, about centred; weight > 0
    bolder (max filter), < 0 lighter (min filter); oblique shears x by y; rotate in degrees."""
    from PIL import Image, ImageDraw, ImageFilter

    h, w = shape
    img = Image.new("L", (w * 2, h * 2), 0)
    draw = ImageDraw.Draw(img)
    f = font(int(height * 1.4))
    box = draw.textbbox((0, 0), text, font=f)
    draw.text((w - (box[0] + box[2]) / 2, h - (box[1] + box[3]) / 2), text, fill=255, font=f)
    if weight:
        img = img.filter(ImageFilter.MaxFilter(2 * weight + 1) if weight > 0 else ImageFilter.MinFilter(3))
    img = img.transform(img.size, Image.AFFINE, (1, oblique, -oblique * h, 0, 1, 0), Image.BILINEAR)
    img = img.rotate(rotate, Image.BILINEAR, center=(w, h),
                     translate=tuple(rng.normal(0, 0.04, 2) * (w, h)))
    a = np.asarray(img, float)[h // 2:h // 2 + h, w // 2:w // 2 + w] / 255
    return a


# ---- the sets ---------------------------------------------------------------------------------------------

def photo(digit, variant, rng, shape=(192, 256)):
    h, w = shape
    height = rng.uniform(0.3, 0.6) * h
    centre = (w / 2 + rng.normal(0, 0.06 * w), h / 2 + rng.normal(0, 0.06 * h))
    cov = place(pen_digit(digit, rng), shape, height, centre, height * rng.uniform(0.04, 0.1))
    rgb = on_paper(cov, rng) * lighting(rng, shape, (0.2, 0.5), 0.45 if variant == "shadow" else 0.0)
    if variant == "tilted":
        rgb = perspective(rgb, rng, 0.08)
    return camera(rgb, rng)


def ruled(digit, variant, rng, shape=(128, 128)):
    h, w = shape
    step = rng.uniform(11, 18)
    x, y = grid(shape)
    a = np.radians(rng.uniform(-2, 2))
    u, v = (np.cos(a) * y - np.sin(a) * x) * h, (np.cos(a) * x + np.sin(a) * y) * w
    reach = rng.uniform(0.6, 1.6) / 2 + 0.5
    ruling = stripes(u - rng.uniform(0, step), step, reach)
    if variant == "squared":
        ruling = np.maximum(ruling, stripes(v - rng.uniform(0, step), step, reach))
    height = step * rng.uniform(1.4, 2.8)
    centre = (w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.05 * h))
    cov = place(pen_digit(digit, rng), shape, height, centre, height * rng.uniform(0.05, 0.11))
    colour = np.array([0.55, 0.7, 0.95]) * rng.uniform(0.75, 1.0) if variant == "ruled" else \
        np.array([0.6, 0.65, 0.75]) * rng.uniform(0.7, 1.0)
    rgb = on_paper(np.zeros(shape), rng, paper=(0.85, 0.97))
    rgb = rgb * (1 - ruling) + colour[:, None, None] * ruling
    if variant == "ruled" and rng.random() < 0.5:  # the red margin line
        xm = int(rng.uniform(0.05, 0.25) * w)
        rgb[:, :, xm:xm + 1] = np.array([0.9, 0.35, 0.35])[:, None, None]
    ink = on_paper(np.zeros(shape), rng, paper=(0.03, 0.3), cast=0)  # the pen's colour
    rgb = rgb * (1 - cov) + ink * cov
    return camera(rgb * lighting(rng, shape), rng, quality=(60, 90))


def board(digit, variant, rng, shape=(128, 160)):
    h, w = shape
    height = rng.uniform(0.45, 0.75) * h
    centre = (w / 2 + rng.normal(0, 0.08 * w), h / 2 + rng.normal(0, 0.05 * h))
    cov = place(pen_digit(digit, rng, script=variant == "script"), shape, height, centre,
                height * rng.uniform(0.05, 0.1))
    grain = np.clip(rng.normal(0.8, 0.35, shape), 0, 1)
    gaps = smooth_noise(rng, shape, 6) > rng.uniform(-1.2, -0.6)  # where the chalk skipped
    chalk = cov * grain * gaps * rng.uniform(0.6, 0.85)
    haze = np.clip(smooth_noise(rng, shape, 24), 0, None) * rng.uniform(0.03, 0.12)  # wiped chalk
    slate = rng.uniform(0.08, 0.22) * np.array([0.8, 1.05, 0.9])
    rgb = slate[:, None, None] + haze + chalk
    return camera(rgb * lighting(rng, shape), rng, blur=(0.2, 0.7))


def stripes(t: np.ndarray, step: float, reach: float) -> np.ndarray:
    """Anti-aliased lines every `step` along coordinate t (lines at t = step / 2 mod step): coverage 1 within
    reach - 0.5 of a line, falling to 0 at reach (a line lw wide: reach = lw / 2 + 0.5)."""
    return np.clip(reach - np.abs(t % step - step / 2), 0, 1)


def smooth_noise(rng, shape, scale: int) -> np.ndarray:
    """Unit-variance noise smooth over `scale` pixels (bilinear upsampling of a coarse grid)."""
    from PIL import Image

    h, w = shape
    coarse = rng.normal(0, 1, (max(2, h // scale + 2), max(2, w // scale + 2))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((w, h), Image.BILINEAR), float)


def thinpen(digit, variant, rng, shape=(384, 384)):
    h, w = shape
    height = rng.uniform(0.4, 0.8) * h
    centre = (w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.05 * h))
    width = rng.uniform(1.0, 1.6) if variant == "fine" else rng.uniform(1.6, 2.5)
    cov = place(pen_digit(digit, rng), shape, height, centre, width)
    return camera(on_paper(cov, rng) * lighting(rng, shape), rng, blur=(0.2, 0.6), quality=(70, 95))


def script(digit, variant, rng, shape=(128, 128)):
    h, w = shape
    height = rng.uniform(0.5, 0.8) * h
    centre = (w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.05 * h))
    width = height * (rng.uniform(0.02, 0.05) if variant == "thin" else rng.uniform(0.05, 0.1))
    cov = place(pen_digit(digit, rng, script=True), shape, height, centre, width)
    return camera(on_paper(cov, rng) * lighting(rng, shape), rng, quality=(60, 95))


FONT_STYLES = {"regular": (0, 0.0), "bold": (2, 0.0), "light": (-1, 0.0), "oblique": (0, 0.22), "rotated": (1, 0.0)}


def printed(digit, variant, rng, shape=(96, 96)):
    weight, oblique = FONT_STYLES[variant]
    rotate = rng.uniform(-10, 10) if variant == "rotated" else rng.uniform(-3, 3)
    cov = glyph(str(digit), shape, rng.uniform(0.45, 0.75) * shape[0], rng, weight, oblique, rotate)
    rgb = on_paper(cov, rng, paper=(0.8, 0.97), ink=(0.0, 0.2))
    return camera(rgb * lighting(rng, shape, (0.05, 0.2)), rng, blur=(0.2, 0.7), quality=(60, 95))


def form(digit, variant, rng, shape=(96, 96)):
    """The centre cell of a 3x3 piece of a form, cropped with `margin` of the cell around it."""
    h, w = shape
    margin = rng.uniform(0.1, 0.25)
    cell = h / (1 + 2 * margin)
    big = (int(3 * cell) + 2, int(3 * cell) + 2)
    cov = np.zeros(big)
    for r in range(3):
        for c in range(3):
            if (r, c) != (1, 1) and rng.random() < 0.35:
                continue  # an empty neighbour
            d = digit if (r, c) == (1, 1) else int(rng.integers(10))
            height = cell * rng.uniform(0.5, 0.8)
            centre = ((c + 0.5) * cell + rng.normal(0, 0.08 * cell), (r + 0.5) * cell + rng.normal(0, 0.06 * cell))
            if variant == "printed":
                one = glyph(str(d), (int(cell), int(cell)), height, rng, int(rng.integers(0, 2)))
                y0, x0 = int(centre[1] - cell / 2), int(centre[0] - cell / 2)
                y0, x0 = max(0, y0), max(0, x0)
                sub = cov[y0:y0 + one.shape[0], x0:x0 + one.shape[1]]
                sub[:] = np.maximum(sub, one[:sub.shape[0], :sub.shape[1]])
            else:
                stroke = place(pen_digit(d, rng), big, height, centre, height * rng.uniform(0.05, 0.1))
                cov = np.maximum(cov, stroke)
    lw = rng.uniform(1.0, 2.5)
    t = np.arange(big[0]) + 0.5
    rule = np.max([np.clip(lw / 2 + 0.5 - np.abs(t - k * cell), 0, 1) for k in range(4)], 0)
    ruling = np.maximum(rule[:, None], rule[None, :big[1]])
    y0 = int(round(cell - margin * cell))
    cov, ruling = cov[y0:y0 + h, y0:y0 + w], ruling[y0:y0 + h, y0:y0 + w]
    rgb = on_paper(np.maximum(cov, ruling * rng.uniform(0.6, 1.0)), rng)
    return camera(rgb * lighting(rng, shape, (0.05, 0.2)), rng, quality=(60, 95))


NONDIGITS = ("star", "cross", "plus", "letter", "scribble", "arrow", "blank", "blank-ruled")
LETTERS = "AEFHKMNRWXY"


def shape_strokes(variant, rng) -> list[np.ndarray]:
    if variant == "star":
        k = 5
        t = np.radians(90 + 144 * np.arange(k + 1))
        return [np.stack([0.5 + 0.5 * np.cos(t), 0.5 - 0.5 * np.sin(t)], 1)]
    if variant == "cross":
        return [line((0.1, 0.1), (0.9, 0.9)), line((0.9, 0.1), (0.1, 0.9))]
    if variant == "plus":
        return [line((0.5, 0.05), (0.5, 0.95)), line((0.05, 0.5), (0.95, 0.5))]
    if variant == "arrow":
        return [line((0.05, 0.5), (0.95, 0.5)), line((0.65, 0.2), (0.95, 0.5), (0.65, 0.8))]
    pts = rng.uniform(0.05, 0.95, (int(rng.integers(6, 12)), 2))  # scribble: a random walk through points
    t = np.linspace(0, len(pts) - 1, 40 * len(pts))
    return [np.stack([np.interp(t, np.arange(len(pts)), pts[:, k]) for k in range(2)], 1)]


def nondigit(variant, rng, shape=(128, 128), letters: str = LETTERS):
    h, w = shape
    if variant.startswith("blank"):
        rgb = on_paper(np.zeros(shape), rng)
        if variant == "blank-ruled":
            step = rng.uniform(11, 18)
            ruling = stripes(np.arange(h) + rng.uniform(0, step), step, 1.1)
            rgb = rgb * (1 - ruling[:, None]) + np.array([0.55, 0.7, 0.95])[:, None, None] * ruling[:, None]
        return camera(rgb * lighting(rng, shape, (0.2, 0.5), 0.45), rng)
    height = rng.uniform(0.4, 0.75) * h
    if variant == "letter":
        cov = glyph(letters[rng.integers(len(letters))], shape, height, rng, int(rng.integers(0, 3)))
    else:
        strokes = pen_path(shape_strokes(variant, rng), rng)
        cov = place(strokes, shape, height, (w / 2 + rng.normal(0, 0.05 * w), h / 2 + rng.normal(0, 0.05 * h)),
                    height * rng.uniform(0.04, 0.1))
    return camera(on_paper(cov, rng) * lighting(rng, shape), rng)


# name -> (draw(digit, variant, rng), variants); nondigits draw(variant, rng)
SETS = {
    "photos": (photo, ("falloff", "shadow", "tilted")),
    "ruled": (ruled, ("ruled", "squared")),
    "board": (board, ("print", "script")),
    "thinpen": (thinpen, ("fine", "medium")),
    "script": (script, ("thin", "broad")),
    "fonts": (printed, tuple(FONT_STYLES)),
    "forms": (form, ("handwritten", "printed")),
    "nondigits": (nondigit, NONDIGITS),
}


def pictures(name: str, per_class: int = PER_CLASS, seed: int = SEED):
    """Set `name`: grey pictures uint8 [N, 1, H, W], labels int64 [N] (NOT_A_DIGIT for nondigits), a variant
    name per picture. Variants take turns, so every variant has every digit."""
    draw, variants = SETS[name]
    rng = np.random.default_rng([seed, list(SETS).index(name)])
    x, y, v = [], [], []
    if name == "nondigits":
        for variant in variants:
            for _ in range(per_class):
                x.append(draw(variant, rng))
                y.append(NOT_A_DIGIT)
                v.append(variant)
    else:
        for i in range(per_class * 10):
            variant = variants[(i // 10) % len(variants)]
            x.append(draw(i % 10, variant, rng))
            y.append(i % 10)
            v.append(variant)
    return np.stack(x)[:, None], np.array(y, np.int64), np.array(v)


def sheet(path, per_set: int = 8, cell: int = 72, seed: int = SEED):
    """A PNG of `per_set` pictures of every set, one row each, its name at the left (for the docs)."""
    from PIL import Image, ImageDraw

    from ..quant.model_file import write_atomic

    label = 84
    img = Image.new("L", (label + per_set * (cell + 4), len(SETS) * (cell + 4)), 255)
    draw = ImageDraw.Draw(img)
    for r, name in enumerate(SETS):
        x, _, _ = pictures(name, per_class=1, seed=seed)
        pick = np.linspace(0, len(x) - 1, per_set).round().astype(int)
        draw.text((4, r * (cell + 4) + cell // 2 - 6), name, fill=0)
        for c, i in enumerate(pick):
            tile = Image.fromarray(x[i, 0])
            tile.thumbnail((cell, cell))
            img.paste(tile, (label + c * (cell + 4), r * (cell + 4)))
    write_atomic(Path(path), lambda f: img.save(f, format="PNG"))
    return Path(path)


if __name__ == "__main__":  # python -m vitflow.model.wild OUT.png: a few pictures of every set
    import sys

    print(f"wrote {sheet(sys.argv[1])}")
