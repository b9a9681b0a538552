"""What the app shows besides model output: example captions and example renders (SynthBirds or
SynthFlowers, per the model's domain) for the style-transfer and probe tabs, and the About tab
(model card, notebooks)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from .data.domains import get_domain

EXAMPLE_CAPTIONS = [
    "this bird has a red crown, blue wings and a yellow belly with a short beak",
    "a small bird with a black head, white wings and an orange breast and a long bill",
    "this bird is mostly green with a purple crown and a short beak",
    "a bird with grey wing feathers, a brown chest and a long pointed beak",
]
EXAMPLE_CONTENTS = [  # (crown, wing, belly, beak) of the example renders
    ("red", "blue", "yellow", "short"),
    ("black", "white", "orange", "long"),
    ("purple", "green", "green", "short"),
    ("yellow", "grey", "brown", "long"),
]


FLOWER_EXAMPLE_CAPTIONS = [
    "this flower has five round pink petals and a yellow center",
    "a flower with many pointed purple petals and a black center",
    "the petals of this flower are white and pointed, there are eight petals and the stamen are orange",
    "this flower has eight blue petals with rounded tips and a white centre",
]
FLOWER_EXAMPLE_CONTENTS = [  # (petal, center, shape, count) of the example renders
    ("pink", "yellow", "round", "five"),
    ("purple", "black", "pointed", "many"),
    ("white", "orange", "pointed", "eight"),
    ("blue", "white", "round", "eight"),
]
COCO_EXAMPLE_CAPTIONS = [
    "a man riding a wave on top of a surfboard",
    "a red double decker bus driving down a city street",
    "a plate of food with broccoli and rice on a table",
    "a herd of sheep grazing on a green hillside",
]
DOMAIN_WORDS = {"birds": ("bird", "Bird", "SynthBirds"), "flowers": ("flower", "Flower", "SynthFlowers"),
                "coco": ("scene", "Scene", "MS-COCO")}


def domain_of(pipe) -> str:
    """What a pipeline draws: ``flowers`` or ``coco`` when its training data says so, else ``birds``."""
    dataset = (getattr(pipe, "extra", None) or {}).get("dataset") or {}
    if dataset.get("format") == "coco":
        return "coco"
    return "flowers" if dataset.get("domain") == "flowers" else "birds"


def example_captions(domain: str = "birds") -> list[str]:
    return {"flowers": FLOWER_EXAMPLE_CAPTIONS, "coco": COCO_EXAMPLE_CAPTIONS}.get(domain, EXAMPLE_CAPTIONS)


def describe_content(content: dict, domain: str = "birds") -> str:
    if domain == "flowers":
        center = content["center"]
        article = "an" if center[0] in "aeiou" else "a"
        return (f"this flower has {content['count']} {content['shape']} {content['petal']} petals "
                f"and {article} {center} center")
    belly = content["belly"]
    article = "an" if belly[0] in "aeiou" else "a"
    return (f"this bird has a {content['crown']} crown, {content['wing']} wings and {article} "
            f"{belly} belly with a {content['beak']} beak")


def example_renders(folder, seed: int = 0, domain: str = "birds") -> list[tuple[str, str, str]]:
    """Write a few renders of ``domain`` as PNGs → [(path, true caption, probe captions)].

    Returns [] when the domain has no renderer (MS-COCO: the app then just has no image
    examples)."""
    if domain not in ("birds", "flowers"):
        return []
    d = get_domain(domain)
    data = d.data
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = FLOWER_EXAMPLE_CONTENTS if domain == "flowers" else EXAMPLE_CONTENTS
    contents = [dict(zip(d.content_keys, c)) for c in table]
    out = []
    for i, content in enumerate(contents):
        style = data.sample_style(np.random.default_rng(seed + i))
        path = folder / f"synth{DOMAIN_WORDS[domain][0]}_{'_'.join(content.values())}_{i}.png"
        Image.fromarray(data.render(content, style)).save(path)
        describe = [describe_content(contents[(i + k) % len(contents)], domain) for k in (0, 1, 2, 3)]
        out.append((str(path), describe[0], "\n".join(describe)))
    return out


def demote_headings(markdown: str, levels: int) -> str:
    """Every heading ``levels`` deeper ("# A" → "### A" for 2), code blocks left alone, so a
    document fits under the page's own headings."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


# documents the About tab links to (served read-only by the app: ``launch(allowed_paths=...)``)
DOC_FOLDERS = ("reports", "weights", "notebooks", "benchmarks", "scripts")
DOC_SUFFIXES = (".md", ".json", ".png", ".txt", ".ipynb", ".sh", ".py", ".gif")


def doc_paths(root) -> list[str]:
    """The folders whose documents the About tab links to."""
    return [str(Path(root) / d) for d in DOC_FOLDERS if (Path(root) / d).is_dir()]


def link_files(markdown: str, root) -> str:
    """Every `` `path` `` naming a document of the repository (under ``DOC_FOLDERS``) becomes a
    link the app serves; anything else, and code blocks, stay as they are."""
    root = Path(root).resolve()

    def link(m):
        rel = m.group(1).rstrip("/")
        path = (root / rel).resolve()
        if (not path.is_file() or path.suffix not in DOC_SUFFIXES or not path.is_relative_to(root)
                or path.relative_to(root).parts[0] not in DOC_FOLDERS):
            return m.group(0)
        return f"[`{rel}`](/gradio_api/file={path})"

    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else re.sub(r"(?<!\[)`([\w./-]+)`", link, line))
    return "\n".join(out)


def model_name(pipe) -> str:
    """What the page calls the loaded model: its weights folder's name and recipe, never the
    server's path ("synthbirds (small, fast recipe, 5,000 steps)")."""
    if pipe.random_weights:
        return "random-weight tiny model"
    info = pipe.describe()
    training = info.get("training") or {}
    details = [training.get("preset")]
    details += [f"{training['recipe']} recipe"] if training.get("recipe") else []
    step = training.get("final_step")
    details += [f"{step:,} steps"] if isinstance(step, int) else []
    name = Path(str(info["source"])).name or "unnamed weights"
    details = [d for d in details if d]
    return f"{name} ({', '.join(details)})" if details else name


def about_markdown(pipe, repo_root=None) -> str:
    """The About tab: what the model is, its model card, the notebooks."""
    root = Path(repo_root) if repo_root else Path(__file__).resolve().parent.parent
    info = pipe.describe()
    parts = ["## About\n",
             "GAN-CLS Explorer re-implements *Generative Adversarial Text to Image Synthesis* "
             "(Reed et al., ICML 2016): a char-CNN-RNN text encoder φ, a generator G(z, φ(t)), "
             "a matching-aware discriminator D(x, φ(t)) (GAN-CLS, §4.2; the paper's GAN-INT-CLS "
             "also trains on interpolated captions, §4.3), and a style encoder S(x) → z for "
             "style transfer (§4.4).\n",
             f"**Weights:** {model_name(pipe)}"]
    if info["random_weights"]:
        parts[-1] += " — random weights: images are noise-like until trained weights are loaded."
    comps = info["components"]
    nets = [f"text encoder φ → {comps['text_encoder']['embed_dim']}-d",
            f"G (z {comps['generator']['z_dim']}-d, ngf {comps['generator']['ngf']})"]
    nets += [f"D (ndf {comps['discriminator']['ndf']})"] if "discriminator" in comps else []
    nets += [f"S (ndf {comps['style_encoder']['ndf']})"] if "style_encoder" in comps else []
    parts.append("\n**Networks:** " + ", ".join(nets) + ".")
    candidates = [root / "weights" / "MODEL_CARD.md"]
    if not info["random_weights"]:
        candidates.insert(0, Path(info["source"]) / "MODEL_CARD.md")
    card = next((p for p in candidates if p.is_file()), None)
    if card is not None:
        text = demote_headings(card.read_text(encoding="utf-8", errors="replace")[:20000], 2)
        text = link_files(text, root)
        parts.append("\n" + (text if text.lstrip().startswith("#") else "### Model card\n\n" + text))
    else:
        parts.append("\n*No model card yet (weights/MODEL_CARD.md).*")
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if notebooks:
        parts.append("\n### Notebooks\n")
        for nb in notebooks:
            title = nb.stem
            try:
                cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
                md = next(c for c in cells if c.get("cell_type") == "markdown")
                first = "".join(md.get("source", [])).strip().splitlines()[0]
                title = first.lstrip("# ").strip() or title
            except (ValueError, StopIteration, IndexError, OSError, AttributeError):
                pass
            parts.append(f"- `notebooks/{nb.name}` — {title}")
    parts.append("\n### API\n\nEvery tab is an endpoint usable from `gradio_client`: `/generate`, "
                 "`/interpolate_text`, `/interpolate_noise`, `/style_transfer`, `/match_scores` "
                 "(see “Use via API” at the bottom of the page). `/style_transfer` takes the image "
                 "editor's value: `{\"background\": handle_file(path), \"layers\": [], "
                 "\"composite\": None}`.")
    return "\n".join(parts)
