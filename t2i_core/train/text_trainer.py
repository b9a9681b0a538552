"""Train φ (char-CNN-RNN) and θ (image CNN) jointly with DS-SJE (Reed et al. 2016 §3.2).

A small Trainer (lucidrains style): ``train()``, ``save()``, ``load()``; tqdm with
``initial=step``; exact resume (models, optimizer, step, sampler and torch RNG states).
The run folder (StyleGAN3 style) gets its resolved config first::

    RUN/config.json             resolved settings (written before anything else)
    RUN/log.jsonl               training losses and validation figures
    RUN/checkpoints/step_*.pt   training state (tensors only, atomic; the last ``keep``)
    RUN/training.png            loss and zero-shot accuracy curves
    RUN/weights/                weights folder: text_encoder + image_encoder (+ evaluation)

(the layout and life-cycle every trainer shares: ``run_folder.py``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..checkpoint import load_state_dict_strict, load_training_state
from ..config import ImageEncoderConfig, TextEncoderConfig, from_dict
from ..data.dataset import load_image_array, open_dataset
from ..errors import CheckpointError
from ..text.char_cnn_rnn import CharCNNRNN
from ..text.image_encoder import ImageEncoder
from ..text.retrieval import retrieval_eval
from ..text.sje import ds_sje_loss
from ..text.zero_shot import paraphrase_eval, split_images, zero_shot_eval
from . import text_run
from .amp import amp_context, resolve_amp
from .distributed import pick_device
from .run_folder import RunFolder
from .run_plots import plot_text_run
from .text_config import TextTrainConfig, _override
from .text_data import ClassMiner, PairBank


def lr_at(cfg: TextTrainConfig, step: int) -> float:
    """Linear warm-up, the peak lr, then cosine decay to ``lr * lr_min_ratio`` at ``cfg.steps``
    over the last ``decay_fraction`` of the steps after warm-up."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_steps = max(1, round((cfg.steps - cfg.warmup_steps) * cfg.decay_fraction))
    t = min(1.0, max(0.0, (step - (cfg.steps - decay_steps)) / decay_steps))
    return cfg.lr * (cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


class TextTrainer:
    """DS-SJE training of a text encoder and an image encoder in ``run_dir``."""

    def __init__(self, run_dir, *, data=None, preset: str = "small", overrides: dict | None = None,
                 resume: bool = False, progress: bool = True, minutes: float | None = None,
                 stop_at: int | None = None, eval_test: bool = True):
        self.run = Path(run_dir)
        self.folder = RunFolder(self.run)
        self.progress, self.minutes, self.stop_at, self.eval_test = progress, minutes, stop_at, eval_test
        self.config, self._resume_from = text_run.resolve_config(self.folder, data, preset, overrides or {},
                                                                 resume)
        self.tcfg = _override(TextTrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in self.config["training"].items()}), {})
        self.step, self.elapsed_s, self.cpu_s = 0, 0.0, 0.0
        self._built = False

    # ------------------------------------------------------------------ setup
    def build(self) -> None:
        """Models, optimizer, data in memory; restores the checkpoint when there is one."""
        torch.set_num_threads(int(self.tcfg.threads))
        comps = self.config["components"]
        torch.manual_seed(self.tcfg.seed)
        self.device = pick_device(self.tcfg.device)
        self.autocast = lambda: amp_context(self.device, resolve_amp(self.tcfg.amp, self.device))
        self.text_encoder = CharCNNRNN(from_dict(TextEncoderConfig, comps["text_encoder"])).to(self.device)
        self.image_encoder = ImageEncoder(from_dict(ImageEncoderConfig, comps["image_encoder"])).to(self.device)
        self.image_encoder.to(memory_format=torch.channels_last)  # ~10% faster convs on CPU (measured)
        params = list(self.text_encoder.parameters()) + list(self.image_encoder.parameters())
        self.optimizer = torch.optim.Adam(params, lr=self.tcfg.lr, betas=tuple(self.tcfg.betas),
                                          weight_decay=self.tcfg.weight_decay)
        self.gen = torch.Generator().manual_seed(self.tcfg.seed)
        self.miner = None
        self.index = open_dataset(self.config["data"], max_images=self.tcfg.max_images or None)
        size, max_len = self.image_encoder.cfg.image_size, self.text_encoder.cfg.max_len
        self.bank = PairBank(self.index, "train", image_size=size, max_len=max_len, progress=self.progress,
                             instance=self.tcfg.matching == "instance")
        self.retrieval = self.index.format == "coco"  # no classes: Recall@K instead of zero-shot
        self.val_split = "val" if self.index.indices("val") else None
        self.val_images = None
        if self.val_split and len(self.index.classes["val"]) >= 2:
            self.val_images = load_image_array(self.index, self.index.indices("val"), size, progress=False)
        else:
            self.val_split = None
        if self.tcfg.neighbour_group > 1 and self.tcfg.neighbour_source == "mined":
            self.miner = ClassMiner(self.bank.n_classes, self.text_encoder.cfg.embed_dim,
                                    self.tcfg.neighbour_pool, self.tcfg.mine_every)
        text_run.write_dataset_info(self.folder, self.config, self.index, self.bank)
        if self._resume_from is not None:
            self.load(self._resume_from)
        self._built = True

    # ------------------------------------------------------------------ state
    def save(self) -> Path:
        """``checkpoints/step_XXXXXXXX.pt`` (the last ``keep`` are kept)."""
        state = {
            "step": self.step, "elapsed_s": self.elapsed_s, "cpu_s": self.cpu_s,
            "text_encoder": self.text_encoder.state_dict(),
            "image_encoder": self.image_encoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng_torch": torch.get_rng_state(), "rng_sampler": self.gen.get_state(),
        }
        if self.miner is not None:
            state["miner"] = self.miner.state_dict()
        return self.folder.save_checkpoint(self.step, state, self.tcfg.keep)

    def load(self, path) -> None:
        """Continue exactly from checkpoint ``path``."""
        state = load_training_state(path)
        try:
            load_state_dict_strict(self.text_encoder, state["text_encoder"], "text_encoder")
            load_state_dict_strict(self.image_encoder, state["image_encoder"], "image_encoder")
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng_torch"])
            self.gen.set_state(state["rng_sampler"])
            if self.miner is not None:
                self.miner.load_state_dict(state["miner"])
            self.step = int(state["step"])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"{path} does not fit this run's config ({exc})") from None
        self.elapsed_s, self.cpu_s = float(state["elapsed_s"]), float(state["cpu_s"])
        self.folder.log.truncate_after(self.step)

    # ------------------------------------------------------------------ loop
    def train_step(self) -> dict:
        t = self.tcfg
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(t, self.step)
        images, char_ids, labels, text_labels = self.bank.batch(
            self.gen, t.classes_per_batch, t.images_per_class, t.captions_per_class, t.augment,
            t.neighbour_group, t.neighbour_pool, self.miner.near if self.miner else None)
        self.text_encoder.train()
        self.image_encoder.train()
        dev = self.device
        images, char_ids = images.to(dev, non_blocking=True), char_ids.to(dev, non_blocking=True)
        labels = labels.to(dev)
        text_labels = text_labels.to(dev) if text_labels is not None else None
        with self.autocast():
            image_emb, text_emb = self.image_encoder(images), self.text_encoder(char_ids)
        image_emb, text_emb = image_emb.float(), text_emb.float()  # the loss in fp32
        loss, parts = ds_sje_loss(image_emb, text_emb, labels, text_labels=text_labels, margin=t.margin,
                                  reduction=t.reduction, scale=t.cosine_scale or None, return_parts=True)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if t.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                           t.grad_clip)
        self.optimizer.step()
        if self.miner is not None:
            self.miner.update(image_emb.detach().cpu(), labels.cpu(), text_emb.detach().cpu(),
                              text_labels.cpu() if text_labels is not None else None)
        self.step += 1
        return {"loss": float(loss.detach()), "loss_image": float(parts["image"]), "loss_text": float(parts["text"])}

    def validate(self, split=None, max_captions=None, images=None) -> dict | None:
        split = split or self.val_split
        if split is None:
            return None
        if images is None and split == self.val_split:
            images = self.val_images
        if self.retrieval:
            return retrieval_eval(self.text_encoder, self.image_encoder, self.index, split, images=images)
        return zero_shot_eval(self.text_encoder, self.image_encoder, self.index, split, images=images,
                              max_captions_per_class=max_captions, seed=self.tcfg.seed)

    def train(self) -> dict:
        """Train to ``steps`` (or ``stop_at`` / the ``minutes`` cap); returns the final figures."""
        if not self._built:
            self.build()
        t = self.tcfg
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        base_wall, base_cpu = self.elapsed_s, self.cpu_s
        target = min(t.steps, self.stop_at) if self.stop_at else t.steps
        bar = tqdm(total=t.steps, initial=self.step, desc="train-text", disable=not self.progress,
                   unit="step", dynamic_ncols=True)
        acc, capped, postfix = [], False, {}
        while self.step < target:
            acc.append(self.train_step())
            self.elapsed_s = base_wall + time.perf_counter() - start_wall
            self.cpu_s = base_cpu + time.process_time() - start_cpu
            bar.update(1)
            capped = bool(self.minutes) and self.elapsed_s >= self.minutes * 60
            if self.step % t.log_every == 0 or self.step == target or capped:
                row = text_run.mean_row(acc, step=self.step, lr=lr_at(t, self.step - 1),
                                        elapsed_s=round(self.elapsed_s, 2), cpu_s=round(self.cpu_s, 2))
                self.folder.log.write(row)
                postfix["loss"] = f"{row['loss']:.3f}"
                bar.set_postfix(postfix)
                acc = []
            if self.step % t.val_every == 0 or self.step == t.steps:
                val = self.validate(max_captions=t.val_captions_per_class)
                if val is not None:
                    self.folder.log.write({"step": self.step, "val": val})
                    key = "caption_to_image_r1" if self.retrieval else "zero_shot_top1"
                    postfix["val_top1" if not self.retrieval else "val_r1"] = f"{val[key]:.3f}"
                    bar.set_postfix(postfix)
                self.plot()
            if self.step % t.ckpt_every == 0 or self.step == target or capped:
                self.save()
            if capped:
                bar.write(f"time cap of {self.minutes} min reached at step {self.step}/{t.steps}; "
                          "--resume continues")
                break
        bar.close()
        if self.step < t.steps and not capped:
            return {"paused_at": self.step}
        return self.finish(stopped_early=self.step < t.steps)

    def plot(self) -> Path | None:
        return plot_text_run(self.folder.log.read(), self.run / "training.png")

    def finish(self, stopped_early: bool = False) -> dict:
        """Final figures (val with sampled captions; test = unseen classes with every caption, plus
        hand-written paraphrases on SynthBirds), the weights folder and the plot."""
        figures = {}
        if self.val_split:
            figures["val"] = self.validate(max_captions=self.tcfg.val_captions_per_class)
        if self.eval_test and self.retrieval and len(self.index.indices("test")) >= 2:
            figures["test"] = self.validate("test")
        elif self.eval_test and len(self.index.classes["test"]) >= 2:
            images = split_images(self.index, self.index.indices("test"), self.image_encoder.cfg.image_size)
            figures["test"] = self.validate("test", images=images)
            para = paraphrase_eval(self.text_encoder, self.image_encoder, self.index, "test", images=images)
            if para is not None:
                figures["test"]["paraphrase_top1"] = para["paraphrase_top1"]
        self.folder.log.write({"step": self.step, "final": figures})
        self.plot()
        text_run.save_weights_folder(self, figures, stopped_early)
        return figures
