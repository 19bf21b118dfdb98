"""Training pictures: what the preprocessing hands the network from the pictures people take, so that training
sees it (`vitflow train --pictures`).

Digits drawn by model/wild.py's renderers on seeds the evaluation never uses (TRAIN_SEED and up; the
evaluation sets are seed 0, tuning seed 1), run through host/preprocess.py exactly as `vitflow infer` runs a
user's picture: broken strokes, leftover pieces of lines, slant beyond what deskew removes, printed and script
shapes, thin and thick pens. Families: photos, ruled, thin pen, script, fonts (TRAIN_FAMILIES); board and form
cells are never rendered for training, so their scores show how far it carries to pictures it did not see.

Non-digits (stars, crosses, scribbles, letters of TRAIN_LETTERS only) for outlier exposure: training pushes
the network's answer on them towards no class at all (uniform probabilities), so a low top probability means
"not a digit". Arrows, plus signs and the other letters of the evaluation stay unseen.
"""

from __future__ import annotations

import numpy as np

from ..model import wild
from .preprocess import FRAMINGS, Framing, prepare

TRAIN_SEED = 100
TRAIN_FAMILIES = ("photos", "ruled", "thinpen", "script", "fonts")
TRAIN_OUTLIERS = ("star", "cross", "scribble", "letter")
TRAIN_LETTERS = "AHKMWX"


def digit_pictures(per_class: int, shape: list[int], framing: Framing = FRAMINGS["digits"],
                   seed: int = TRAIN_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [N, C, h, w] model inputs, labels [N]): `per_class` pictures of each digit, the families and
    their variants taking turns; pictures the preprocessing finds empty are left out."""
    rng = np.random.default_rng([seed, 0])
    x, y = [], []
    for i in range(per_class * 10):
        draw, variants = wild.SETS[TRAIN_FAMILIES[(i // 10) % len(TRAIN_FAMILIES)]]
        variant = variants[(i // (10 * len(TRAIN_FAMILIES))) % len(variants)]
        p = prepare(draw(i % 10, variant, rng) / 255.0, shape, framing)
        if p.content:
            x.append(p.image)
            y.append(i % 10)
    return np.stack(x), np.array(y, np.int64)


def outlier_pictures(n: int, shape: list[int], framing: Framing = FRAMINGS["digits"],
                     seed: int = TRAIN_SEED) -> np.ndarray:
    """uint8 [m, C, h, w]: non-digits through the preprocessing (m <= n: empty ones left out)."""
    rng = np.random.default_rng([seed, 1])
    x = []
    for i in range(n):
        variant = TRAIN_OUTLIERS[i % len(TRAIN_OUTLIERS)]
        p = prepare(wild.nondigit(variant, rng, letters=TRAIN_LETTERS) / 255.0, shape, framing)
        if p.content:
            x.append(p.image)
    return np.stack(x) if x else np.zeros((0, *shape), np.uint8)
