"""The paper-literal GAN-INT-CLS step (Reed et al. 2016 §4.2 Alg. 1, §4.3): plain fp32 PyTorch,
written for reading, not speed. It is the oracle the optimised ``gan_step`` is tested against
(``tests/test_benchmarks.py``) and the baseline ``benchmarks/bench_train.py`` times."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ReferenceStep:
    """One plain GAN-INT-CLS step: D step with three separate D calls, then the G step.

    Random draws in the trainer's order and kind (z; the interpolation partner, a random cyclic
    shift of the batch; z for the interpolated fakes), so from the same RNG state it sees the same
    noise as ``gan_step`` (``tests/test_benchmarks.py`` notices when the two drift apart)."""

    def __init__(self, G, D, lr: float = 2e-4, betas=(0.5, 0.999), **adam_kw):
        self.G, self.D = G, D
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas, **adam_kw)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas, **adam_kw)

    def __call__(self, batch: dict) -> dict:
        def bce(logits, target):
            return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))

        x, h, h_wrong = batch["images"], batch["emb"], batch["wrong_emb"]
        b, z_dim = x.shape[0], self.G.cfg.z_dim
        z = torch.randn(b, z_dim)
        fake = self.G(z, h)                                     # x̂ = G(z, h)
        perm = (torch.arange(b) + torch.randint(1, b, ())) % b  # partner text: another row
        h_int = 0.5 * h + 0.5 * h[perm]                         # §4.3: β = ½
        fake_int = self.G(torch.randn(b, z_dim), h_int)         # x̂ᵢ = G(zᵢ, hᵢ)

        # D: minimise −[log s_r + ½(log(1 − s_w) + log(1 − s_f))]
        s_r, s_w, s_f = self.D(x, h), self.D(x, h_wrong), self.D(fake.detach(), h)
        loss_d = bce(s_r, 1.0) + 0.5 * (bce(s_w, 0.0) + bce(s_f, 0.0))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()

        # G: minimise −[log s_f + log s_i] (non-saturating)
        loss_g = bce(self.D(fake, h), 1.0) + bce(self.D(fake_int, h_int), 1.0)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return {"d_loss": loss_d.item(), "g_loss": loss_g.item()}
