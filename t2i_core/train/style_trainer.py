"""Style encoder S trained on the frozen generator (Reed et al. 2016 §4.4).

    L_style = E_{t, z ~ N(0, I)} ‖z − S(G(z, φ(t)))‖²₂

G is the exported generator (eval mode, standing BN statistics — exactly what the pipeline
runs), φ(t) comes from the caption-embedding cache of the training captions. The loss is
reported on held-out z (a fixed seeded set never drawn in training) next to the trivial
baseline E‖z‖² = z_dim of predicting 0. At the end S's BN statistics are recomputed on G's
images (standing statistics, as for G) and S is added to the weights folder. With ``augment``,
S learns from degraded samples (``data.degrade.augment_for_style``) so it also reads photos. With ``checkpoint``
(a path), S, its optimiser, the step and every RNG are saved there every ``ckpt_every`` steps and
on Ctrl-C (after a complete step), and ``load_checkpoint`` continues exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.degrade import augment_for_style
from ..models import Generator, StyleEncoder
from .amp import amp_context, resolve_amp
from .rng import rng_state, set_rng_state
from .standing_stats import recompute_bn_stats

RESUMABLE_CHANGES = ("steps", "eval_every", "amp")  # settings a resumed run may change


@dataclass
class StyleTrainConfig:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-4                # Adam, as for the GAN (§5)
    beta1: float = 0.5
    beta2: float = 0.999
    captions_per_image: int = 4     # the GAN's training embeddings (§5)
    single_caption_share: float = 0.5  # share of batch rows using one caption (what users type)
    eval_every: int = 250
    eval_size: int = 512            # held-out z
    standing_stats_batches: int = 50
    seed: int = 0
    amp: str = "auto"               # bf16 autocast: auto (on for CUDA), bf16 or off (train/amp.py)
    # photo-like degradations of G's samples (data/degrade.py: crop/shift, colour jitter without
    # hue, blur, noise, JPEG) so S reads photos too; off = the paper (clean samples)
    augment: bool = False


def style_loss(z: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
    # §4.4: L_style = E ‖z − S(G(z, φ(t)))‖²₂ (squared L2 over z's dimensions, mean over the batch)
    return (z - z_hat).pow(2).sum(dim=1).mean()


class StyleTrainer:
    """Train ``StyleEncoder(style_cfg)`` against a frozen ``generator``.

    ``sample_embeddings(n, k, generator)`` returns training text embeddings;
    ``heldout_embeddings`` (optional) the same for held-out captions used in the report."""

    def __init__(self, cfg: StyleTrainConfig, generator: Generator, style_cfg, sample_embeddings, *,
                 heldout_embeddings=None, device="cpu", checkpoint=None, ckpt_every: int = 0):
        self.cfg, self.device = cfg, torch.device(device)
        self.amp = resolve_amp(cfg.amp, self.device)
        self.G = generator.to(self.device).eval().requires_grad_(False)
        torch.manual_seed(cfg.seed)
        self.S = StyleEncoder(style_cfg).to(self.device)
        for net in (self.G, self.S):  # faster convolutions on CPU (oneDNN) and GPU (cuDNN bf16)
            net.to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.S.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.sample = sample_embeddings
        self.step, self.history, self._recent = 0, [], []
        self.checkpoint, self.ckpt_every = (Path(checkpoint) if checkpoint else None), int(ckpt_every)
        self._saved_step = None
        self._heldout = self._make_heldout(heldout_embeddings or sample_embeddings)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path:
        """Write S, its optimiser, the step, the history and every RNG (atomically)."""
        from ..checkpoint import save_training_state
        from ..config import to_dict

        state = {"S": self.S.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                 "history": self.history, "recent": list(self._recent), "rng": rng_state(),
                 "config": to_dict(self.cfg)}
        save_training_state(self.checkpoint, state)
        self._saved_step = self.step
        return self.checkpoint

    def load_checkpoint(self, path=None) -> int:
        """Continue from ``path`` (default: ``checkpoint``) exactly; returns its step."""
        from ..checkpoint import load_state_dict_strict, load_training_state
        from ..config import to_dict
        from ..errors import CheckpointError, UserError

        path = Path(path) if path else self.checkpoint
        state = load_training_state(path)
        try:
            old, new = state["config"], to_dict(self.cfg)
            diff = sorted(k for k in new if k not in RESUMABLE_CHANGES and k in old and old[k] != new[k])
            if diff:
                changes = ", ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in diff)
                raise UserError(f"cannot resume {path} with different settings ({changes})")
            load_state_dict_strict(self.S, state["S"], "style encoder")
            self.opt.load_state_dict(state["opt"])
            self.step, self.history = int(state["step"]), list(state["history"])
            self._recent = [float(v) for v in state["recent"]]
            set_rng_state(state["rng"])
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            if isinstance(exc, UserError):
                raise
            raise CheckpointError(f"{path} is not a train-style checkpoint (missing or bad {exc})") from None
        self._saved_step = self.step
        return self.step

    @torch.no_grad()
    def _render(self, z: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        kwargs = {}
        if self.G.cfg.cond_aug:  # eval mode: the text code is μ, as in the pipeline
            kwargs["cond_noise"] = torch.zeros(z.shape[0], self.G.cfg.proj_dim, device=self.device)
        return self.G(z.to(self.device), emb.to(self.device), **kwargs)

    def _embeddings(self, n: int, generator=None) -> torch.Tensor:
        n1 = int(round(n * self.cfg.single_caption_share))
        parts = [self.sample(n - n1, self.cfg.captions_per_image, generator)]
        if n1:
            parts.append(self.sample(n1, 1, generator))
        return torch.cat(parts)

    def _make_heldout(self, sampler):
        gen = torch.Generator().manual_seed(self.cfg.seed + 1_000_003)
        n = self.cfg.eval_size
        z = torch.randn(n, self.G.cfg.z_dim, generator=gen)
        old, self.sample = self.sample, sampler
        try:
            emb = self._embeddings(n, gen)
        finally:
            self.sample = old
        return z, emb

    def train_step(self) -> float:
        z = torch.randn(self.cfg.batch_size, self.G.cfg.z_dim)
        with amp_context(self.device, self.amp):
            x = self._render(z, self._embeddings(self.cfg.batch_size))
            if self.cfg.augment:
                x = augment_for_style(x.float()).contiguous(memory_format=torch.channels_last)
            z_hat = self.S(x)
        loss = style_loss(z.to(self.device), z_hat.float())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return float(loss.detach())

    @torch.no_grad()
    def evaluate(self) -> dict:
        """L_style on the held-out z (S in eval mode), with the predict-0 baseline E‖z‖²."""
        was = self.S.training
        self.S.eval()
        z, emb = self._heldout
        total = 0.0
        for s in range(0, len(z), 128):
            zb = z[s:s + 128].to(self.device)
            total += float(style_loss(zb, self.S(self._render(zb, emb[s:s + 128])))) * len(zb)
        self.S.train(was)
        loss = total / len(z)
        baseline = float(z.pow(2).sum(1).mean())
        return {"heldout_loss": loss, "baseline_loss": baseline, "relative": loss / baseline}

    def _loop(self, bar, interrupt, log) -> None:
        while self.step < self.cfg.steps:
            self._recent.append(self.train_step())
            bar.update(1)
            if self.cfg.eval_every and self.step % self.cfg.eval_every == 0:
                rec = {"step": self.step, "train_loss": sum(self._recent) / len(self._recent), **self.evaluate()}
                self.history.append(rec)
                bar.set_postfix(train=f"{rec['train_loss']:.2f}", heldout=f"{rec['heldout_loss']:.2f}")
                if log:
                    log(rec)
                self._recent = []
            if self.checkpoint is not None and self.ckpt_every and self.step % self.ckpt_every == 0:
                self.save_checkpoint()
            interrupt.check()  # Ctrl-C: stop here, after a complete step

    def finish(self) -> None:
        """Standing BN statistics for S on G's images, then eval mode."""
        gen = torch.Generator().manual_seed(self.cfg.seed + 4242)

        def make_batch(i):
            z = torch.randn(self.cfg.batch_size, self.G.cfg.z_dim, generator=gen)
            return (self._render(z, self._embeddings(self.cfg.batch_size, gen)),), {}

        recompute_bn_stats(self.S, make_batch, self.cfg.standing_stats_batches)

    def train(self, progress: bool = True, log=None) -> dict:
        from tqdm import tqdm

        from .interrupt import DeferredInterrupt

        bar = tqdm(total=self.cfg.steps, initial=self.step, disable=not progress, desc="train-style",
                   unit="step", dynamic_ncols=True)
        t0 = time.perf_counter()
        with DeferredInterrupt(enabled=self.checkpoint is not None) as interrupt:
            try:
                self._loop(bar, interrupt, log)
            except KeyboardInterrupt:
                if interrupt.requested and self._saved_step != self.step:
                    print(f"\ninterrupted: checkpoint {self.save_checkpoint()} written; continue with --resume")
                raise
            finally:
                bar.close()
        if self.checkpoint is not None and self._saved_step != self.step:
            self.save_checkpoint()
        self.finish()
        final = {"step": self.step, **self.evaluate(), "seconds": round(time.perf_counter() - t0, 1)}
        if log:
            log({"event": "final", **final})
        return final


# -------------------------------------------------------------------------------------------------
# The train-style workflow: a weights folder in, the same folder (or ``out``) with S out
# -------------------------------------------------------------------------------------------------
def _embedding_pools(root, config: dict, folder: Path, states: dict, cache_dir=None, progress=True):
    """(train sampler, held-out sampler or None, description) from the cache of G's dataset."""
    from ..data.dataset import open_dataset
    from ..errors import UserError
    from .gan_data import pool_sampler, record_embeddings, subset_pool

    given = root is not None
    root = root or config.get("dataset", {}).get("root")
    if not root:
        raise UserError(f"{folder} does not record its dataset: pass --data")
    if not given and not Path(root).is_dir():
        raise UserError(f"{folder} was trained on {root}, which is not here: pass --data "
                        "(e.g. make one with `python -m t2i_core make-dataset --out data/synthbirds`)")
    index = open_dataset(root)
    if "text_encoder" in states:
        from ..text.cache import caption_embeddings, default_cache_dir
        from ..text.loading import load_text_encoder

        recorded = config.get("cache_dir")  # another machine's cache path is no default here
        cache = cache_dir or (recorded if recorded and Path(recorded).is_dir() else None) \
            or default_cache_dir(index.root)
        emb, offsets = caption_embeddings(load_text_encoder(folder), index, cache, progress=progress)
    else:
        emb, offsets = record_embeddings(index)
    split = config.get("training", {}).get("split", "trainval")
    train = pool_sampler(*subset_pool(emb, offsets, index.indices(split)))
    test_ids = index.indices("test")
    heldout = pool_sampler(*subset_pool(emb, offsets, test_ids)) if test_ids else None
    return train, heldout, {"root": str(index.root), "split": split,
                            "heldout_captions": "test" if test_ids else split}


def train_style(weights, cfg: StyleTrainConfig | None = None, *, out=None, data=None, cache_dir=None,
                preset: str | None = None, device: str = "auto", ckpt_every: int = 250,
                resume: bool = False, progress: bool = True) -> dict:
    """Train S on the frozen G of weights folder ``weights`` and write the folder with
    ``style_encoder`` added to ``out`` (default: ``weights`` in place). ``data``: the dataset of
    the training captions (default: the one the folder records); ``preset``: S's size (default:
    G's preset). Checkpoints go to ``OUT/style_checkpoint.pt`` every ``ckpt_every`` steps;
    ``resume`` continues from it exactly. Returns the final held-out figures."""
    from ..checkpoint import load_state_dict_strict, load_weights, save_weights
    from ..config import GeneratorConfig, from_dict, to_dict
    from ..config import preset as preset_config
    from ..errors import CheckpointError, UserError
    from .distributed import pick_device

    cfg = cfg or StyleTrainConfig()
    folder = Path(weights)
    config, states = load_weights(folder)
    if "generator" not in states:
        raise CheckpointError(f"{folder} has no generator to train a style encoder on")
    g_cfg = from_dict(GeneratorConfig, config.get("components", {}).get("generator", {}))
    G = Generator(g_cfg)
    load_state_dict_strict(G, states["generator"], "generator")
    s_cfg = preset_config(preset or config.get("training", {}).get("preset", "small"), "style")
    s_cfg.z_dim = g_cfg.z_dim
    train_pool, heldout_pool, data_info = _embedding_pools(data, config, folder, states, cache_dir, progress)
    target = Path(out) if out else folder
    ckpt = target / "style_checkpoint.pt"
    trainer = StyleTrainer(cfg, G, s_cfg, train_pool, heldout_embeddings=heldout_pool,
                           device=pick_device(device), checkpoint=ckpt, ckpt_every=ckpt_every)
    if resume:
        if not ckpt.is_file():
            raise UserError(f"--resume: no style checkpoint at {ckpt}")
        print(f"resuming train-style from step {trainer.load_checkpoint()}")
    final = trainer.train(progress=progress)
    states["style_encoder"] = trainer.S.state_dict()
    meta = {k: v for k, v in config.items() if k not in ("files", "format_version", "package_version")}
    meta["components"] = {**meta.get("components", {}), "style_encoder": to_dict(s_cfg)}
    meta["style_training"] = {**to_dict(cfg), **data_info, "result": final, "history": trainer.history}
    final["weights"] = str(save_weights(target, states, meta))
    return final
