"""Photo-like degradations: the evaluation protocol and the style encoder's augmentation."""

import colorsys

import numpy as np
import torch

from t2i_core.data.degrade import augment_for_style, blur, colour_jitter, degrade_for_eval, jpeg


def _halves(n=4, size=32):
    """Left half orange, right half dark blue: facing-like left/right asymmetry, known hues."""
    x = torch.empty(n, 3, size, size)
    x[:, :, :, : size // 2] = torch.tensor([0.9, 0.3, -0.6])[None, :, None, None]
    x[:, :, :, size // 2:] = torch.tensor([-0.8, -0.6, 0.2])[None, :, None, None]
    return x


def test_blur_and_jpeg_behave():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(blur(x, torch.zeros(2)), x, atol=1e-4)             # σ 0: identity
    soft = blur(x, torch.tensor([0.0, 1.5]))
    assert torch.allclose(soft[0], x[0], atol=1e-4) and soft[1].std() < 0.6 * x[1].std()
    smooth = _halves(1)
    assert (jpeg(smooth, 95) - smooth).abs().mean() < 0.03
    assert (jpeg(x, 10) - x).abs().mean() > (jpeg(x, 90) - x).abs().mean()


def test_colour_jitter_leaves_hue_alone():
    x = _halves(1)
    y = colour_jitter(x, torch.tensor([1.15]), torch.tensor([0.8]), torch.tensor([1.25]))
    assert (y - x).abs().mean() > 0.02
    for col in (2, 28):
        a = ((x[0, :, 5, col] + 1) / 2).tolist()
        b = ((y[0, :, 5, col] + 1) / 2).tolist()
        ha, hb = colorsys.rgb_to_hsv(*a)[0], colorsys.rgb_to_hsv(*b)[0]
        assert abs(ha - hb) < 0.02, (a, b)


def test_augment_for_style_is_random_bounded_and_never_flips():
    x = _halves(16)
    assert torch.equal(augment_for_style(x, torch.Generator().manual_seed(0), p=0.0), x)
    g = torch.Generator().manual_seed(1)
    y = augment_for_style(x, g, p=1.0)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert (y - x).abs().mean() > 0.02
    # the left half stays the warm one: no flips (facing is part of the style)
    red_minus_blue = (y[:, 0] - y[:, 2])
    assert (red_minus_blue[:, :, :8].mean((1, 2)) > red_minus_blue[:, :, -8:].mean((1, 2))).all()
    again = augment_for_style(x, torch.Generator().manual_seed(1), p=1.0)
    assert torch.equal(y, again)                                            # seeded: repeatable


def test_degrade_for_eval_is_deterministic_and_keeps_the_picture():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    imgs[:, 20:44, 20:44] = (200, 40, 40)                                    # a red block
    a = degrade_for_eval(imgs, np.random.default_rng(5))
    b = degrade_for_eval(imgs, np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape == imgs.shape and np.array_equal(a, b)
    assert np.abs(a.astype(int) - imgs).mean() > 10                         # noise blurred away etc.
    centre = a[:, 28:36, 28:36].reshape(-1, 3).mean(0)
    assert centre[0] > 150 and centre[1] < 90 and centre[2] < 90             # still red in the middle
    assert degrade_for_eval(imgs[:0], np.random.default_rng(0)).shape == (0, 64, 64, 3)
