"""One GAN-CLS / GAN-INT training step (Reed et al. 2016 §4.2 Alg. 1, §4.3), with the optional levers.

    h, ĥ           right / wrong text embeddings of the batch; x the real images
    x̂ = G(z, h)    fakes (one G call);  GAN-INT: x̂ᵢ = G(zᵢ, hᵢ), hᵢ = ½h + ½h[perm] (own G call)
    D step         s_r = D(x, h), s_w = D(x, ĥ), s_f = D(x̂, h) [, s_i = D(x̂ᵢ, hᵢ)]  → d_loss
    G step         s_f = D(x̂, h) [, s_i = D(x̂ᵢ, hᵢ)]                                → g_loss

Batch composition (DESIGN §7, BatchNorm): every D call gets one homogeneous batch of one kind —
real+right, real+wrong, fake, interpolated fake — and the kinds that pass through D in the G
step are the kinds D trains on in the D step: the fake batch is the same tensor in both steps
(as in the paper's code and pytorch/examples dcgan), and with ``d_int_fakes`` the interpolated
fakes get their own call in both steps. (Off = the paper: D then never trains on interpolated
batches, which are still scored in their own call, never mixed into the fake batch.)

Mode seeking (``mode_seeking > 0``) needs two fakes per caption: the fake batch then holds the
first half of the captions twice (different z), the pairs the MSGAN term compares.

Matching in φ-space (off = the paper; Xu et al. 2018 §3.4, sentence level): with D's
``match_head``, D also learns to map real images onto their own caption embedding against the
batch's other captions (``matching_loss`` on the real pass, weight 1), and G gets
``match_weight`` × the same loss on its fakes through that head. ``theta`` (the DS-SJE image
encoder θ that was trained with φ, frozen) gives G the same kind of loss, ``theta_weight`` ×
``matching_loss(θ(x̂), h)``, from step 0 (DAMSM's frozen image encoder). With
``batch["class_emb"]`` (option ``match_negatives="classes"``) both losses contrast an image
against every training class's mean caption instead of the batch's captions (DS-SJE's
classification, Reed et al. 2016a): a batch rarely holds a caption that differs from the right
one in a single small part, the class set always does.

Latent regression (``latent_weight > 0``; off = the paper; InfoGAN, Chen et al. 2016 §5): D's
latent head reads the first N dims of z back from the fakes, and D (its trunk and head, on the
detached fakes) and G both minimise the mean squared error, ``latent_weight`` × it: G must draw
what z says where a reader can see it, which is what S (§4.4) has to read later.

Real+right and real+wrong share one D call (``wrong_emb=``): same images, so D's image trunk
runs once (its train-mode BatchNorm statistics are those of x either way); the text and joint
layers still normalise each text batch on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .distributed import unwrap
from .losses import (d_loss, g_loss, interpolate_embeddings, latent_loss, matching_loss,
                     mode_seeking_loss, uses_interpolation, uses_wrong_text)


@dataclass
class StepOptions:
    variant: str = "gan-int-cls"
    int_weight: float = 1.0       # §4.3: weight of the interpolated-text term in L_G
    d_int_fakes: bool = False     # D also trains on interpolated fakes (own call); off = paper
    kl_weight: float = 2.0        # StackGAN's KL coefficient (used when G has cond_aug)
    mode_seeking: float = 0.0     # weight of Mao et al.'s mode-seeking term; 0 = off
    mode_seeking_on: str = "pixels"  # its image distance: "pixels" (Mao et al.), "edges", "layout" or a "+" sum
    match_weight: float = 0.0     # G's matching loss through D's match head (needs the head)
    theta_weight: float = 0.0     # G's matching loss through the frozen DS-SJE θ (needs theta)
    match_tau: float = 0.1        # temperature of the matching losses
    latent_weight: float = 0.0    # InfoGAN's λ: G and D's latent head recover z[:, :N] (needs the head)


def _fake_embeddings(emb: torch.Tensor, paired: bool) -> torch.Tensor:
    """The captions of the fake batch: with mode seeking, the first half twice."""
    if not paired:
        return emb
    m = emb.shape[0] // 2
    return torch.cat([emb[:m], emb[:m], emb[2 * m:]])


def _fake_targets(b: int, paired: bool, device) -> torch.Tensor:
    """Row of the real batch whose caption each fake image was drawn for."""
    idx = torch.arange(b, device=device)
    if not paired:
        return idx
    m = b // 2
    return torch.cat([idx[:m], idx[:m], idx[2 * m:]])


def _match(img_emb, h, targets, batch: dict, tau: float):
    """Matching loss of images whose captions are rows ``targets`` of the batch, against the
    batch's captions or, with ``batch["class_emb"]``, against every class prototype."""
    labels = batch.get("labels")
    if "class_emb" in batch:
        return matching_loss(img_emb, batch["class_emb"], batch["class_row"][labels[targets]], None, tau)
    return matching_loss(img_emb, h, targets, labels, tau)


def _probs(logits: torch.Tensor) -> float:
    return float(torch.sigmoid(logits.detach()).mean())


def gan_step(G, D, opt_g, opt_d, batch: dict, opts: StepOptions, theta=None) -> dict:
    """Update D then G once; return the loss terms and D's mean probabilities as floats.
    ``theta``: frozen image encoder into φ-space for ``opts.theta_weight`` (or None)."""
    x, h = batch["images"], batch["emb"]
    g_raw, d_raw = unwrap(G), unwrap(D)
    b, z_dim = x.shape[0], g_raw.cfg.z_dim
    paired = opts.mode_seeking > 0 and b >= 2
    use_int, use_wrong = uses_interpolation(opts.variant), uses_wrong_text(opts.variant)

    # ---- fakes: x̂ = G(z, h); GAN-INT: x̂ᵢ = G(zᵢ, βh + (1−β)h[perm])                  (§4.3)
    z = torch.randn(b, z_dim, device=x.device)
    h_fake = _fake_embeddings(h, paired)
    fake, kl = G(z, h_fake, return_kl=True)
    if use_int:
        # a derangement (no row paired with itself, else h_int = h): shift by 1..b-1
        perm = (torch.arange(b) + torch.randint(1, b, ())) % b if b > 1 else torch.arange(b)
        h_int = interpolate_embeddings(h, perm.to(x.device))
        fake_int, kl_int = G(torch.randn(b, z_dim, device=x.device), h_int, return_kl=True)
        kl = 0.5 * (kl + kl_int)

    latent = opts.latent_weight > 0
    if latent and d_raw.latent is None:
        raise ValueError("latent_weight > 0 needs D's latent head (DiscriminatorConfig.latent_dims)")
    z_code = z[:, :d_raw.cfg.latent_dims] if latent else None

    # ---- D step: maximise log s_r + ½(log(1−s_w) + log(1−s_f))                (§4.2 Alg. 1)
    head = d_raw.match is not None
    kw = {"with_match": True} if head else {}               # the head reads the same trunk pass
    if use_wrong:  # real image with right text, and with wrong text (image trunk shared)
        out = D(x, h, wrong_emb=batch["wrong_emb"], **kw)
        (s_r, s_w), real_match = out if head else (out, None)
    else:
        out = D(x, h, **kw)                                 # real image, right text
        (s_r, real_match), s_w = (out if head else (out, None)), None
    if latent:                                              # fake image, right text (+ z read back)
        s_f, z_read = D(fake.detach(), h_fake, with_latent=True)
    else:
        s_f = D(fake.detach(), h_fake)                      # fake image, right text
    s_i = D(fake_int.detach(), h_int) if (use_int and opts.d_int_fakes) else None
    loss_d, terms = d_loss(opts.variant, s_r, s_f, s_w, s_i)
    if head:  # D's match head learns φ-space from real pairs only (Xu et al. 2018)
        d_match = _match(real_match, h, torch.arange(b, device=x.device), batch, opts.match_tau)
        loss_d = loss_d + d_match
        terms["d_match"] = float(d_match.detach())
    if latent:  # InfoGAN's Q: D's trunk and latent head learn to read z from the fakes
        d_latent = latent_loss(z_read, z_code)
        loss_d = loss_d + opts.latent_weight * d_latent
        terms["d_latent"] = float(d_latent.detach())
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    stats = {"d_loss": float(loss_d.detach()), **terms, "p_real": _probs(s_r), "p_fake": _probs(s_f)}
    if s_w is not None:
        stats["p_wrong"] = _probs(s_w)

    # ---- G step: maximise log s_f (+ log s_i): D without DDP and without its own gradients
    d_raw.requires_grad_(False)
    try:
        outs = d_raw(fake, h_fake, with_match=head, with_latent=latent)
        outs = outs if isinstance(outs, tuple) else (outs,)
        s_f, fake_match, z_read = outs[0], (outs[1] if head else None), (outs[-1] if latent else None)
        s_i = d_raw(fake_int, h_int) if use_int else None
        loss_g, gterms = g_loss(opts.variant, s_f, s_i, int_weight=opts.int_weight)
        targets = _fake_targets(b, paired, x.device)
        if head and opts.match_weight > 0:                  # text reconstruction through D's head
            g_match = _match(fake_match, h, targets, batch, opts.match_tau)
            loss_g = loss_g + opts.match_weight * g_match
            gterms["g_match"] = float(g_match.detach())
        if theta is not None and opts.theta_weight > 0:     # DAMSM-style: frozen θ of DS-SJE
            g_theta = _match(theta(fake), h, targets, batch, opts.match_tau)
            loss_g = loss_g + opts.theta_weight * g_theta
            gterms["g_theta"] = float(g_theta.detach())
        if latent:                                          # InfoGAN: G draws z so it can be read back
            g_latent = latent_loss(z_read, z_code)
            loss_g = loss_g + opts.latent_weight * g_latent
            gterms["g_latent"] = float(g_latent.detach())
        if g_raw.cfg.cond_aug:                              # StackGAN: + λ_KL · KL(N(μ,σ²) ‖ N(0,I))
            loss_g = loss_g + opts.kl_weight * kl
            gterms["kl"] = float(kl.detach())
        if paired:                                          # Mao et al. 2019: + λ_ms / (d_I / d_z + ε)
            m = b // 2
            ms = mode_seeking_loss(fake[:m], fake[m:2 * m], z[:m], z[m:2 * m], space=opts.mode_seeking_on)
            loss_g = loss_g + opts.mode_seeking * ms
            gterms["ms"] = float(ms.detach())
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    finally:
        d_raw.requires_grad_(True)
    stats.update(g_loss=float(loss_g.detach()), **gterms)
    return stats
