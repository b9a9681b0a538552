"""``python -m t2i_core train-style``: the style encoder S on a trained, frozen G (§4.4)."""

from __future__ import annotations

HELP = ("Train the style encoder S (image -> z) on the frozen generator of a weights folder with "
        "L_style = ||z - S(G(z, phi(t)))||^2, report the loss on held-out z, and add "
        "style_encoder to the weights folder.")


def add_arguments(p) -> None:
    p.add_argument("--weights", required=True, help="weights folder from `train` (RUN/weights)")
    p.add_argument("--out", help="write the complete weights folder (with style_encoder) here "
                                 "instead of updating --weights in place")
    p.add_argument("--data", help="dataset folder for the training captions (default: the one "
                                  "recorded in the weights folder)")
    p.add_argument("--cache-dir", help="caption-embedding cache (default: the one used by `train`)")
    p.add_argument("--steps", type=int, default=3000, help="training steps")
    p.add_argument("--batch-size", type=int, default=64, help="G samples per step")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    p.add_argument("--eval-every", type=int, default=250, help="held-out loss every N steps")
    p.add_argument("--ckpt-every", type=int, default=250,
                   help="save OUT/style_checkpoint.pt every N steps (0 = only at the end and on Ctrl-C)")
    p.add_argument("--resume", action="store_true",
                   help="continue exactly from the style_checkpoint.pt in --out (or --weights)")
    p.add_argument("--preset", choices=("tiny", "small", "reed"),
                   help="S's size (default: the preset G was trained with)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--augment", action="store_true",
                   help="train S on photo-like degradations of G's samples (crop/shift, colour jitter "
                        "without hue, blur, noise, JPEG) so it also reads photographs; off = the paper")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--amp", default="auto", help="auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or off")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    import torch

    from ..train.style_trainer import StyleTrainConfig, train_style

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = StyleTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                           eval_every=args.eval_every, seed=args.seed, amp=args.amp, augment=args.augment)
    final = train_style(args.weights, cfg, out=args.out, data=args.data, cache_dir=args.cache_dir,
                        preset=args.preset, device=args.device, ckpt_every=args.ckpt_every,
                        resume=args.resume, progress=not args.no_progress)
    print(f"style encoder: held-out L_style {final['heldout_loss']:.3f} vs {final['baseline_loss']:.3f} "
          f"for predicting 0 ({final['relative']:.1%}); written to {final['weights']}")
    return 0
