"""``python -m t2i_core train-style``: the style encoder S on a trained, frozen G (§4.4)."""

from __future__ import annotations

from pathlib import Path

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
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--amp", default="auto", help="auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or off")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _embedding_pools(args, config, folder, states):
    """(train sampler, held-out sampler or None, description) from the cache of the G's dataset."""
    from ..data.dataset import open_dataset
    from ..errors import UserError
    from ..train.gan_data import pool_sampler, record_embeddings, subset_pool

    root = args.data or config.get("dataset", {}).get("root")
    if not root:
        raise UserError(f"{folder} does not record its dataset: pass --data")
    if not args.data and not Path(root).is_dir():
        raise UserError(f"{folder} was trained on {root}, which is not here: pass --data "
                        "(e.g. make one with `python -m t2i_core make-dataset --out data/synthbirds`)")
    index = open_dataset(root)
    if "text_encoder" in states:
        from ..text.cache import caption_embeddings, default_cache_dir
        from ..text.loading import load_text_encoder

        recorded = config.get("cache_dir")  # another machine's cache path is no default here
        cache = args.cache_dir or (recorded if recorded and Path(recorded).is_dir() else None) \
            or default_cache_dir(index.root)
        emb, offsets = caption_embeddings(load_text_encoder(folder), index, cache,
                                          progress=not args.no_progress)
    else:
        emb, offsets = record_embeddings(index)
    split = config.get("training", {}).get("split", "trainval")
    train = pool_sampler(*subset_pool(emb, offsets, index.indices(split)))
    test_ids = index.indices("test")
    heldout = pool_sampler(*subset_pool(emb, offsets, test_ids)) if test_ids else None
    return train, heldout, {"root": str(index.root), "split": split,
                            "heldout_captions": "test" if test_ids else split}


def run(args) -> int:
    from pathlib import Path

    import torch

    from ..checkpoint import load_state_dict_strict, load_weights, save_weights
    from ..config import GeneratorConfig, from_dict, preset, to_dict
    from ..models import Generator
    from ..train.distributed import pick_device
    from ..train.style_trainer import StyleTrainConfig, StyleTrainer

    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.weights)
    config, states = load_weights(folder)
    if "generator" not in states:
        from ..errors import CheckpointError

        raise CheckpointError(f"{folder} has no generator to train a style encoder on")
    g_cfg = from_dict(GeneratorConfig, config.get("components", {}).get("generator", {}))
    G = Generator(g_cfg)
    load_state_dict_strict(G, states["generator"], "generator")
    s_cfg = preset(args.preset or config.get("training", {}).get("preset", "small"), "style")
    s_cfg.z_dim = g_cfg.z_dim
    train_pool, heldout_pool, data_info = _embedding_pools(args, config, folder, states)
    cfg = StyleTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                           eval_every=args.eval_every, seed=args.seed, amp=args.amp)
    ckpt = (Path(args.out) if args.out else folder) / "style_checkpoint.pt"
    trainer = StyleTrainer(cfg, G, s_cfg, train_pool, heldout_embeddings=heldout_pool,
                           device=pick_device(args.device), checkpoint=ckpt, ckpt_every=args.ckpt_every)
    if args.resume:
        if not ckpt.is_file():
            from ..errors import UserError

            raise UserError(f"--resume: no style checkpoint at {ckpt}")
        print(f"resuming train-style from step {trainer.load_checkpoint()}")
    final = trainer.train(progress=not args.no_progress)
    states["style_encoder"] = trainer.S.state_dict()
    meta = {k: v for k, v in config.items() if k not in ("files", "format_version", "package_version")}
    meta["components"] = {**meta.get("components", {}), "style_encoder": to_dict(s_cfg)}
    meta["style_training"] = {**to_dict(cfg), **data_info, "result": final, "history": trainer.history}
    out = save_weights(Path(args.out) if args.out else folder, states, meta)
    print(f"style encoder: held-out L_style {final['heldout_loss']:.3f} vs {final['baseline_loss']:.3f} "
          f"for predicting 0 ({final['relative']:.1%}); written to {out}")
    return 0
