"""The out-of-distribution set `strokes`: digits drawn by a synthetic pen, from a source training never sees.

Each digit is one of a few stroke templates of our own (polylines and elliptic arcs in a unit box, x right,
y down), varied per sample - slant, rotation, aspect, per-point jitter, pen width - and rendered with an
anti-aliased pen (coverage from the distance to the strokes) on paper with a brightness gradient and sensor
noise. Four variants, FRAME x FRAME pixels each, what users feed the model:

  light-centred     light pen on dark paper, the digit 70-90 % of the frame's height, about centred
  dark-centred      dark pen on light paper (pen on paper, a scan), the same framing
  light-offcentre   light pen, the digit 25-45 % of the frame, anywhere in it
  dark-offcentre    dark pen, the same small framing

The set is generated (deterministic in `seed`; 2,000 pictures in about 7 s), not stored. They are pictures,
not model inputs: `vitflow eval --dataset strokes` runs them through host/preprocess.py.
"""

from __future__ import annotations

import numpy as np

FRAME = 64
PER_CLASS = 50          # per variant: 500 images per variant, 2,000 in all
SEED = 0                # the evaluation set; tune anything on another seed
VARIANTS = ("light-centred", "dark-centred", "light-offcentre", "dark-offcentre")


def arc(cx, cy, rx, ry, t0, t1, n=None):
    """Points of an elliptic arc from angle t0 to t1 (degrees, counter-clockwise as seen, y down)."""
    n = n or max(4, int(abs(t1 - t0) / 12))
    t = np.radians(np.linspace(t0, t1, n))
    return np.stack([cx + rx * np.cos(t), cy - ry * np.sin(t)], 1)


def line(*pts):
    return np.array(pts, np.float64)


def chain(*parts):
    """One stroke through several parts (a pen that does not lift)."""
    return np.concatenate(parts)


# digit -> alternative templates; a template is a list of strokes, a stroke an [n, 2] array of points
TEMPLATES: dict[int, list[list[np.ndarray]]] = {
    0: [[arc(0.5, 0.5, 0.36, 0.48, 90, 450)],
        [arc(0.5, 0.5, 0.3, 0.48, 100, 470)]],
    1: [[line((0.5, 0.02), (0.5, 0.98))],
        [line((0.28, 0.22), (0.55, 0.02), (0.55, 0.98))],
        [line((0.3, 0.2), (0.55, 0.02), (0.55, 0.98)), line((0.3, 0.98), (0.8, 0.98))]],
    2: [[chain(arc(0.5, 0.3, 0.34, 0.28, 160, -25), line((0.12, 0.98), (0.9, 0.98)))],
        [chain(arc(0.48, 0.28, 0.32, 0.26, 170, -10), line((0.78, 0.4), (0.15, 0.95), (0.85, 0.92)))]],
    3: [[arc(0.48, 0.27, 0.3, 0.25, 150, -90), arc(0.48, 0.73, 0.34, 0.25, 90, -150)],
        [chain(line((0.15, 0.03), (0.8, 0.03), (0.45, 0.42)), arc(0.48, 0.7, 0.34, 0.28, 100, -150))]],
    4: [[line((0.68, 0.98), (0.68, 0.02), (0.08, 0.68), (0.92, 0.68))],
        [line((0.3, 0.02), (0.12, 0.6), (0.9, 0.6)), line((0.68, 0.3), (0.68, 0.98))]],
    5: [[chain(line((0.82, 0.02), (0.25, 0.02), (0.2, 0.45)), arc(0.5, 0.68, 0.33, 0.3, 140, -150))],
        [line((0.25, 0.02), (0.2, 0.45)), line((0.25, 0.02), (0.82, 0.02)),
         arc(0.5, 0.68, 0.33, 0.3, 140, -150)]],
    6: [[chain(line((0.75, 0.04), (0.42, 0.28), (0.2, 0.62)), arc(0.5, 0.72, 0.3, 0.26, 180, -180))],
        [chain(arc(0.75, 0.75, 0.55, 0.73, 80, 180), arc(0.5, 0.74, 0.3, 0.24, 180, -180))]],
    7: [[line((0.1, 0.02), (0.9, 0.02), (0.4, 0.98))],
        [line((0.1, 0.02), (0.9, 0.02), (0.45, 0.98)), line((0.35, 0.5), (0.85, 0.5))]],
    8: [[arc(0.5, 0.26, 0.27, 0.24, -90, 270), arc(0.5, 0.74, 0.33, 0.26, 90, 450)],
        [chain(arc(0.5, 0.26, 0.27, 0.24, -60, 240), line((0.27, 0.38), (0.75, 0.62)),
               arc(0.5, 0.74, 0.3, 0.24, 60, -240), line((0.25, 0.62), (0.73, 0.38)))]],
    9: [[arc(0.5, 0.3, 0.3, 0.28, 0, 360), line((0.8, 0.3), (0.75, 0.98))],
        [chain(arc(0.48, 0.3, 0.3, 0.28, 10, 370), arc(0.2, 0.3, 0.58, 0.68, 0, -90))]],
}


def pen_path(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A template as one writer draws it: resampled densely, jittered smoothly, slanted, rotated, squeezed;
    returned in a unit box again (the digit's height 1)."""
    slant, rot = rng.uniform(-0.3, 0.3), np.radians(rng.uniform(-10, 10))
    aspect = rng.uniform(0.7, 1.15)
    m = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]]) @ np.array([[aspect, -slant], [0, 1]])
    out = []
    for s in strokes:
        seg = np.linalg.norm(np.diff(s, axis=0), axis=1)
        t = np.concatenate([[0], np.cumsum(seg)])
        u = np.linspace(0, t[-1], max(6, int(t[-1] / 0.08)))  # chords sag < 0.2 px
        p = np.stack([np.interp(u, t, s[:, 0]), np.interp(u, t, s[:, 1])], 1)
        knots = rng.normal(0, 0.025, (4, 2))  # smooth wobble: a few knots interpolated along the stroke
        p += np.stack([np.interp(u, np.linspace(0, t[-1], 4), knots[:, k]) for k in range(2)], 1)
        out.append((p - 0.5) @ m.T)
    lo = np.min([p.min(0) for p in out], 0)
    hi = np.max([p.max(0) for p in out], 0)
    return [(p - lo) / (hi[1] - lo[1]) for p in out]


def coverage(strokes: list[np.ndarray], size, scale: float, origin: np.ndarray, width: float) -> np.ndarray:
    """Pen coverage [h, w] in [0, 1] (`size`: h = w, or (h, w)): pixel centres within width / 2 of a stroke,
    anti-aliased over one pixel. `strokes` in unit-box coordinates, placed at origin + scale * p (pixels).
    Distances are taken only inside the strokes' bounding box (plus the pen)."""
    h, w = (size, size) if np.isscalar(size) else size
    pts = [origin + scale * s for s in strokes]
    allp = np.concatenate(pts)
    lo = np.clip(np.floor(allp.min(0) - width), 0, [w, h]).astype(int)
    hi = np.clip(np.ceil(allp.max(0) + width) + 1, 0, [w, h]).astype(int)
    out = np.zeros((h, w))
    if (hi <= lo).any():
        return out
    yy, xx = (g.astype(np.float32).reshape(-1, 1) + 0.5 for g in np.mgrid[lo[1]:hi[1], lo[0]:hi[0]])
    a = np.concatenate([p[:-1] for p in pts]).astype(np.float32)
    ab = np.concatenate([p[1:] for p in pts]).astype(np.float32) - a
    rx, ry = xx - a[:, 0], yy - a[:, 1]  # [pixels, segments]
    t = np.clip((rx * ab[:, 0] + ry * ab[:, 1]) / np.maximum((ab * ab).sum(1), 1e-12), 0, 1)
    rx -= t * ab[:, 0]
    ry -= t * ab[:, 1]
    dist = np.sqrt((rx * rx + ry * ry).min(1))
    out[lo[1]:hi[1], lo[0]:hi[0]] = np.clip(width / 2 - dist + 0.5, 0, 1).reshape(hi[1] - lo[1], hi[0] - lo[0])
    return out


def draw(digit: int, variant: str, rng: np.random.Generator, size: int = FRAME) -> np.ndarray:
    """One picture uint8 [size, size] of `digit` in `variant`."""
    templates = TEMPLATES[digit]
    strokes = pen_path(templates[rng.integers(len(templates))], rng)
    w_box = max(p[:, 0].max() for p in strokes)
    centred = variant.endswith("-centred")
    height = size * (rng.uniform(0.7, 0.9) if centred else rng.uniform(0.25, 0.45))
    free = np.array([size - w_box * height, size - height])
    if centred:
        origin = free / 2 + rng.normal(0, 0.03 * size, 2)
    else:
        origin = rng.uniform(0.05 * size, np.maximum(free - 0.05 * size, 0.05 * size))
    width = max(1.2, height * rng.uniform(0.04, 0.14))
    cov = coverage(strokes, size, height, origin, width)
    light = variant.startswith("light")
    paper, pen = (rng.uniform(0, 60), rng.uniform(170, 255)) if light else (rng.uniform(170, 250), rng.uniform(0, 90))
    gy, gx = np.mgrid[0:size, 0:size] / size - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    light_field = rng.uniform(0, 30) * (np.cos(angle) * gx + np.sin(angle) * gy)  # uneven lighting
    img = paper + light_field + (pen - paper) * cov + rng.normal(0, rng.uniform(0, 10), (size, size))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def strokes(per_class: int = PER_CLASS, seed: int = SEED, size: int = FRAME):
    """The `strokes` pictures: uint8 [N, 1, size, size], int64 labels [N], and a variant name per picture
    (model/datasets.py makes the test-only data set of them)."""
    rng = np.random.default_rng(seed)
    x, y, v = [], [], []
    for variant in VARIANTS:
        for i in range(per_class * 10):
            x.append(draw(i % 10, variant, rng, size))
            y.append(i % 10)
            v.append(variant)
    return np.stack(x)[:, None], np.array(y, np.int64), np.array(v)
