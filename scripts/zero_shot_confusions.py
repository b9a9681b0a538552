"""Which attributes do the zero-shot mistakes of a SynthBirds text encoder get wrong?

    python scripts/zero_shot_confusions.py RUN/weights --data data/synthbirds [--split test]

Classifies every image of the split's unseen classes as ``train-text`` does (argmax over the
class-averaged caption embeddings, Reed et al. CVPR 2016) and counts, for each mistake, the
attributes in which the predicted class differs from the true one. It also prints, per
attribute, the mean cosine between the caption prototypes of two classes that differ only in
that attribute ("twins"): near 1 means φ hardly encodes the attribute.
Needs a weights folder with both ``text_encoder`` and ``image_encoder`` (a ``train-text`` run).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("weights", help="train-text weights folder (RUN/weights)")
    ap.add_argument("--data", required=True, help="SynthBirds dataset folder")
    ap.add_argument("--split", default="test", choices=["val", "test"], help="unseen classes to use")
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from t2i_core.data.dataset import open_dataset
    from t2i_core.data.synthbirds import CONTENT_KEYS, parse_class
    from t2i_core.errors import UserError
    from t2i_core.text import zero_shot as Z
    from t2i_core.text.loading import load_image_encoder, load_text_encoder
    from t2i_core.text.sje import class_means

    try:
        phi, theta = load_text_encoder(args.weights), load_image_encoder(args.weights)
        index = open_dataset(args.data)
        rows = list(index.indices(args.split))
        names = sorted({index.records[i].class_name for i in rows})
        contents = [parse_class(n) for n in names]
        pos = {n: k for k, n in enumerate(names)}
        captions, cap_labels = Z._split_captions(index, rows, pos, None, 0)
        protos = class_means(Z.embed_captions(phi, captions), torch.as_tensor(cap_labels), len(names))
        images = Z.embed_images(theta, Z.split_images(index, rows, theta.cfg.image_size))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    truth = torch.tensor([pos[index.records[i].class_name] for i in rows])
    pred = (images @ protos.t()).argmax(1)
    wrong = (pred != truth).nonzero().flatten().tolist()
    print(f"{args.split}: {len(names)} classes, {len(rows)} images, zero-shot top-1 "
          f"{1 - len(wrong) / len(rows):.4f} ({len(wrong)} mistakes)")
    diffs = Counter(tuple(k for k in CONTENT_KEYS if contents[pred[i]][k] != contents[truth[i]][k])
                    for i in wrong)
    for keys, n in diffs.most_common():
        print(f"  mistakes differing in {' + '.join(keys)}: {n}")
    unit = F.normalize(protos, dim=1)
    for key in CONTENT_KEYS:
        sims = [float(unit[a] @ unit[b]) for a in range(len(names)) for b in range(a + 1, len(names))
                if [k for k in CONTENT_KEYS if contents[a][k] != contents[b][k]] == [key]]
        if sims:
            print(f"  caption prototypes of {key} twins: mean cosine {sum(sims) / len(sims):.3f} "
                  f"({len(sims)} pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
