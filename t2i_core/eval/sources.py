"""Where ``evaluate`` gets real images and captions of the unseen (test) classes.

SynthBirds and SynthFlowers are procedural, so evaluation does not need the dataset on disk: by
default the test classes are ``make_splits(S)["test"]`` of the weights' domain (birds unless
their config says ``dataset.domain``), S the seed ``make-dataset`` used for the training data
(``train`` records it as ``dataset.synthbirds_seed`` / ``synthflowers_seed``; when unknown,
S = 0, its default, and ``warnings`` says so), captions come from ``make_captions`` and real
images from ``render`` with a fresh ``sample_style`` — every truth is known. With ``data`` (a
dataset folder or a ``DataIndex``), the test split's own captions and images are used; real
images then need ``attributes.jsonl`` (SynthBirds, SynthFlowers) for the style metrics,
otherwise those metrics are skipped.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..data.captions import parse_caption
from ..data.dataset import DataIndex, load_image_array, open_dataset
from ..data.domains import get_domain
from ..data.flower_captions import parse_flower_caption
from ..errors import UserError


class RealSet(SimpleNamespace):
    """Real images with their truth: ``images`` uint8 [N, 64, 64, 3], ``contents``, ``styles``."""


class EvalSource:
    """Test-class captions and real images, procedural (``data=None``) or from a dataset."""

    def __init__(self, data=None, dataset_info: dict | None = None, split: str = "test"):
        """``split``: whose classes to draw from; ``test`` (unseen in training) for every figure
        of ``evaluate``, ``train`` for diagnostics on seen classes."""
        if split not in ("train", "val", "test"):
            raise UserError(f"split must be train, val or test, got {split!r}")
        self.index, self.warnings = None, []
        if data is None:
            self.domain = get_domain((dataset_info or {}).get("domain") or "birds")
            seed = (dataset_info or {}).get(seed_key(self.domain.name))
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                seed = 0
                self.warnings.append("the weights do not record which make-dataset seed their training "
                                     "data used: assumed 0 (the default); pass --data to be sure the "
                                     "test classes are unseen")
            self.test_classes = list(self.domain.data.make_splits(seed)[split])
            self.description = f"{self.domain.dataset} procedural ({split} classes of make_splits({seed}))"
            return
        self.index = data if isinstance(data, DataIndex) else open_dataset(data)
        if self.index.format == "coco":
            raise UserError("MS-COCO has no attributes to judge, so there is no text match on it "
                            "(`evaluate --data COCO_ROOT` reports retrieval and a Fréchet distance)")
        self.domain = get_domain(self.index.domain or "birds")  # CUB-like captions otherwise
        self.test_ids = [i for i in self.index.indices(split) if self.index.records[i].captions]
        if not self.test_ids:
            raise UserError(f"the dataset at {self.index.root} has no captioned images in its {split} split")
        self.test_classes = sorted({self.index.records[i].class_name for i in self.test_ids})
        self.description = f"{self.index.root} ({split} split, {len(self.test_ids)} images)"

    @property
    def procedural(self) -> bool:
        return self.index is None

    def mentioned(self, caption: str) -> dict:
        """The content attributes ``caption`` mentions in this source's domain."""
        return mentioned(caption, self.domain.name)

    # ------------------------------------------------------------------ captions
    def captions(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` captions of test classes (one caption per drawn class / image)."""
        if self.procedural:
            data = self.domain.data
            names = [self.test_classes[j] for j in rng.integers(len(self.test_classes), size=n)]
            return [data.make_captions(data.parse_class(c), rng, n=1)[0] for c in names]
        picks = rng.choice(self.test_ids, size=n, replace=len(self.test_ids) < n)
        out = []
        for i in picks:
            caps = self.index.records[int(i)].captions
            out.append(caps[int(rng.integers(len(caps)))])
        return out

    # ------------------------------------------------------------------ real images
    def real(self, n: int, rng: np.random.Generator) -> RealSet | None:
        """``n`` real images of test classes with content and style truth (``None`` when the
        dataset has no ground truth, e.g. CUB)."""
        if self.procedural:
            data = self.domain.data
            images = np.zeros((n, 64, 64, 3), np.uint8)
            contents, styles = [], []
            for k in range(n):
                content = data.parse_class(self.test_classes[int(rng.integers(len(self.test_classes)))])
                style = data.sample_style(rng)
                images[k] = data.render(content, style, size=64)
                contents.append(content)
                styles.append(style)
            return RealSet(images=images, contents=contents, styles=styles)
        return self._real_from_index(n, rng)

    def _real_from_index(self, n, rng):
        with_truth = [i for i in self.test_ids if self.index.attributes(i)]
        if not with_truth:
            return None
        picks = [int(i) for i in rng.choice(with_truth, size=min(n, len(with_truth)), replace=False)]
        images, ok = load_image_array(self.index, picks, 64, workers=1, progress=False, return_ok=True)
        picks = [p for p, good in zip(picks, ok) if good]
        attrs = [self.index.attributes(i) for i in picks]
        return RealSet(images=images[ok], contents=[a["content"] for a in attrs],
                       styles=[a["style"] for a in attrs])

    # ------------------------------------------------------------------ zero-shot
    def zero_shot_index(self, n_classes: int | None, images_per_class: int, rng):
        """(index, images) for ``text.zero_shot.zero_shot_eval`` on the test split: the dataset
        itself, or an in-memory stand-in holding renders and ``make_captions`` of test classes."""
        if not self.procedural:
            return self._zero_shot_subset(n_classes, images_per_class, rng)
        data = self.domain.data
        make_captions, parse_class, render, sample_style = (
            data.make_captions, data.parse_class, data.render, data.sample_style)
        names = list(self.test_classes)
        if n_classes is not None and n_classes < len(names):
            names = sorted(rng.choice(names, size=n_classes, replace=False).tolist())
        records, images = [], []
        for name in names:
            content = parse_class(name)
            for _ in range(images_per_class):
                records.append(SimpleNamespace(class_name=name, split="test",
                                               captions=make_captions(content, rng, n=10)))
                images.append(render(content, sample_style(rng), size=64))
        return _MemoryIndex(records), np.stack(images)


    def _zero_shot_subset(self, n_classes, images_per_class, rng):
        """The whole test split (``n_classes`` None), else a few images of a few test classes."""
        if n_classes is None or n_classes >= len(self.test_classes):
            return self.index, None
        names = set(rng.choice(self.test_classes, size=n_classes, replace=False).tolist())
        picked, per = [], {}
        for i in self.test_ids:
            name = self.index.records[i].class_name
            if name in names and per.get(name, 0) < images_per_class:
                per[name] = per.get(name, 0) + 1
                picked.append(i)
        images, ok = load_image_array(self.index, picked, 64, workers=1, progress=False, return_ok=True)
        records = [self.index.records[i] for i, good in zip(picked, ok) if good]
        return _MemoryIndex(records), images[ok]


class _MemoryIndex:
    """The part of ``DataIndex`` that ``zero_shot_eval`` reads."""

    def __init__(self, records):
        self.records = records
        self.root = "<procedural>"

    def indices(self, split: str) -> list[int]:
        return [i for i, r in enumerate(self.records) if split in ("all", r.split)]



def seed_key(domain: str) -> str:
    """Where ``train`` records a procedural dataset's seed: ``synthbirds_seed``, ``synthflowers_seed``."""
    return f"synth{domain}_seed"


def mentioned(caption: str, domain: str = "birds") -> dict:
    """The content attributes a caption mentions, ``{key: value}`` (grey/gray folded)."""
    if domain == "flowers":
        return parse_flower_caption(caption)
    found = parse_caption(caption) or {}
    return {k: ("grey" if v == "gray" else v) for k, v in dict(found).items() if v is not None}
