"""host/ink.py's steps on small drawn pictures: paper under a shadow, Otsu, ruled lines, the digit's own
components, slant, stroke width."""

import numpy as np
import pytest

from vitflow.host import ink


def bar(shape=(64, 64), rows=(8, 56), cols=(30, 34)):
    a = np.zeros(shape)
    a[rows[0]:rows[1], cols[0]:cols[1]] = 1.0
    return a


def test_components_are_8_connected():
    a = bar((40, 40), (5, 35), (18, 22))
    a[2, 2] = a[37, 38] = 1.0
    a[4, 22] = 1.0  # touches the bar diagonally
    labels = ink.components(a > 0)
    assert labels.max() == 3 and labels[4, 22] == labels[5, 21]


@pytest.mark.parametrize("width", [3, 5, 8])
def test_stroke_width_and_thicken(width):
    a = bar(cols=(20, 20 + width))
    assert abs(ink.stroke_width(a) - width) <= 0.15 * width  # the bar's ends count as boundary too
    assert (ink.thicken(a, ink.stroke_width(a) + 4).max(0) > 0.5).sum() == width + 4  # 2 steps, 2 px each
    assert np.array_equal(ink.thicken(a, width - 2), a)  # never thinned


def test_a_shadow_is_paper_not_ink():
    """Half the page in shadow (x 0.5), a pen stroke across the shadow's edge: the ink is the stroke's, the
    same on both sides (relative to the paper where it lies), and nothing along the edge."""
    light = np.ones((64, 64))
    light[32:] = 0.5
    grey = 0.9 * light * (1 - 0.8 * bar())
    a = ink.ink(grey, dark_ink=True)
    assert np.allclose(a[10:30, 31:33], 0.8, atol=0.02) and np.allclose(a[36:54, 31:33], 0.8, atol=0.02)
    assert a[:, :26].max() < 0.02 and a[:, 38:].max() < 0.02


def test_chalk_is_light_ink_over_haze():
    board = 0.15 + 0.1 * np.linspace(0, 1, 64)[None, :] * np.ones((64, 1))
    a = ink.ink(board + 0.6 * bar(), dark_ink=False)
    assert np.allclose(a[10:50, 31:33], 0.6, atol=0.02) and a[:, :26].max() < 0.02


def test_otsu_splits_two_levels():
    a = np.concatenate([np.full(900, 0.05), np.full(100, 0.8)])
    assert 0.05 < ink.otsu(a) < 0.8


def ruled_page(angle_deg=2.0, step=12, shape=(96, 96)):
    """Lines every `step` rows, tilted; a stroke crossing them all."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    u = y - np.tan(np.radians(angle_deg)) * x
    lines = np.abs((u % step) - step / 2) < 0.8
    stroke = (np.abs(x - 0.3 * y - 30) < 1.5) & (y > 15) & (y < 80)
    return lines, stroke


def test_ruled_lines_removed_and_a_crossing_stroke_kept():
    lines, stroke = ruled_page()
    out, found = ink.remove_lines(0.4 * lines + 0.9 * stroke, 0.2)
    assert found and (out & lines & ~stroke).sum() < 0.02 * (lines & ~stroke).sum()
    assert (out & stroke).sum() >= 0.97 * stroke.sum()
    assert ink.components(out).max() == 1  # the stroke in one piece: no gaps where the lines crossed it


def test_a_digits_long_bar_is_not_a_line():
    a = bar((96, 96), (20, 24), (25, 70)) + bar((96, 96), (24, 70), (66, 70))  # a 7: bar 47 % of the width
    out, found = ink.remove_lines(a, 0.5)
    assert not found and np.array_equal(out, a > 0)


def test_the_digits_own_strokes():
    """Kept: the main stroke in the middle and a piece beside it (a 5's bar); dropped: a neighbour's digit cut
    by the edge, a far speck, a piece too far away."""
    a = bar((96, 96), (30, 70), (45, 49))
    a[26:29, 45:60] = 1.0            # a piece 1 px above: bridged (BRIDGE)
    a[30:32, 56:64] = 1.0            # a separate piece near the stroke's box
    a[40:60, 0:6] = 1.0              # a neighbour cut by the edge
    a[90, 90] = 1.0                  # speck
    kept = ink.digit_strokes(a)
    assert kept[30:70, 45:49].all() and kept[26:29, 45:60].all() and kept[30:32, 56:64].all()
    assert kept[40:60, 0:6].max() == 0 and kept[90, 90] == 0


@pytest.mark.parametrize("slant", [0.1, 0.6])
def test_deskew_keeps_a_slight_slant_and_takes_out_the_excess(slant):
    y, x = np.mgrid[0:64, 0:64]
    a = (np.abs(x - 12 - slant * (63 - y)) < 2.5).astype(float) * ((y > 8) & (y < 56))
    out = ink.deskew(a)
    kept = min(slant, ink.SLANT_KEPT)
    cols = np.flatnonzero(out.max(0) > 0.5)
    assert abs(cols.size - (5 + kept * 46)) <= 3 and abs(out.sum() - a.sum()) < 0.02 * a.sum()


def test_pen_along_a_line_is_kept():
    """A 7's bar drawn on a light ruled line: the line goes, the darker pen on it stays."""
    lines, stroke = ruled_page(angle_deg=0.0)
    on_line = np.zeros_like(lines)
    row = int(np.flatnonzero(lines[:, 50])[0])
    on_line[row, 20:60] = True
    out, found = ink.remove_lines(0.35 * lines + 0.9 * (stroke | on_line), 0.2)
    line_only = lines & ~stroke & ~on_line
    assert found and out[row, 20:60].all() and (out & line_only).sum() < 0.02 * line_only.sum()


def test_a_sliver_along_the_edge_is_not_the_digit_but_a_digit_cut_by_the_edge_is():
    a = np.zeros((96, 96))
    a[:, 0:3] = 0.4                       # a shadow's sliver down the left edge
    assert not ink.digit_strokes(a).any()
    a[0:50, 40:44] = 0.6                  # a stem from the top edge down: cut by the edge, not hugging it
    kept = ink.digit_strokes(a)
    assert kept[0:50, 40:44].all() and not kept[:, 0:3].any()
    seven = np.zeros((64, 64))
    seven[0:3, 10:54] = 0.8                  # a 7's bar right on the top edge: most of its ink in the edge band,
    for y in range(3, 60):                   # but its stem reaches deep into the picture
        seven[y, 52 - int(0.5 * y):55 - int(0.5 * y)] = 0.8
    assert np.array_equal(ink.digit_strokes(seven), seven)
