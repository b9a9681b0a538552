"""Style encoder S trained on the frozen generator (Reed et al. 2016 §4.4).

    L_style = E_{t, z ~ N(0, I)} ‖z − S(G(z, φ(t)))‖²₂

G is the exported generator (eval mode, standing BN statistics — exactly what the pipeline
runs), φ(t) comes from the caption-embedding cache of the training captions. The loss is
reported on held-out z (a fixed seeded set never drawn in training) next to the trivial
baseline E‖z‖² = z_dim of predicting 0. At the end S's BN statistics are recomputed on G's
images (standing statistics, as for G) and S is added to the weights folder. With ``augment``,
S learns from degraded samples (``data.degrade.augment_for_style``) so it also reads photos.

``train_style`` is the ``train-style`` workflow: a weights folder in, a run folder out (the
layout every trainer shares, ``run_folder.py``)::

    OUT/config.json             resolved settings and the source weights folder (written first)
    OUT/log.jsonl               held-out L_style every ``eval_every`` steps, the final figures
    OUT/checkpoints/step_*.pt   S, its optimiser, the step and every RNG (exact resume)
    OUT/weights/                the source weights folder with ``style_encoder`` added
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..checkpoint import load_state_dict_strict, load_training_state, load_weights, save_weights
from ..config import GeneratorConfig, from_dict, to_dict
from ..config import preset as preset_config
from ..data.dataset import open_dataset
from ..data.degrade import augment_for_style
from ..errors import CheckpointError, UserError
from ..models import Generator, StyleEncoder
from ..text.cache import caption_embeddings, default_cache_dir
from ..text.loading import load_text_encoder
from .amp import amp_context, resolve_amp
from .distributed import pick_device
from .gan_data import pool_sampler, record_embeddings, subset_pool
from .interrupt import DeferredInterrupt
from .losses import matching_loss
from .rng import rng_state, set_rng_state
from .run_folder import RunFolder
from .standing_stats import recompute_bn_stats
from .style_config import RESUMABLE_CHANGES, StyleTrainConfig

__all__ = ["StyleTrainConfig", "StyleTrainer", "style_loss", "train_style"]


def style_loss(z: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
    # §4.4: L_style = E ‖z − S(G(z, φ(t)))‖²₂ (squared L2 over z's dimensions, mean over the batch)
    return (z - z_hat).pow(2).sum(dim=1).mean()


class StyleTrainer:
    """Train ``StyleEncoder(style_cfg)`` against a frozen ``generator``.

    ``sample_embeddings(n, k, generator)`` returns training text embeddings;
    ``heldout_embeddings`` (optional) the same for held-out captions used in the report;
    ``folder`` (a ``RunFolder``, optional): checkpoints every ``cfg.ckpt_every`` steps and on
    Ctrl-C (after a complete step), and the log."""

    def __init__(self, cfg: StyleTrainConfig, generator: Generator, style_cfg, sample_embeddings, *,
                 heldout_embeddings=None, device="cpu", folder: RunFolder | None = None):
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
        self.folder, self._saved_step = folder, None
        self._heldout = self._make_heldout(heldout_embeddings or sample_embeddings)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path:
        """``checkpoints/step_XXXXXXXX.pt`` of the run folder: S, its optimiser, the step, the
        history and every RNG (atomic; the last ``keep`` are kept)."""
        state = {"S": self.S.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                 "history": self.history, "recent": list(self._recent), "rng": rng_state()}
        path = self.folder.save_checkpoint(self.step, state, self.cfg.keep)
        self._saved_step = self.step
        return path

    def load(self, path) -> int:
        """Continue from checkpoint ``path`` exactly; returns its step."""
        state = load_training_state(path)
        try:
            load_state_dict_strict(self.S, state["S"], "style encoder")
            self.opt.load_state_dict(state["opt"])
            self.step, self.history = int(state["step"]), list(state["history"])
            self._recent = [float(v) for v in state["recent"]]
            set_rng_state(state["rng"])
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            raise CheckpointError(f"{path} is not a train-style checkpoint (missing or bad {exc})") from None
        self._saved_step = self.step
        if self.folder is not None:
            self.folder.log.truncate_after(self.step)
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
        z = z.to(self.device)
        loss = style_loss(z, z_hat.float())
        if self.cfg.contrastive:  # InfoNCE (Oord et al. 2018) of the codes against their own z
            loss = loss + self.cfg.contrastive * matching_loss(
                z_hat, z, torch.arange(len(z), device=self.device), tau=self.cfg.contrastive_tau)
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

    def _log(self, record: dict) -> None:
        if self.folder is not None:
            self.folder.log.write(record)

    def _loop(self, bar, interrupt) -> None:
        while self.step < self.cfg.steps:
            self._recent.append(self.train_step())
            bar.update(1)
            if self.cfg.eval_every and self.step % self.cfg.eval_every == 0:
                rec = {"step": self.step, "train_loss": sum(self._recent) / len(self._recent), **self.evaluate()}
                self.history.append(rec)
                bar.set_postfix(train=f"{rec['train_loss']:.2f}", heldout=f"{rec['heldout_loss']:.2f}")
                self._log(rec)
                self._recent = []
            if self.folder is not None and self.cfg.ckpt_every and self.step % self.cfg.ckpt_every == 0:
                self.save()
            interrupt.check()  # Ctrl-C: stop here, after a complete step

    def finish(self) -> None:
        """Standing BN statistics for S on G's images, then eval mode."""
        gen = torch.Generator().manual_seed(self.cfg.seed + 4242)

        def make_batch(i):
            z = torch.randn(self.cfg.batch_size, self.G.cfg.z_dim, generator=gen)
            return (self._render(z, self._embeddings(self.cfg.batch_size, gen)),), {}

        recompute_bn_stats(self.S, make_batch, self.cfg.standing_stats_batches)

    def train(self, progress: bool = True) -> dict:
        bar = tqdm(total=self.cfg.steps, initial=self.step, disable=not progress, desc="train-style",
                   unit="step", dynamic_ncols=True)
        t0 = time.perf_counter()
        with DeferredInterrupt(enabled=self.folder is not None) as interrupt:
            try:
                self._loop(bar, interrupt)
            except KeyboardInterrupt:
                if interrupt.requested and self._saved_step != self.step:
                    print(f"\ninterrupted: checkpoint {self.save()} written; continue with --resume")
                raise
            finally:
                bar.close()
        if self.folder is not None and self._saved_step != self.step:
            self.save()
        self.finish()
        final = {"step": self.step, **self.evaluate(), "seconds": round(time.perf_counter() - t0, 1)}
        self._log({"event": "final", **final})
        return final


# -------------------------------------------------------------------------------------------------
# The train-style workflow: a weights folder in, a run folder with OUT/weights (G's folder + S) out
# -------------------------------------------------------------------------------------------------
def _embedding_pools(root, config: dict, folder: Path, states: dict, cache_dir=None, progress=True):
    """(train sampler, held-out sampler or None, description) from the cache of G's dataset."""
    given = root is not None
    root = root or config.get("dataset", {}).get("root")
    if not root:
        raise UserError(f"{folder} does not record its dataset: pass --data")
    if not given and not Path(root).is_dir():
        raise UserError(f"{folder} was trained on {root}, which is not here: pass --data "
                        "(e.g. make one with `python -m t2i_core make-dataset --out data/synthbirds`)")
    index = open_dataset(root)
    if "text_encoder" in states:
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


def train_style(weights, out, cfg: StyleTrainConfig | None = None, *, data=None, cache_dir=None,
                preset: str | None = None, resume: bool = False, progress: bool = True) -> dict:
    """Train S on the frozen G of weights folder ``weights`` in run folder ``out`` and write
    ``OUT/weights``: the source folder with ``style_encoder`` added. ``data``: the dataset of the
    training captions (default: the one the folder records); ``preset``: S's size (default: G's
    preset); ``resume``: continue ``out`` exactly from its last checkpoint (``weights`` may then
    be None: the run's own source). Returns the final held-out figures and ``weights``."""
    cfg = cfg or StyleTrainConfig()
    if cfg.contrastive < 0 or cfg.contrastive_tau <= 0:
        raise UserError(f"--contrastive must be ≥ 0 and --contrastive-tau > 0 (got {cfg.contrastive} "
                        f"and {cfg.contrastive_tau})")
    run = RunFolder(out)
    run.check_start(resume)  # before G and the captions are loaded
    stored = run.read_config() if resume else None
    if weights is None:
        if stored is None:
            raise UserError("--weights is required (the weights folder of a `train` run: RUN/weights)")
        weights = stored["source_weights"]
    folder = Path(weights)
    if stored is not None and Path(stored.get("source_weights", folder)).resolve() != folder.resolve():
        raise UserError(f"cannot resume {run.path}: it trains S on {stored['source_weights']}, not {folder}")
    if folder.resolve() == run.weights_dir.resolve():
        raise UserError(f"--out {run.path} would overwrite its own source weights {folder}: pick another --out")
    config, states = load_weights(folder)
    if "generator" not in states:
        raise CheckpointError(f"{folder} has no generator to train a style encoder on")
    g_cfg = from_dict(GeneratorConfig, config.get("components", {}).get("generator", {}))
    G = Generator(g_cfg)
    load_state_dict_strict(G, states["generator"], "generator")
    s_cfg = preset_config(preset or config.get("training", {}).get("preset", "small"), "style")
    s_cfg.z_dim = g_cfg.z_dim
    train_pool, heldout_pool, data_info = _embedding_pools(data, config, folder, states, cache_dir, progress)
    run_config = {"command": "train-style", "source_weights": str(folder), "training": to_dict(cfg),
                  "components": {"style_encoder": to_dict(s_cfg)}, "dataset": data_info}
    latest = run.start(run_config, resume=resume, resumable=RESUMABLE_CHANGES)
    trainer = StyleTrainer(cfg, G, s_cfg, train_pool, heldout_embeddings=heldout_pool,
                           device=pick_device(cfg.device), folder=run)
    if latest is not None:
        print(f"resuming train-style from step {trainer.load(latest)}")
    final = trainer.train(progress=progress)
    states["style_encoder"] = trainer.S.state_dict()
    meta = {k: v for k, v in config.items() if k not in ("files", "format_version", "package_version")}
    meta["components"] = {**meta.get("components", {}), "style_encoder": to_dict(s_cfg)}
    meta["style_training"] = {**to_dict(cfg), **data_info, "result": final, "history": trainer.history}
    final["weights"] = str(save_weights(run.weights_dir, states, meta))
    return final
