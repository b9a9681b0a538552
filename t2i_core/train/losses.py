"""GAN, GAN-CLS, GAN-INT and GAN-INT-CLS losses (Reed et al. 2016 §4.2 Alg. 1, §4.3), term by term.

Losses live apart from the networks (StyleGAN3 style): every function takes D's *logits*
(pre-sigmoid scores) and returns ``(loss, terms)`` where ``terms`` maps each term to a float for
the log. With σ the sigmoid and BCE(s, y) = −[y log σ(s) + (1−y) log(1−σ(s))] (BCE-with-logits,
numerically safe), maximising the paper's objectives is minimising:

    D (gan, gan-int):         BCE(s_r, 1) + BCE(s_f, 0)                  = −[log s_r + log(1−s_f)]
    D (gan-cls, gan-int-cls): BCE(s_r, 1) + ½ (BCE(s_w, 0) + BCE(s_f, 0))
                                                = −[log s_r + ½(log(1−s_w) + log(1−s_f))]
    G (all):                  BCE(s_f, 1)       non-saturating form of log(1−s_f) (Alg. 1: L_G ← log s_f)
    G (gan-int, gan-int-cls): + λ_int · BCE(s_i, 1)
                                  §4.3: E[log(1 − D(G(z, βt₁+(1−β)t₂)))], β = 0.5, λ_int = 1

s_r = D(x, h) real image + right text, s_w = D(x, ĥ) real image + wrong text, s_f = D(G(z, h), h),
s_i = D(G(z, h_int), h_int). D gets each of them from its own forward call (BatchNorm statistics
per kind of batch, DESIGN §7).

Option ``d_int_fakes`` (off in the paper): D also learns to call the interpolated fakes fake, in
their own call; their BCE then shares the fake term's weight with s_f:
BCE(s_f, 0) → ½ (BCE(s_f, 0) + BCE(s_i, 0)). Without it, D never trains on interpolated batches
while G is scored on them, which leaves G a way to fool D through batch statistics.

Extras against conditional mode collapse (off = the paper): StackGAN's KL term for conditioning
augmentation (``Generator.text_code``) and Mao et al. 2019's mode-seeking term
L_ms = 1 / (mean|G(z₁,h) − G(z₂,h)| / mean|z₁ − z₂| + ε).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import UserError

VARIANTS = ("gan", "gan-cls", "gan-int", "gan-int-cls")
BETA = 0.5  # §4.3: "In practice we found that fixing β = 0.5 works well."


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    return variant


def uses_wrong_text(variant: str) -> bool:
    """GAN-CLS (§4.2): D also scores real images with mismatching text."""
    return check_variant(variant).endswith("cls")


def uses_interpolation(variant: str) -> bool:
    """GAN-INT (§4.3): G is also trained on interpolated text embeddings."""
    return check_variant(variant).startswith("gan-int")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def interpolate_embeddings(emb: torch.Tensor, perm: torch.Tensor, beta: float = BETA) -> torch.Tensor:
    # §4.3: h_int = β t₁ + (1 − β) t₂, t₂ = the batch's embeddings in shuffled order
    return beta * emb + (1.0 - beta) * emb[perm]


# ---------------------------------------------------------------------------------------------
# Discriminator: maximise log s_r + ½(log(1 − s_w) + log(1 − s_f))        (§4.2 Alg. 1, lines 9-11)
# ---------------------------------------------------------------------------------------------
def d_loss(variant: str, s_real: torch.Tensor, s_fake: torch.Tensor, s_wrong: torch.Tensor | None = None,
           s_int: torch.Tensor | None = None):
    """D's loss for ``variant`` from logits; ``s_int`` (interpolated fakes) only when D trains on them."""
    terms = {"d_real": _bce(s_real, 1.0)}
    fake = _bce(s_fake, 0.0)
    terms["d_fake"] = fake
    if s_int is not None:  # option d_int_fakes: the fake term is shared by both kinds of fakes
        terms["d_int"] = _bce(s_int, 0.0)
        fake = 0.5 * (fake + terms["d_int"])
    if uses_wrong_text(variant):
        if s_wrong is None:
            raise ValueError(f"{variant} needs s_wrong (real image, wrong text)")
        terms["d_wrong"] = _bce(s_wrong, 0.0)
        # §4.2 Alg. 1: log s_r + ½(log(1−s_w) + log(1−s_f))
        loss = terms["d_real"] + 0.5 * (terms["d_wrong"] + fake)
    else:
        loss = terms["d_real"] + fake                               # plain GAN: log s_r + log(1−s_f)
    return loss, {k: float(v.detach()) for k, v in terms.items()}


# ---------------------------------------------------------------------------------------------
# Generator: maximise log s_f (+ log s_i for GAN-INT)              (§4.2 Alg. 1, line 12; §4.3)
# ---------------------------------------------------------------------------------------------
def g_loss(variant: str, s_fake: torch.Tensor, s_int: torch.Tensor | None = None, *, int_weight: float = 1.0):
    """G's adversarial loss for ``variant`` from logits (non-saturating, as in the paper's code)."""
    terms = {"g_fake": _bce(s_fake, 1.0)}
    loss = terms["g_fake"]
    if uses_interpolation(variant):
        if s_int is None:
            raise ValueError(f"{variant} needs s_int (interpolated-text fakes)")
        terms["g_int"] = _bce(s_int, 1.0)
        loss = loss + int_weight * terms["g_int"]                   # §4.3: + E[log D(G(z, h_int), h_int)]
    return loss, {k: float(v.detach()) for k, v in terms.items()}


# ---------------------------------------------------------------------------------------------
# Mode seeking (Mao et al. 2019, Eq. 3): maximise d_I(G(z₁,c), G(z₂,c)) / d_z(z₁, z₂)
# ---------------------------------------------------------------------------------------------
LAYOUT_POOL = 4  # "layout": 64 x 64 images compared as 16 x 16 cells


def image_edges(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical finite differences of a batch, flattened per image: a flat region
    (a plain backdrop of any colour) gives 0, shapes and their placement do not."""
    return torch.cat([(x[..., :, 1:] - x[..., :, :-1]).flatten(1), (x[..., 1:, :] - x[..., :-1, :]).flatten(1)], 1)


def image_layout(x: torch.Tensor, pool: int = LAYOUT_POOL) -> torch.Tensor:
    """Each image less its own mean colour, averaged over ``pool`` x ``pool`` cells, flattened. A
    colour shift of the whole image and texture finer than a cell count for nothing; a backdrop of
    another colour behind a bird covering a share a of the image counts about 2a of its pixel
    distance; where the shapes lie counts in full."""
    return F.avg_pool2d(x - x.mean(dim=(2, 3), keepdim=True), pool).flatten(1)


# the image distance's space → what d_I compares ("pixels": the images themselves, Mao et al.)
_MS_SPACES = {"pixels": lambda x: x, "edges": image_edges, "layout": image_layout}
MODE_SEEKING_SPACES = tuple(_MS_SPACES)


def mode_seeking_space(space: str) -> list:
    """The maps a mode-seeking space compares images through: one name, or names joined by "+"
    (one term per space, summed); a clear error for an unknown one."""
    names = space.split("+")
    for name in names:
        if name not in _MS_SPACES:
            raise UserError(f"unknown mode-seeking space {name!r} (--mode-seeking-on {space}): choose "
                            f"{', '.join(MODE_SEEKING_SPACES)}, or several joined by '+'")
    if len(set(names)) < len(names):
        raise UserError(f"--mode-seeking-on {space} names a space twice: raise --mode-seeking to weigh it more")
    return [_MS_SPACES[name] for name in names]


def mode_seeking_loss(x1: torch.Tensor, x2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
                      eps: float = 1e-5, space: str = "pixels") -> torch.Tensor:
    """1 / (ratio + ε), the form of the MSGAN reference code; x1, x2 share their captions.
    ``space`` "edges" measures d_I on ``image_edges``, so the colour of a flat backdrop does not
    count as variety and G is pushed to vary pose and shape with z instead (not in Mao et al.);
    "layout" measures it on ``image_layout``, nearly blind to the backdrop's colour and blind to
    fine texture, which "edges" rewarded (hatched backdrops on SynthBirds). Spaces joined by "+"
    ("pixels+layout") add one such term per space, so G must vary what each of them sees."""
    dz = torch.mean(torch.abs(z1 - z2))
    return sum(1.0 / (torch.mean(torch.abs(view(x1) - view(x2))) / dz + eps)
               for view in mode_seeking_space(space))


# ---------------------------------------------------------------------------------------------
# Latent regression (InfoGAN, Chen et al. 2016: the continuous codes' Gaussian log-likelihood,
# fixed unit variance = mean squared error)
# ---------------------------------------------------------------------------------------------
def latent_loss(z_read: torch.Tensor, z_code: torch.Tensor) -> torch.Tensor:
    """Mean squared error of D's reading of z against the z the fakes were drawn with."""
    return F.mse_loss(z_read.float(), z_code.float())


# ---------------------------------------------------------------------------------------------
# Image–text matching in φ-space (sentence-level DAMSM, Xu et al. 2018 §3.4; off in the paper)
# ---------------------------------------------------------------------------------------------
def matching_loss(img_emb: torch.Tensor, txt_emb: torch.Tensor, targets: torch.Tensor,
                  labels: torch.Tensor | None = None, tau: float = 0.1) -> torch.Tensor:
    """Contrastive loss of images against the batch's captions, by cosine similarity / τ.

    ``img_emb`` [N, E] (images mapped into φ-space), ``txt_emb`` [M, E] (the batch's caption
    embeddings), ``targets`` [N] the row of each image's own caption. Other captions of the same
    class (``labels`` [M]) are not counted as negatives. When N = M and ``targets`` is the
    identity, the text→image direction is added (DAMSM's symmetric form)."""
    img = F.normalize(img_emb.float(), dim=1)
    txt = F.normalize(txt_emb.float(), dim=1)
    logits = img @ txt.t() / tau                                     # [N, M]
    if labels is not None:
        same = labels[targets][:, None] == labels[None, :]
        same[torch.arange(len(targets), device=same.device), targets] = False
        logits = logits.masked_fill(same, float("-inf"))
    loss = F.cross_entropy(logits, targets)
    square = logits.shape[0] == logits.shape[1] and bool(
        (targets == torch.arange(len(targets), device=targets.device)).all())
    if square:
        loss = 0.5 * (loss + F.cross_entropy(logits.t(), targets))
    return loss
