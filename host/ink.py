"""From a picture of paper (or a board) to the digit's own ink: the steps host/preprocess.py runs on pictures
large enough to hold strokes. NumPy only (the board's ARM runs them too); pictures here are the small working
copy (at most preprocess.WORK_SIDE pixels a side), so plain sliding windows are fast enough.

  paper      the background estimated at each pixel by a grey closing (opening on a board) over a window
             wider than any stroke: light falloff, shadows and haze are the paper's, not ink; step edges of
             shadows survive a closing, so they do not turn into ink
  ink        darkness relative to the paper there (1 - grey / paper), or lightness above it on a board
  threshold  Otsu's threshold on the ink, not a fixed fraction: faint pencil and black marker alike
  lines      long straight lines (ruled and squared paper, form cells, a margin) found by projecting the ink
             along near-horizontal and near-vertical directions; their pixels dropped where no stroke crosses
  strokes    the digit's own components: the largest near the middle, plus the pieces near it (broken chalk,
             a 5's bar); pieces of a neighbour cut by the picture's edge and specks dropped
  deskew     slant beyond SLANT_KEPT removed, measured by the second moments (x sheared by mu11 / mu02)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PAPER_WINDOW = 0.2     # background window, fraction of the picture's longer side (> the widest stroke)
MIN_WINDOW = 9         # pixels
STROKE_WINDOWS = 3.0   # the paper's window in stroke widths (a stroke up to 1.5x wider than the mean fits)
LINE_SPAN = 0.75       # a line crosses at least this fraction of the picture
LINE_ANGLES = np.radians(np.arange(-4.0, 4.01, 0.5))   # slopes searched for lines (ruled paper, a slight tilt)
PEN_OVER_LINE = 1.6    # ink this many times the lines' own (their median) is pen drawn along a line
LINE_WIDTH = 3         # vertical runs of ink up to this many pixels at a line are the line's own
EDGE_BAND = 4          # pixels: the picture's edge band
EDGE_SHARE = 0.3       # pieces with more of their ink in the edge band hug the edge: a shadow's sliver, not pen
EDGE_DEPTH = 0.2       # ... unless they reach this fraction of the picture's shorter side into it
SPECK = 0.1            # components with less ink than this fraction of the largest are dropped
SLANT_KEPT = 0.25      # deskew: slant (dx/dy) up to this is the writer's and the training set's; beyond, removed
BRIDGE = 2             # pixels: strokes broken by a removed line or chalk's gaps count as one component
NEAR = 0.35            # pieces within this fraction of the main component's size (from its box) belong to it


# ---- filters ---------------------------------------------------------------------------------------------

def _filter(a: np.ndarray, k: int, op) -> np.ndarray:
    r = k // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        a = op(sliding_window_view(np.pad(a, pad, mode="edge"), k, axis=axis), axis=-1)
    return a


def max_filter(a: np.ndarray, k: int) -> np.ndarray:
    """Grey dilation by a k x k square (k odd), edges repeated."""
    return _filter(a, k, np.max)


def min_filter(a: np.ndarray, k: int) -> np.ndarray:
    return _filter(a, k, np.min)


# ---- paper and ink ---------------------------------------------------------------------------------------

def window(shape) -> int:
    return max(MIN_WINDOW, int(PAPER_WINDOW * max(shape)) // 2 * 2 + 1)


def paper(grey: np.ndarray, dark_ink: bool, k: int) -> np.ndarray:
    """The background at each pixel: a closing (dark ink) or opening (light ink) over a k x k window (not
    smoothed after: a blurred shadow edge would leave a band of ink along it)."""
    if dark_ink:
        return min_filter(max_filter(grey, k), k)
    return max_filter(min_filter(grey, k), k)


def relative(grey: np.ndarray, bg: np.ndarray, dark_ink: bool) -> np.ndarray:
    if dark_ink:
        return np.clip(1.0 - grey / np.maximum(bg, 1e-3), 0.0, 1.0)
    return np.clip(grey - bg, 0.0, 1.0)


def ink(grey: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Ink in [0, 1] relative to the paper: for dark ink the share of the paper's light it absorbs (a
    shadow dims paper and ink alike), for light ink (chalk) its lightness above the board. The paper's
    window: first the widest (PAPER_WINDOW of the picture), then STROKE_WINDOWS times the stroke width
    that it shows, so the paper follows a shadow's edge as closely as the strokes allow."""
    k = window(grey.shape)
    a = relative(grey, paper(grey, dark_ink, k), dark_ink)
    if a.max() <= 0:
        return a
    width = stroke_width(inner(a > otsu(a)).astype(float))
    narrow = max(MIN_WINDOW, int(STROKE_WINDOWS * width) // 2 * 2 + 1)
    return a if narrow >= k else relative(grey, paper(grey, dark_ink, narrow), dark_ink)


def inner(mask: np.ndarray) -> np.ndarray:
    """The components of a mask that do not touch the picture's edge (a shadow's wedge, the page's edge and a
    neighbour's digit do; the digit mostly does not); the whole mask if all of them do."""
    labels = components(mask)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = mask & ~np.isin(labels, edge)
    return keep if keep.any() else mask


def otsu(a: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold of the values of `a` (the level that best splits them into two classes)."""
    hist, edges = np.histogram(a, bins, (0.0, float(a.max()) or 1.0))
    p = hist / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m = np.cumsum(p * centres)
    between = (m[-1] * w0 - m) ** 2 / np.maximum(w0 * (1 - w0), 1e-12)
    return float(edges[int(np.argmax(between[:-1])) + 1])


# ---- lines -----------------------------------------------------------------------------------------------

def line_rows(mask: np.ndarray) -> list[tuple[float, int]]:
    """Near-horizontal lines of a mask, strongest first: (slope, row at x = 0). Each round shears the ink by
    every slope of LINE_ANGLES, takes the 3-row band holding the most ink, keeps it if its ink covers at
    least LINE_SPAN of the columns, and takes its pixels out before the next round (so one thick line is
    not found again at a neighbouring slope)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    alive = np.ones(ys.size, bool)
    lines = []
    while alive.any():
        best = (0, 0.0, 0)
        for t in np.tan(LINE_ANGLES):
            r = np.round(ys[alive] - t * xs[alive]).astype(int)
            c = np.bincount(r - r.min())
            band = c + np.concatenate([c[1:], [0]]) + np.concatenate([[0], c[:-1]])
            k = int(np.argmax(band))
            if band[k] > best[0]:
                best = (int(band[k]), float(t), k + int(r.min()))
        n, t, row = best
        on = alive & (np.abs(ys - (row + t * xs)) <= 1.5)
        if n < LINE_SPAN * w or np.unique(xs[on]).size < LINE_SPAN * w:
            break
        lines.append((t, row))
        alive &= np.abs(ys - (row + t * xs)) > LINE_WIDTH
    return lines


def drop_rows(mask: np.ndarray, lines: list[tuple[float, int]]) -> np.ndarray:
    """The mask without the pixels of `lines`, except where a stroke crosses: pixels whose vertical run of
    ink is longer than a line's, and pixels with the stroke's ink both above and below the line."""
    h, w = mask.shape
    run = vertical_runs(mask)
    out = mask.copy()
    x = np.arange(w)
    for t, row in lines:
        yc = row + t * x
        for dy in range(-LINE_WIDTH, LINE_WIDTH + 1):
            y = np.round(yc + dy).astype(int)
            ok = (y >= 0) & (y < h)
            yy, xx = y[ok], x[ok]
            thin = mask[yy, xx] & (run[yy, xx] <= 2 * LINE_WIDTH - 1)
            out[yy[thin], xx[thin]] = False
    return out | (mask & crossed(out))


def crossed(out: np.ndarray) -> np.ndarray:
    """Pixels with ink of `out` both within LINE_WIDTH + 1 rows above and below (one column either side)."""
    k = LINE_WIDTH + 1
    p = np.pad(out, k)
    h, w = out.shape
    above = np.zeros((h, w), bool)
    below = np.zeros((h, w), bool)
    for d in range(1, k + 1):
        for dx in (-1, 0, 1):
            above |= p[k - d:k - d + h, k + dx:k + dx + w]
            below |= p[k + d:k + d + h, k + dx:k + dx + w]
    return above & below


def vertical_runs(mask: np.ndarray) -> np.ndarray:
    """At each ink pixel, the length of the vertical run of ink through it."""
    h, w = mask.shape
    up = np.zeros((h, w), int)
    down = np.zeros((h, w), int)
    for y in range(h):
        up[y] = np.where(mask[y], (up[y - 1] if y else 0) + 1, 0)
    for y in range(h - 1, -1, -1):
        down[y] = np.where(mask[y], (down[y + 1] if y < h - 1 else 0) + 1, 0)
    return np.where(mask, up + down - 1, 0)


def remove_lines(a: np.ndarray, t: float) -> tuple[np.ndarray, bool]:
    """(the ink mask a > t without ruled / grid / cell lines, whether any were found). Lines are looked for
    in the fainter mask a > t / 2 (a light blue ruling breaks up at t). Lines come in families: some direction
    must hold at least two (ruling, a grid, a cell's two sides); a digit's own long stroke (a 4's or 1's stem
    in a tight crop) is one line alone, and then nothing is removed. Pen on a line stays where it is darker
    than the line by PEN_OVER_LINE (the 7's bar drawn along a ruled line)."""
    mask, faint = a > t, a > t / 2
    rows, cols = line_rows(faint), line_rows(faint.T)
    if len(rows) < 2 and len(cols) < 2:
        return mask, False
    out = drop_rows(mask, rows) if rows else mask
    out = drop_rows(out.T, cols).T if cols else out
    removed = mask & ~out
    if removed.any():
        out |= removed & (a > PEN_OVER_LINE * np.median(a[removed]))
    return out, True


# ---- components ------------------------------------------------------------------------------------------

def components(mask: np.ndarray) -> np.ndarray:
    """Labels (1..K, 0 = background) of the 8-connected components of a boolean mask (union-find over runs
    of rows: the working picture is small)."""
    h, w = mask.shape
    labels = np.zeros((h, w), np.int64)
    parent = [0]

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for y in range(h):
        row = mask[y]
        starts = np.flatnonzero(row & ~np.concatenate([[False], row[:-1]]))
        ends = np.flatnonzero(row & ~np.concatenate([row[1:], [False]])) + 1
        for s, e in zip(starts, ends):
            parent.append(len(parent))
            lab = len(parent) - 1
            labels[y, s:e] = lab
            if y:
                above = labels[y - 1, max(0, s - 1):min(w, e + 1)]
                for other in np.unique(above[above > 0]):
                    a, b = find(int(other)), find(lab)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    roots = np.array([find(i) for i in range(len(parent))])
    _, compact = np.unique(roots, return_inverse=True)
    return compact[labels]


def digit_strokes(a: np.ndarray) -> np.ndarray:
    """Ink `a` (relative to the paper) with only the digit's components: the main one (the most ink, weighted
    down the farther it lies from the middle and if the picture's edge cuts it), and the pieces with at least
    SPECK of its ink whose boxes come within NEAR of its size of the digit's box; the rest set to 0. Pieces
    that hug the picture's edge (over EDGE_SHARE of their pixels in its EDGE_BAND, none deeper in than
    EDGE_DEPTH: a sliver of shadow, a dark corner, the page's edge) are never the digit."""
    labels = components(max_filter(a > 0, 2 * BRIDGE + 1)) * (a > 0)  # gaps up to 2 * BRIDGE joined
    k = labels.max()
    if k == 0:
        return a
    h, w = a.shape
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    mass = np.bincount(lab, weights=a[ys, xs], minlength=k + 1)[1:]
    depth = np.minimum(np.minimum(ys, h - 1 - ys), np.minimum(xs, w - 1 - xs))  # distance to the edge
    hugging = np.bincount(lab, weights=depth < EDGE_BAND, minlength=k + 1)[1:] / np.bincount(lab, minlength=k + 1)[1:]
    deepest = np.zeros(k + 1)
    np.maximum.at(deepest, lab, depth)
    hugging = np.where(deepest[1:] < EDGE_DEPTH * min(h, w), hugging, 0.0)  # a 7's bar on the edge reaches in
    top, bottom = _extent(lab, ys, k)
    left, right = _extent(lab, xs, k)
    cy, cx = (top + bottom) / 2 / h - 0.5, (left + right) / 2 / w - 0.5
    edge = (top == 0) | (left == 0) | (bottom == h - 1) | (right == w - 1)
    mass = np.where(hugging > EDGE_SHARE, 0.0, mass)
    if not mass.any():
        return np.zeros_like(a)
    score = mass * np.exp(-4 * (cx ** 2 + cy ** 2)) * np.where(edge, 0.25, 1.0)
    main = int(np.argmax(score))
    box = [top[main], bottom[main], left[main], right[main]]
    keep = np.zeros(k + 1, bool)
    keep[main + 1] = True
    for i in np.argsort(-mass):  # larger pieces first: each one kept widens the box the next is tested on
        if keep[i + 1] or mass[i] < SPECK * mass[main] or mass[i] == 0 or (edge[i] and not edge[main]):
            continue
        size = max(box[1] - box[0], box[3] - box[2]) + 1
        gap = max(box[0] - bottom[i], top[i] - box[1], box[2] - right[i], left[i] - box[3], 0)
        if gap <= NEAR * size:
            keep[i + 1] = True
            box = [min(box[0], top[i]), max(box[1], bottom[i]), min(box[2], left[i]), max(box[3], right[i])]
    return np.where(keep[labels], a, 0.0)


def _extent(lab: np.ndarray, coord: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(k + 1, np.iinfo(np.int64).max)
    hi = np.full(k + 1, -1)
    np.minimum.at(lo, lab, coord)
    np.maximum.at(hi, lab, coord)
    return lo[1:], hi[1:]


# ---- slant -----------------------------------------------------------------------------------------------

def deskew(a: np.ndarray) -> np.ndarray:
    """Ink with its slant beyond SLANT_KEPT removed: the slant is mu11 / mu02 (x per y about the centroid);
    x sheared back by the excess (linear interpolation). Only the excess: an upright 7 or 4 has a slant of
    its own by its moments, and the training digits are not deskewed either."""
    h, w = a.shape
    total = a.sum()
    if total <= 0:
        return a
    y, x = np.mgrid[0:h, 0:w]
    my, mx = (a * y).sum() / total, (a * x).sum() / total
    mu02 = (a * (y - my) ** 2).sum() / total
    if mu02 <= 0:
        return a
    slope = (a * (x - mx) * (y - my)).sum() / total / mu02
    slope = np.sign(slope) * max(abs(slope) - SLANT_KEPT, 0.0)  # the training digits' own slant stays
    if slope == 0:
        return a
    pad = int(np.ceil(abs(slope) * h / 2)) + 1
    src = np.pad(a, ((0, 0), (pad, pad)))
    yy, xx = np.mgrid[0:h, 0:w + 2 * pad]
    xs = xx + slope * (yy - my)  # the output at x samples the input at x + slope * (y - my)
    x0 = np.clip(np.floor(xs).astype(int), 0, src.shape[1] - 2)
    f = np.clip(xs - x0, 0, 1)
    inside = (xs >= 0) & (xs <= src.shape[1] - 1)
    return np.where(inside, src[yy, x0] * (1 - f) + src[yy, x0 + 1] * f, 0.0)


# ---- stroke width ----------------------------------------------------------------------------------------

def stroke_width(a: np.ndarray) -> float:
    """Mean stroke width of an ink picture in pixels: 2 * area / boundary (a stroke of width w and length L
    has area w * L and 2 * L boundary pixels)."""
    m = a > 0.5
    if not m.any():
        return 0.0
    p = np.pad(m, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    boundary = np.count_nonzero(m & ~inner)
    return 2.0 * np.count_nonzero(m) / max(boundary, 1)


def dilate(a: np.ndarray, steps: int) -> np.ndarray:
    """Grey dilation by a 3x3 square, `steps` times (each widens a stroke by 2 pixels)."""
    return max_filter(a, 2 * steps + 1) if steps else a


def thicken(a: np.ndarray, target: float) -> np.ndarray:
    """Strokes thinner than `target` pixels widened towards it (thicker ones are kept: eroding breaks them)."""
    return dilate(a, max(0, int(round((target - stroke_width(a)) / 2))))
