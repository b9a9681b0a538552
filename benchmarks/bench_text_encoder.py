"""φ's training cost: forward + backward of the char-CNN-RNN on a DS-SJE batch.

    python benchmarks/bench_text_encoder.py [--preset small] [--batch 128] [--rounds 10] [--threads 1]

Times ``CharCNNRNN.forward`` (look-up first conv, padding computed once per stage as a tail
vector) against ``reference_forward`` (the literal one-hot → Conv1d over all 201 positions) on
the same weights and batches of SynthBirds captions, alternating the two so load on a shared box
hits both alike. Prints median wall and CPU milliseconds per batch and the speed-up; the test
suite checks the two compute the same outputs and gradients.
"""

from __future__ import annotations

import argparse
import json
import random
import sys


from common import alternate, machine_info, median, print_machine


def caption_batches(n_batches: int, batch: int, seed: int = 0):
    """Char-id batches of SynthBirds captions (random classes, one caption each)."""
    import torch

    from t2i_core.data.captions import make_captions
    from t2i_core.data.synthbirds import CONTENT_KEYS, VALUES
    from t2i_core.text.alphabet import encode_batch

    rnd = random.Random(seed)
    out = []
    for _ in range(n_batches):
        caps = [make_captions({k: rnd.choice(VALUES[k]) for k in CONTENT_KEYS}, rnd, n=1)[0]
                for _ in range(batch)]
        out.append(torch.from_numpy(encode_batch(caps)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="small", choices=("tiny", "small", "reed"))
    p.add_argument("--batch", type=int, default=128, help="captions per batch (small preset: 32 × 4)")
    p.add_argument("--rounds", type=int, default=10, help="timed batches per variant")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    import torch

    from t2i_core.config import preset
    from t2i_core.text.char_cnn_rnn import CharCNNRNN, reference_forward

    torch.set_num_threads(args.threads)
    info = machine_info()
    if not args.json:
        print_machine(info)
    torch.manual_seed(0)
    phi = CharCNNRNN(preset(args.preset, "text"))
    batches = caption_batches(args.rounds + 1, args.batch)
    longest = max(int((b != 0).sum(1).max()) for b in batches)
    say = (lambda *a: None) if args.json else print
    say(f"φ {args.preset}: {args.batch} captions per batch, longest {longest} of {phi.cfg.max_len} characters")

    def step(forward):  # one warm-up call, then ``rounds`` timed calls: each sees every batch once
        batch = iter(batches)

        def run():
            phi.zero_grad(set_to_none=True)
            forward(next(batch)).sum().backward()
        return run

    raw = alternate({"tail": step(phi), "literal": step(lambda ids: reference_forward(phi, ids))},
                    rounds=args.rounds)
    times = {name: {"median_ms": 1000 * median(t["wall"]), "cpu_median_ms": 1000 * median(t["cpu"])}
             for name, t in raw.items()}
    for name, t in times.items():
        say(f"  {name:8s} forward+backward: {t['median_ms']:7.1f} ms wall, {t['cpu_median_ms']:7.1f} ms CPU")
    speedup = times["literal"]["cpu_median_ms"] / times["tail"]["cpu_median_ms"]
    say(f"  speed-up (CPU): {speedup:.2f}×")
    if args.json:
        print(json.dumps({"machine": info, "preset": args.preset, "batch": args.batch,
                          "longest_caption": longest, "times": times, "speedup_cpu": speedup}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
