"""GAN-CLS / GAN-INT trainer (Reed et al. 2016 §4–5): a small Trainer with train(), save(), load().

A run folder holds ``config.json`` (written first), ``checkpoints/step_XXXXXXXX.pt`` (atomic, the
last ``keep``), ``samples/`` (a fixed-(z, caption) grid every ``sample_every`` steps, train-mode
and eval-mode), ``log.jsonl``, ``loss_curve.png`` and, at the end, ``weights/``: a pipeline weights
folder (text_encoder, generator — EMA weights if enabled, with standing BN statistics —,
discriminator). Resume is exact: models, optimizers, EMA, step, sampler and every RNG of every
rank. One step is ``gan_step.gan_step``; the losses are in ``losses.py``.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..checkpoint import load_state_dict_strict, load_training_state
from ..config import DiscriminatorConfig, GeneratorConfig, preset, to_dict
from ..errors import CheckpointError, UserError
from ..models import Discriminator, Generator
from ..pipeline_utils import make_z
from ..viz import save_grid
from . import distributed as dist_utils
from .amp import amp_context, resolve_amp
from .gan_config import RESUMABLE_CHANGES, GANTrainConfig
from .gan_data import EpochSampler, GANData, HardWrong, class_prototypes, next_batch
from .gan_export import export_weights, standing_generator
from .gan_step import StepOptions, gan_step
from .interrupt import DeferredInterrupt
from .losses import check_variant, mode_seeking_space
from .rng import rng_state, seed_everything, set_rng_state
from .run_folder import RunFolder
from .run_plots import plot_losses
from .standing_stats import eval_train_gap, frozen_buffers


class TrainingStopped(UserError):
    """Training hit NaN/inf or diverged; the message says where and what to try."""


def model_configs(cfg: GANTrainConfig, embed_dim: int) -> tuple[GeneratorConfig, DiscriminatorConfig]:
    """The preset's G and D configs with the text width and the model-side levers applied."""
    g = preset(cfg.preset, "generator")
    d = preset(cfg.preset, "discriminator")
    g.embed_dim = d.embed_dim = embed_dim
    g.cond_aug, g.upsample, g.cond_bn = cfg.cond_aug, cfg.upsample, cfg.cond_bn
    d.minibatch_std, d.spectral_norm = cfg.minibatch_std, cfg.spectral_norm
    d.projection, d.match_head = cfg.projection, cfg.match_head
    if cfg.latent_regression < 0:
        raise UserError(f"--latent-regression is a weight >= 0, got {cfg.latent_regression}")
    if cfg.latent_regression > 0 and not 1 <= cfg.latent_dims <= g.z_dim:
        raise UserError(f"--latent-dims must be between 1 and z's {g.z_dim} dims, got {cfg.latent_dims}")
    d.latent_dims = cfg.latent_dims if cfg.latent_regression > 0 else 0
    g.ngf, d.ndf = cfg.ngf or g.ngf, cfg.ndf or d.ndf
    return g, d


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p, 1.0 - decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


class Trainer:
    """``Trainer(cfg, data, run_dir).train()``; ``resume=True`` continues from the last checkpoint."""
    def __init__(self, cfg: GANTrainConfig, data: GANData, run_dir, *, dist=None, resume: bool = False,
                 text_encoder: tuple | None = None, run_info: dict | None = None, progress: bool = True,
                 image_encoder: torch.nn.Module | None = None, probe=None):
        """``image_encoder``: the frozen DS-SJE θ, needed when ``cfg.theta_weight > 0``;
        ``probe(generator) -> dict``: the time-to-quality probe called every ``cfg.eval_every``
        steps (``eval.curve.CurveProbe``)."""
        check_variant(cfg.variant)
        self.cfg, self.data, self.run_dir = cfg, data, Path(run_dir)
        self.dist = dist or dist_utils.init_from_env(cfg.device)
        self.text_encoder, self.run_info, self.progress = text_encoder, dict(run_info or {}), progress
        dev = self.dist.device
        seed_everything(cfg.seed)                           # same initial weights on every rank
        self.g_cfg, self.d_cfg = model_configs(cfg, data.embed_dim)
        self.G, self.D = Generator(self.g_cfg).to(dev), Discriminator(self.d_cfg).to(dev)
        # channels_last: oneDNN's convolutions on CPU (G's transposed ones most) and cuDNN's bf16
        # tensor-core kernels on GPU are both faster in this layout
        self.G.to(memory_format=torch.channels_last)
        self.D.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema_decay > 0 else None
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas)
        if dev.type == "cuda":  # keep the whole (uint8) training set on the GPU
            data.images, data.cap_emb = data.images.to(dev), data.cap_emb.to(dev)
        self.G_train = dist_utils.wrap(self.G, self.dist)
        self.D_train = dist_utils.wrap(self.D, self.dist)
        seed_everything(cfg.seed + 1000 * self.dist.rank)   # each rank draws its own batches and z
        self.sampler = EpochSampler(len(data), cfg.batch_size)
        self.step, self.stuck, self._saved_step = 0, 0, None
        self.amp = resolve_amp(cfg.amp, dev)                # fail fast on an unknown amp
        self.step_options = StepOptions(
            cfg.variant, int_weight=cfg.int_weight, d_int_fakes=cfg.d_int_fakes, kl_weight=cfg.kl_weight,
            mode_seeking=cfg.mode_seeking, mode_seeking_on=cfg.mode_seeking_on, match_weight=cfg.match_weight,
            theta_weight=cfg.theta_weight, match_tau=cfg.match_tau, latent_weight=cfg.latent_regression)
        if cfg.theta_weight > 0 and image_encoder is None:
            raise UserError("theta_weight > 0 needs the image encoder θ of the train-text run "
                            "(pass a train-text run or weights folder with --text-encoder)")
        self.theta = None
        if cfg.theta_weight > 0:  # frozen: G learns to match it, θ never moves
            self.theta = image_encoder.to(dev).eval().requires_grad_(False)
            self.theta.to(memory_format=torch.channels_last)
        mode_seeking_space(cfg.mode_seeking_on)  # fail fast on an unknown space
        if cfg.match_negatives not in ("batch", "classes"):
            raise UserError(f"unknown --match-negatives {cfg.match_negatives!r}: choose batch or classes")
        if not 0.0 <= cfg.lr_decay <= 1.0:
            raise UserError(f"--lr-decay must be a share of the steps between 0 and 1, got {cfg.lr_decay}")
        if not 0.0 <= cfg.hard_wrong <= 1.0:
            raise UserError(f"--hard-wrong must be a share between 0 and 1, got {cfg.hard_wrong}")
        self.class_emb = None
        if cfg.match_negatives == "classes":
            protos, row = class_prototypes(data)
            self.class_emb, self.class_row = protos.to(dev), row.to(dev)
        self.pick_wrong = HardWrong(data, cfg.hard_wrong) if cfg.hard_wrong > 0 else None
        self.probe, self.cpu_seconds = probe, 0.0
        self.folder = RunFolder(self.run_dir, enabled=self.dist.is_main)
        self.log = self.folder.log
        self._start(resume)

    # ------------------------------------------------------------------ run folder and resume
    @property
    def ckpt_dir(self) -> Path:
        return self.folder.ckpt_dir

    def checkpoints(self) -> list[Path]:
        return self.folder.checkpoints()

    def run_config(self) -> dict:
        return {"training": to_dict(self.cfg), "world_size": self.dist.world_size,
                "components": {"generator": to_dict(self.g_cfg), "discriminator": to_dict(self.d_cfg)},
                "dataset": {**self.data.info, **self.run_info.get("dataset", {})},
                **{k: v for k, v in self.run_info.items() if k != "dataset"}}

    def _start(self, resume: bool) -> None:
        """Rank 0 starts the run folder (``RunFolder.start``: refuse to overwrite, check the
        resumable settings, write config.json); then every rank loads the checkpoint it picked
        (the run folder must be visible to all ranks, as on one machine)."""
        outcome = None
        if self.dist.is_main:
            try:
                latest = self.folder.start(self.run_config(), resume=resume, resumable=RESUMABLE_CHANGES)
                outcome = ("ok", str(latest) if latest else None)
            except UserError as exc:
                outcome = ("error", str(exc))
        status, value = dist_utils.broadcast_object(outcome, self.dist)
        if status == "error":
            raise UserError(value)
        if value:
            self.load(value)
        dist_utils.barrier(self.dist)

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> Path | None:
        """Write ``checkpoints/step_XXXXXXXX.pt`` atomically (rank 0) and keep the last ``keep``.
        Every rank must call it: the RNG and sampler states of all ranks are gathered."""
        ranks = dist_utils.all_gather_objects({"rng": rng_state(), "sampler": self.sampler.state_dict()},
                                              self.dist)
        path = self.folder.checkpoint_path(self.step)
        if self.dist.is_main:
            state = {"step": self.step, "stuck": self.stuck, "world_size": self.dist.world_size,
                     "cpu_seconds": self.cpu_seconds,
                     "G": self.G.state_dict(), "D": self.D.state_dict(),
                     "G_ema": self.G_ema.state_dict() if self.G_ema is not None else {},
                     "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "ranks": ranks}
            path = self.folder.save_checkpoint(self.step, state, self.cfg.keep)
        self._saved_step = self.step
        dist_utils.barrier(self.dist)
        return path

    def load(self, path=None) -> int:
        """Restore a checkpoint (default: the latest); returns its step."""
        path = Path(path) if path else self.folder.latest()
        if path is None:
            raise UserError(f"no checkpoints in {self.ckpt_dir}")
        state = load_training_state(path)
        try:
            load_state_dict_strict(self.G, state["G"], "generator")
            load_state_dict_strict(self.D, state["D"], "discriminator")
            if self.G_ema is not None:
                load_state_dict_strict(self.G_ema, state["G_ema"] or state["G"], "generator (EMA)")
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.step, self.stuck = int(state["step"]), int(state.get("stuck", 0))
            self.cpu_seconds = float(state.get("cpu_seconds", 0.0))
            ranks = state["ranks"]
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            raise CheckpointError(f"{path} is not a GAN training checkpoint (missing or bad {exc})") from None
        self._saved_step = self.step
        if len(ranks) == self.dist.world_size:
            self.sampler.load_state_dict(ranks[self.dist.rank]["sampler"])
            set_rng_state(ranks[self.dist.rank]["rng"])
        elif self.dist.is_main:
            print(f"note: {path.name} was written by {len(ranks)} processes, this run has "
                  f"{self.dist.world_size}: data order and noise restart (weights and optimizers resume)")
        self.log.truncate_after(self.step)
        return self.step

    # ------------------------------------------------------------------ training
    def lr_factor(self, step: int) -> float:
        """§5: halve the learning rate every ``lr_halve_every`` epochs (same on every rank); with
        ``lr_decay`` > 0, also fall linearly to 0 over that final share of ``steps``."""
        f = 1.0
        if self.cfg.lr_halve_every > 0:
            epoch = step * self.cfg.batch_size * self.dist.world_size / max(self.data.n_total, 1)
            f = 0.5 ** math.floor(epoch / self.cfg.lr_halve_every)
        if self.cfg.lr_decay > 0:  # linear decay to zero over the last part (Zhu et al. 2017, CycleGAN §4)
            span = self.cfg.lr_decay * self.cfg.steps
            f *= min(1.0, max(0.0, (self.cfg.steps - step) / span))
        return f

    def train_step(self) -> dict:
        f = self.lr_factor(self.step)
        for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * f
        batch = next_batch(self.data, self.sampler, captions_per_image=self.cfg.captions_per_image,
                           device=self.dist.device, pick_wrong=self.pick_wrong)
        if self.class_emb is not None:
            batch.update(class_emb=self.class_emb, class_row=self.class_row)
        batch["images"] = batch["images"].contiguous(memory_format=torch.channels_last)
        with amp_context(self.dist.device, self.amp):
            stats = gan_step(self.G_train, self.D_train, self.opt_g, self.opt_d, batch, self.step_options,
                             theta=self.theta)
        if self.G_ema is not None:
            decay = min(self.cfg.ema_decay, (1.0 + self.step) / (10.0 + self.step))
            ema_update(self.G_ema, self.G, decay)
        self.step += 1
        self._check_health(stats)
        return stats

    def _check_health(self, stats: dict) -> None:
        """Stop with a message on NaN/inf, or when D wins outright for ``diverge_patience`` steps
        (D loss ≈ 0 while G's fake term is huge). Decided on rank-averaged numbers."""
        vals = dist_utils.all_reduce_mean(torch.tensor([stats["d_loss"], stats["g_loss"], stats["g_fake"]]),
                                          self.dist)
        d, g, g_fake = (float(v) for v in vals)
        if not all(math.isfinite(v) for v in (d, g)):
            last = self._last_checkpoint_name()
            self._stop(f"step {self.step}: the losses became NaN/inf (d_loss={d}, g_loss={g}); "
                       f"last checkpoint: {last}. Try a lower learning rate or --spectral-norm.")
        self.stuck = self.stuck + 1 if (d < 1e-3 and g_fake > 10.0) else 0
        if self.cfg.diverge_patience and self.stuck >= self.cfg.diverge_patience:
            last = self._last_checkpoint_name()
            self._stop(f"step {self.step}: training diverged — D has won outright for {self.stuck} "
                       f"steps (d_loss={d:.2e}, g_fake={g_fake:.1f}); last checkpoint: {last}. "
                       "Try --lr-d lower than --lr-g, --spectral-norm or --minibatch-std.")

    def _last_checkpoint_name(self) -> str:
        return str(self.folder.latest() or "none yet")

    def _stop(self, message: str):
        self.log.write({"event": "stopped", "step": self.step, "message": message})
        if self.dist.is_main:
            plot_losses(self.log.read(), self.run_dir / "loss_curve.png")
        raise TrainingStopped(message)

    def train(self, *, export: bool = True) -> dict:
        """Train up to ``cfg.steps``; then save a checkpoint and (``export``) write weights/.
        Ctrl-C in a single process finishes the current step and saves a checkpoint first, so
        ``--resume`` continues exactly (a second Ctrl-C stops at once, without saving)."""


        bar = tqdm(total=self.cfg.steps, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=not (self.progress and self.dist.is_main), desc=f"train {self.cfg.variant}")
        with DeferredInterrupt(enabled=not self.dist.distributed) as interrupt:
            try:
                self._loop(bar, interrupt)
            except KeyboardInterrupt:
                if interrupt.requested and self.step > 0 and self._saved_step != self.step:
                    print(f"\ninterrupted: checkpoint {self.save()} written; continue with --resume")
                raise
            finally:
                bar.close()
        if self._saved_step != self.step:
            self.save()
        result = {"step": self.step}
        if export and self.dist.is_main:

            result.update(export_weights(self))
        dist_utils.barrier(self.dist)
        return result

    def _loop(self, bar, interrupt=None) -> None:
        cfg, acc, t0 = self.cfg, {}, time.perf_counter()
        while self.step < cfg.steps:
            cpu0 = time.process_time()
            stats = self.train_step()
            self.cpu_seconds += time.process_time() - cpu0
            for k, v in stats.items():
                acc.setdefault(k, []).append(v)
            bar.update(1)
            if cfg.log_every and self.step % cfg.log_every == 0:
                self._log_train(acc, time.perf_counter() - t0)
                bar.set_postfix(d=f"{stats['d_loss']:.3f}", g=f"{stats['g_loss']:.3f}")
                acc, t0 = {}, time.perf_counter()
            if cfg.sample_every and self.step % cfg.sample_every == 0 and self.dist.is_main:
                self.sample_grid()
            if self.probe is not None and cfg.eval_every and self.step % cfg.eval_every == 0:
                self.evaluate_curve()
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0:
                self.save()
            if interrupt is not None:
                interrupt.check()  # Ctrl-C: stop here, after a complete step

    def _log_train(self, acc: dict, seconds: float) -> None:
        n = len(acc.get("d_loss", [])) or 1
        rec = {"event": "train", "step": self.step, "epoch": round(self.sampler.epoch, 3),
               "lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"],
               "sec_per_step": round(seconds / n, 4)}
        rec.update({k: sum(v) / len(v) for k, v in acc.items()})
        self.log.write(rec)

    def evaluate_curve(self) -> dict | None:
        """One point of the time-to-quality curve (rank 0): the probe on the exported G with
        standing statistics, logged with the training CPU time so far (the probe's own time
        is not counted). The global RNG is untouched, so a run with and without the probe
        trains identically."""
        if not self.dist.is_main:
            return None

        cpu0, wall0 = time.process_time(), time.perf_counter()
        g, _ = standing_generator(self, batches=min(self.cfg.standing_stats_batches, 25))
        figures = self.probe(g)
        rec = {"event": "eval", "step": self.step, "cpu_minutes": round(self.cpu_seconds / 60.0, 3),
               **figures, "probe_seconds": round(time.perf_counter() - wall0, 2),
               "probe_cpu_seconds": round(time.process_time() - cpu0, 2)}
        self.log.write(rec)
        return rec

    # ------------------------------------------------------------------ samples
    def export_generator(self) -> Generator:
        return self.G_ema if self.G_ema is not None else self.G

    def grid_inputs(self, cols: int = 8) -> tuple[tuple, dict]:
        """Fixed (z, caption) grid: rows = the data's grid captions, column j = the z of seed j
        (``make_z``: the app's seed j draws the same latent)."""
        emb = self.data.grid_emb
        rows = emb.shape[0]
        z = make_z(0, cols, self.g_cfg.z_dim)
        z, emb = z.repeat(rows, 1), emb.repeat_interleave(cols, dim=0)
        kwargs = {"cond_noise": torch.zeros(z.shape[0], self.g_cfg.proj_dim)} if self.g_cfg.cond_aug else {}
        dev = self.dist.device
        return (z.to(dev), emb.to(dev)), {k: v.to(dev) for k, v in kwargs.items()}

    @torch.no_grad()
    def sample_grid(self, tag: str | None = None, cols: int = 8) -> float:
        """Write train-mode and eval-mode grids (the exported G: EMA weights with standing
        statistics); log mean |eval − train| of it. Uses its own RNG: training is unchanged."""
        if self.data.grid_emb is None:
            return float("nan")
        args, kwargs = self.grid_inputs(cols)
        tag = tag or f"step_{self.step:08d}"
        with frozen_buffers(self.G):
            self.G.train()
            save_grid(self.G(*args, **kwargs), self.run_dir / "samples" / f"{tag}.png", cols)
        g = self.export_generator()
        if self.G_ema is not None:  # EMA weights with G's running statistics draw washed-out

            g, _ = standing_generator(self, batches=min(self.cfg.standing_stats_batches, 10))
        with frozen_buffers(g):
            g.eval()
            save_grid(g(*args, **kwargs), self.run_dir / "samples" / f"{tag}_eval.png", cols)
        gap = eval_train_gap(g, *args, **kwargs)
        self.log.write({"event": "samples", "step": self.step, "eval_train_gap": gap})
        plot_losses(self.log.read(), self.run_dir / "loss_curve.png")
        return gap
