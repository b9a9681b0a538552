"""Training-step throughput: the trainer's step against a plain reference step.

    python benchmarks/bench_train.py [--presets small reed] [--batch 64] [--rounds 5] [--ablation]

GAN-INT-CLS at batch 64 on random data of the trainer's shape (uint8 76×76 images, 4 caption
embeddings of 1024-d per image, so batch preparation is timed too). Two steps, in one process,
alternating round by round (the order rotates), each from its own copy of the same initial
weights:

* ``reference`` — ``t2i_core.train.reference_step.ReferenceStep``, on purpose plain (pytorch/examples dcgan style): fp32, default
  (NCHW) memory format, three separate D calls in the D step (s_r = D(x, h), s_w = D(x, ĥ),
  s_f = D(x̂, h)), D's parameter gradients computed (and discarded) in the G step, the default
  Adam (for-loop on CPU), no compile.
* ``trainer`` — ``Trainer.train_step()`` exactly as ``python -m t2i_core train`` runs it, with its
  default levers (see benchmarks/README.md).

``--ablation`` adds the levers one at a time (and opt-in ones: fused Adam, one thread,
torch.compile, bf16 autocast), so every gain is attributed. Figures: median wall seconds per step
→ images/s, the median process CPU seconds per step (less sensitive to other load), and the
ratio to the reference. The machine was shared: read the load average printed with them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path


from common import alternate, has_native_bf16, load_average, machine_info, median, print_machine

from t2i_core.train.reference_step import ReferenceStep

EMBED_DIM = 1024


# ---------------------------------------------------------------------------------------------
# Data and models
# ---------------------------------------------------------------------------------------------
def random_data(n: int = 256, embed_dim: int = EMBED_DIM, captions: int = 4, seed: int = 0):
    """A ``GANData`` of random uint8 76×76 images and caption embeddings (the trainer's input)."""
    import torch

    from t2i_core.train.gan_data import from_arrays

    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 76, 76, 3), dtype=torch.uint8, generator=g)
    offsets = torch.arange(n + 1) * captions
    return from_arrays(images, torch.randn(captions * n, embed_dim, generator=g), offsets,
                       torch.arange(n) % 50)


def train_config(preset: str, batch: int, **kw):
    from t2i_core.train.gan_config import GANTrainConfig

    base = dict(variant="gan-int-cls", preset=preset, batch_size=batch, steps=10**9, sample_every=0,
                ckpt_every=0, log_every=0, diverge_patience=0, device="cpu")
    return GANTrainConfig(**{**base, **kw})


def make_trainer(cfg, data, run_dir):
    from t2i_core.train.gan_trainer import Trainer

    return Trainer(cfg, data, run_dir, progress=False)


def plain_copy(module):
    """A copy of ``module`` in plain PyTorch: every parameter and buffer in the default (NCHW)
    layout, and G's matmul first layer (``Project4x4``) as the ``ConvTranspose2d`` it computes."""
    import torch

    from t2i_core.models.generator import Project4x4

    m = copy.deepcopy(module)
    for parent in list(m.modules()):  # G's first layer back to a plain ConvTranspose2d
        for name, child in list(parent.named_children()):
            if isinstance(child, Project4x4):
                setattr(parent, name, child.as_conv_transpose())
    for t in list(m.parameters()) + list(m.buffers()):
        t.data = t.data.contiguous()
    return m.to(memory_format=torch.contiguous_format)


# ---------------------------------------------------------------------------------------------
# Variants: zero-argument callables that run one step (batch preparation included)
# ---------------------------------------------------------------------------------------------
def _batch_fn(data, batch: int, channels_last: bool):
    import torch

    from t2i_core.train.gan_data import EpochSampler, next_batch

    sampler = EpochSampler(len(data), batch)

    def get():
        out = next_batch(data, sampler)
        if channels_last:
            out["images"] = out["images"].contiguous(memory_format=torch.channels_last)
        return out
    return get


def reference_variant(tr, data, batch: int, *, channels_last: bool = False, **adam_kw):
    import torch

    G, D = plain_copy(tr.G), plain_copy(tr.D)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    step, get = ReferenceStep(G, D, **adam_kw), _batch_fn(data, batch, channels_last)
    return lambda: step(get())


def gan_step_variant(tr, data, batch: int, *, channels_last: bool, adam_kw=None, compile_models=False,
                     amp: str | None = None):
    """The trainer's ``gan_step`` (shared D trunk, D frozen in the G step) on copies of its models."""
    import contextlib

    import torch

    from t2i_core.train.gan_step import gan_step

    G, D = plain_copy(tr.G), plain_copy(tr.D)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    kw = dict(lr=2e-4, betas=(0.5, 0.999), **(adam_kw or {}))
    opt_g, opt_d = torch.optim.Adam(G.parameters(), **kw), torch.optim.Adam(D.parameters(), **kw)
    Gs, Ds = (torch.compile(G), torch.compile(D)) if compile_models else (G, D)
    if compile_models:  # gan_step reads .cfg through unwrap(); the compiled wrapper forwards it
        Gs.cfg, Ds.cfg = G.cfg, D.cfg
    get, opts = _batch_fn(data, batch, channels_last), tr.step_options

    def run():
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if amp == "bf16" else contextlib.nullcontext()
        with ctx:
            return gan_step(Gs, Ds, opt_g, opt_d, get(), opts)
    return run


def with_threads(fn, n: int):
    import torch

    def run():
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn()
        finally:
            torch.set_num_threads(old)
    return run


def build_variants(tr, data, batch: int, ablation: bool, extra: list[str]) -> dict:
    v = {"reference": reference_variant(tr, data, batch), "trainer": tr.train_step}
    if ablation:
        v["ref+channels_last"] = reference_variant(tr, data, batch, channels_last=True)
        v["gan_step NCHW"] = gan_step_variant(tr, data, batch, channels_last=False)
        v["gan_step channels_last"] = gan_step_variant(tr, data, batch, channels_last=True)
    if "foreach" in extra:
        v["gan_step cl+foreach Adam"] = gan_step_variant(tr, data, batch, channels_last=True,
                                                         adam_kw={"foreach": True})
    if "fused" in extra:
        v["gan_step cl+fused Adam"] = gan_step_variant(tr, data, batch, channels_last=True,
                                                       adam_kw={"fused": True})
    if "threads1" in extra:
        v["trainer, 1 thread"] = with_threads(tr.train_step, 1)
    if "compile" in extra:
        v["gan_step cl+compile"] = gan_step_variant(tr, data, batch, channels_last=True, compile_models=True)
    if "bf16" in extra:
        v["gan_step NCHW+bf16"] = gan_step_variant(tr, data, batch, channels_last=False, amp="bf16")
    return v


# ---------------------------------------------------------------------------------------------
class _Float64Input(__import__("torch").nn.Module):
    """G in float64 that takes float32 z (so the fp64 run draws the same noise)."""

    def __init__(self, g):
        super().__init__()
        self.g, self.cfg = g, g.cfg

    def forward(self, z, h):
        return self.g(z.double(), h)


def _grad_error(model, truth) -> float:
    """Largest relative gradient difference, tensor by tensor (‖g − g_true‖ / ‖g_true‖)."""
    return max(float((p.grad.double() - q.grad.double()).norm() / q.grad.double().norm())
               for p, q in zip(model.parameters(), truth.parameters()))


def check_equivalence(preset: str, batch: int) -> dict:
    """One step of ``Trainer.train_step``, of the fp32 reference and of the reference in float64,
    from the same weights, batch and RNG state: loss differences, and G's gradient (of the G step)
    against the float64 one — the trainer's levers should add no error beyond fp32's own."""
    import torch

    from t2i_core.train.gan_data import next_batch

    data = random_data()
    with tempfile.TemporaryDirectory() as tmp:
        tr = make_trainer(train_config(preset, batch), data, Path(tmp) / "run")
        G, D = plain_copy(tr.G), plain_copy(tr.D)
        G64, D64 = plain_copy(tr.G).double(), plain_copy(tr.D).double()
        sampler, sampler64 = copy.deepcopy(tr.sampler), copy.deepcopy(tr.sampler)
        rng = torch.get_rng_state()
        out = tr.train_step()
        torch.set_rng_state(rng)
        out_ref = ReferenceStep(G, D)(next_batch(data, sampler))
        torch.set_rng_state(rng)
        b64 = {k: v.double() for k, v in next_batch(data, sampler64).items()}
        out64 = ReferenceStep(_Float64Input(G64), D64)(b64)
    return {"preset": preset, "d_loss_diff": abs(out["d_loss"] - out_ref["d_loss"]),
            "g_loss_diff": abs(out["g_loss"] - out_ref["g_loss"]),
            "g_loss_err_trainer": abs(out["g_loss"] - out64["g_loss"]),
            "g_loss_err_reference": abs(out_ref["g_loss"] - out64["g_loss"]),
            "g_grad_err_trainer": _grad_error(tr.G, G64), "g_grad_err_reference": _grad_error(G, G64),
            "g_grad_diff": _grad_error(tr.G, G)}


def bench_preset(preset: str, args) -> dict:
    import torch

    torch.manual_seed(0)
    data = random_data()
    with tempfile.TemporaryDirectory() as tmp:
        tr = make_trainer(train_config(preset, args.batch), data, Path(tmp) / "run")
        fns = build_variants(tr, data, args.batch, args.ablation, args.extra)
        load_before = load_average()
        times = alternate(fns, rounds=args.rounds, calls=args.calls, warmup=args.warmup)
    ref_wall = median(times["reference"]["wall"])
    ref_cpu = median(times["reference"]["cpu"])
    rows = {}
    for name, t in times.items():
        wall, cpu = median(t["wall"]), median(t["cpu"])
        rows[name] = {"s_per_step": round(wall, 4), "images_per_s": round(args.batch / wall, 1),
                      "cpu_s_per_step": round(cpu, 4), "speedup": round(ref_wall / wall, 3),
                      "cpu_speedup": round(ref_cpu / cpu, 3), "n": len(t["wall"]),
                      "wall_all": [round(x, 4) for x in t["wall"]]}
    return {"preset": preset, "batch": args.batch, "rounds": args.rounds, "calls": args.calls,
            "load_avg_before": load_before, "load_avg_after": load_average(), "variants": rows}


def print_result(res: dict) -> None:
    print(f"\n{res['preset']}: GAN-INT-CLS, batch {res['batch']}, {res['rounds']} rounds × "
          f"{res['calls']} steps per variant, alternating; load average {res['load_avg_before']} → "
          f"{res['load_avg_after']}")
    print(f"  {'variant':28s} {'s/step':>8s} {'img/s':>8s} {'×ref':>7s} {'cpu s':>8s} {'cpu ×ref':>8s}")
    for name, r in res["variants"].items():
        print(f"  {name:28s} {r['s_per_step']:8.3f} {r['images_per_s']:8.1f} {r['speedup']:7.2f} "
              f"{r['cpu_s_per_step']:8.3f} {r['cpu_speedup']:8.2f}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--presets", nargs="+", default=["small", "reed"], choices=["tiny", "small", "reed"])
    p.add_argument("--batch", type=int, default=64, help="images per step (default 64, §5)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    p.add_argument("--calls", type=int, default=2, help="timed steps per variant per round (default 2)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant first (default 1)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--ablation", action="store_true",
                   help="also time the levers one by one (reference+channels_last, gan_step NCHW / channels_last)")
    p.add_argument("--extra", nargs="*", default=[],
                   choices=["foreach", "fused", "threads1", "compile", "bf16"],
                   help="opt-in levers to time as well (compile: minutes of compilation first; "
                        "bf16: very slow on CPUs without AVX-512 BF16 / AMX)")
    p.add_argument("--check", action="store_true",
                   help="first compare one trainer step with one reference step (losses, weights)")
    p.add_argument("--check-only", action="store_true", help="only the comparison of --check, no timing")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    if "bf16" in args.extra and not has_native_bf16():
        print("note: this CPU has no AVX-512 BF16 / AMX: bf16 autocast runs emulated kernels", file=sys.stderr)
    checks = [check_equivalence(p, args.batch) for p in args.presets] if (args.check or args.check_only) else []
    results = [] if args.check_only else [bench_preset(p, args) for p in args.presets]
    if args.json:
        print(json.dumps({"machine": info, "checks": checks, "results": results}, indent=1))
        return 0
    print_machine(info)
    for c in checks:
        print(f"check {c['preset']}: one step from the same weights, batch and noise — trainer vs fp32 "
              f"reference: |Δ d_loss| {c['d_loss_diff']:.1e}, |Δ g_loss| {c['g_loss_diff']:.1e}, G's "
              f"gradient {c['g_grad_diff']:.1e} (relative); error against the float64 reference: g_loss "
              f"{c['g_loss_err_trainer']:.1e} (trainer) / {c['g_loss_err_reference']:.1e} (fp32 reference), "
              f"G's gradient {c['g_grad_err_trainer']:.1e} / {c['g_grad_err_reference']:.1e}")
    for res in results:
        print_result(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
