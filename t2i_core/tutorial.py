"""Small helpers for the tutorial notebooks (``notebooks/01..05``): thin wrappers over public APIs.

Nothing here implements the paper. These functions pick weights with printed fallbacks, reuse a
dataset between notebooks, draw a live loss plot and labelled image rows, and glue public
functions together so notebook cells stay short and readable.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from .errors import UserError


# ----------------------------------------------------------------------------- data and weights
def ensure_dataset(root, *, images_per_class: int = 2, max_classes: int | None = 30,
                   seed: int = 0, workers: int = 1) -> Path:
    """A SynthBirds folder at ``root`` made with these settings: reused when it already is
    (``synthbirds.json`` matches), else written with ``synthbirds.make_dataset``."""
    from .data.synthbirds import MARKER, make_dataset

    root = Path(root)
    marker = root / MARKER
    if marker.is_file() and (root / "attributes.jsonl").is_file():
        meta = json.loads(marker.read_text())
        if (meta.get("images_per_class"), meta.get("max_classes"), meta.get("seed")) == \
                (images_per_class, max_classes, seed):
            return root
    make_dataset(root, images_per_class=images_per_class, seed=seed, workers=workers,
                 max_classes=max_classes, progress=False)
    return root


def has_component(folder, component: str) -> bool:
    """Whether ``folder`` is a weights folder whose ``config.json`` lists ``component``."""
    cfg = Path(folder) / "config.json"
    if not cfg.is_file():
        return False
    try:
        return component in json.loads(cfg.read_text()).get("files", {})
    except (ValueError, AttributeError):
        return False


def _candidates(weights, fallbacks):
    from .pipeline import default_weights_dir

    if weights not in (None, "auto"):
        return [("the weights you chose", Path(weights))]
    bundled = default_weights_dir()
    return [("the bundled weights", bundled)] + [
        (f"NOTICE: no bundled weights at {bundled}; using a model trained earlier in these notebooks",
         Path(f)) for f in fallbacks]


def load_pipeline(weights="auto", fallbacks=(), *, preset: str = "tiny", seed: int = 0):
    """``(T2IPipeline, notice)``: ``weights`` if given, else the bundled weights folder, else
    the first of ``fallbacks`` holding a generator, else ``from_preset(preset)`` (random weights).
    ``notice`` says in one line which one was loaded."""
    from .pipeline import T2IPipeline, default_weights_dir

    if weights in ("tiny", "small", "reed"):
        return (T2IPipeline.from_preset(weights, seed=seed),
                f"NOTICE: using randomly initialised '{weights}' networks (chosen in parameters)")
    for what, folder in _candidates(weights, fallbacks):
        if has_component(folder, "generator"):
            return T2IPipeline.from_pretrained(folder), f"{what}: {folder}"
        if weights not in (None, "auto"):
            raise UserError(f"{folder} is not a weights folder with a generator")
    return (T2IPipeline.from_preset(preset, seed=seed),
            f"NOTICE: no trained weights found (the bundled {default_weights_dir()} is missing); "
            f"falling back to randomly initialised '{preset}' networks — pictures will be noise-like")


def text_encoder_folder(weights="auto", fallbacks=(), *, workdir=None, preset: str = "tiny",
                        seed: int = 0):
    """``(folder, notice)``: a weights folder holding a ``text_encoder`` — ``weights``, the
    bundled one, the first of ``fallbacks``, else a randomly initialised ``preset`` φ saved
    under ``workdir`` (so commands such as the ablation can load it like any other)."""
    for what, folder in _candidates(weights, fallbacks):
        for cand in (folder, folder / "weights"):
            if has_component(cand, "text_encoder"):
                return cand, f"{what} (text encoder): {cand}"
        if weights not in (None, "auto"):
            raise UserError(f"{folder} holds no text encoder")
    import torch

    from .checkpoint import save_weights
    from .config import preset as component_preset, to_dict
    from .text.char_cnn_rnn import CharCNNRNN

    if workdir is None:
        raise UserError("no trained text encoder found and no workdir to save a random one in")
    cfg = component_preset(preset, "text")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = CharCNNRNN(cfg)
    folder = Path(workdir) / f"random_text_encoder_{preset}"
    save_weights(folder, {"text_encoder": encoder.state_dict()},
                 {"components": {"text_encoder": to_dict(cfg)}, "training": {"random_weights": True}})
    return folder, (f"NOTICE: no trained text encoder found; using a randomly initialised '{preset}' "
                    f"φ ({folder}) — captions then carry little meaning")


def load_or_train_judge(*, steps: int = 5, batch_size: int = 8, seed: int = 0):
    """``(judge, notice)``: the bundled attribute judge, else one trained for ``steps`` steps."""
    from .errors import CheckpointError
    from .eval.judge import default_judge_dir, load_judge
    from .eval.judge_train import train_judge

    try:
        return load_judge(), f"judge: bundled ({default_judge_dir()})"
    except CheckpointError:
        judge, ev = train_judge(steps=steps, batch_size=batch_size, seed=seed,
                                eval_images=max(8, batch_size), progress=False)
        return judge, (f"NOTICE: no bundled judge; trained one for {steps} steps (held-out accuracy "
                       f"{ev['accuracy_on_real']:.2f}) — its verdicts are rough")


# ----------------------------------------------------------------------------- style encoder
def caption_sampler(pipe, captions_per_image):
    """``sample(n, k, generator) -> [n, E]`` over φ of caption groups (one group per image):
    what ``StyleTrainer`` draws its text embeddings from."""
    import torch

    from .text.alphabet import clean_caption
    from .text.zero_shot import embed_captions
    from .train.gan_data import pool_sampler

    flat = [clean_caption(c) for group in captions_per_image for c in group]
    emb = embed_captions(pipe.models["text_encoder"], flat)   # batched: faster than pipe.embed
    counts = torch.tensor([len(g) for g in captions_per_image], dtype=torch.long)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    return pool_sampler(emb, offsets)


def with_style_encoder(pipe, style_encoder):
    """Give ``pipe`` a (freshly trained) style encoder S; returns ``pipe``."""
    pipe.models["style_encoder"] = style_encoder.eval().requires_grad_(False)
    pipe.configs["style_encoder"] = style_encoder.cfg
    return pipe


def style_roc(pipe, *, n_images: int = 200, clusters: int = 20, seed: int = 0) -> dict:
    """§5.2 for ``pipe``'s style encoder on fresh renders of test classes, through
    ``eval.evaluate.roc_section``: ``{"pose": {...}, "background": {...}}`` each with
    ``fpr``, ``tpr``, ``auc``, plus ``"summary"`` (the section's numbers)."""
    import numpy as np

    from .eval.evaluate import Nets, roc_section
    from .eval.sources import EvalSource

    real = EvalSource(None).real(n_images, np.random.default_rng([seed, 0]))
    curves: dict = {}
    summary = roc_section(Nets(pipe), real, {"roc_images": n_images, "clusters": clusters}, seed, curves)
    return {**curves, "summary": summary}


# ----------------------------------------------------------------------------- pictures
def png_bytes(image) -> bytes:
    """A PIL image or a matplotlib figure as PNG bytes (for ``ipywidgets.Image`` and simulated
    uploads)."""
    buf = io.BytesIO()
    if hasattr(image, "savefig"):
        image.savefig(buf, format="png", bbox_inches="tight")
    else:
        image.save(buf, format="PNG")
    return buf.getvalue()


def uploaded_image(upload):
    """The first file of an ``ipywidgets.FileUpload`` as an RGB PIL image, or ``None``."""
    from .data.images import open_image

    files = list(upload.value or ())
    if not files:
        return None
    return open_image(bytes(files[0]["content"]))


def trace_shapes(module, *inputs, names=None) -> list[tuple[str, tuple]]:
    """Run ``module(*inputs)`` once (no grad, buffers untouched) and return ``(stage, output
    shape)`` in call order. ``names``: the sub-modules to watch (default: the stages of
    ``blocks`` / ``trunk`` and the ``text_proj`` / ``head`` / ``out`` parts that exist)."""
    import torch

    from .train.standing_stats import frozen_buffers

    if names is None:
        names = []
        for prefix in ("text_proj", "trunk", "blocks", "head", "out"):
            part = getattr(module, prefix, None)
            if part is not None:
                kids = [f"{prefix}.{n}" for n, _ in part.named_children()]
                names += kids if prefix in ("trunk", "blocks") and kids else [prefix]
    parts = dict(module.named_modules())
    rows, hooks = [], []
    for name in names:
        def hook(m, i, o, name=name):
            o = o[0] if isinstance(o, (tuple, list)) else o
            rows.append((name, tuple(o.shape)))
        hooks.append(parts[name].register_forward_hook(hook))
    try:
        with torch.no_grad(), frozen_buffers(module):
            out = module(*inputs)
    finally:
        for h in hooks:
            h.remove()
    rows.append(("output", tuple(out.shape)))
    return rows


def rows_figure(rows, *, row_labels=(), col_labels=(), title=None, scale: float = 1.1):
    """A matplotlib figure of image rows (like the paper's interpolation figures)."""
    from matplotlib.figure import Figure

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = Figure(figsize=(scale * n_cols + (2.8 if row_labels else 0.2), scale * n_rows + 0.6))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(row):
                ax.imshow(row[c])
            else:
                ax.axis("off")
            if r == 0 and c < len(col_labels):
                ax.set_title(_wrap(col_labels[c], max(8, int(14 * scale)), 4), fontsize=7)
        if r < len(row_labels):
            axes[r][0].set_ylabel(_wrap(row_labels[r]), rotation=0, ha="right", va="center", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 34, lines: int = 3) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)[:lines])


class LivePlot:
    """Loss curves redrawn in place in a notebook output (``IPython.display`` handle)."""

    def __init__(self, keys, *, title: str = "losses", every: int = 1):
        from IPython.display import display
        from matplotlib.figure import Figure

        self.keys, self.every, self.steps = list(keys), max(1, int(every)), []
        self.values = {k: [] for k in self.keys}
        self.fig = Figure(figsize=(7.5, 3.2))
        self.ax = self.fig.subplots()
        self.title = title
        self.handle = display(self.fig, display_id=True)

    def update(self, step: int, stats: dict, *, force: bool = False) -> None:
        self.steps.append(step)
        for k in self.keys:
            self.values[k].append(float(stats.get(k, float("nan"))))
        if force or step % self.every == 0:
            self.redraw()

    def redraw(self) -> None:
        self.ax.clear()
        for k in self.keys:
            self.ax.plot(self.steps, self.values[k], label=k)
        self.ax.set(xlabel="step", title=f"{self.title} (step {self.steps[-1] if self.steps else 0})")
        self.ax.grid(alpha=0.3)
        self.ax.legend(fontsize=8, ncol=3)
        self.fig.tight_layout()
        if self.handle is not None:
            self.handle.update(self.fig)
