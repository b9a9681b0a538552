"""Builders of tiny datasets in the three real formats (the real ones cannot be downloaded here).

- ``make_cub_cvpr``: Reed's cvpr2016 CUB flavour, ``images/<class>/*.jpg`` + ``text_c10``.
- ``make_flowers_cvpr``: the Oxford-102 flavour, ``jpg/image_XXXXX.jpg`` + ``text_c10/class_XXXXX``.
- ``make_cub_icml``: Reed's icml2016 ``cub_icml/<class>/*.t7`` tables next to
  ``CUB_200_2011/images`` (written by ``write_t7``, a minimal Torch7 serializer).
- ``make_hdf5``: the aelnouby port's ``birds.hdf5`` (train/valid/test, one group per caption).

Each plants known problems (see the ``EXPECT`` dicts they return) so tests can check reporting.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from t2i_core.text.alphabet import encode

COLOURS = [(200, 30, 30), (30, 160, 40), (40, 60, 200), (220, 200, 40), (120, 60, 20),
           (90, 90, 90), (240, 120, 0), (150, 0, 150)]
MODES = ["RGB", "L", "CMYK", "RGBA", "P", "I;16"]  # cycled over a fixture's images


# ---------------------------------------------------------------- images

def image_bytes(mode: str, colour=(200, 30, 30), size=(40, 30)) -> tuple[bytes, str]:
    """(encoded bytes, extension) of a small image in ``mode``; JPEG where JPEG can hold it."""
    rgb = Image.new("RGB", size, colour)
    rgb.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (5, 5, 15, 15))
    buf = io.BytesIO()
    if mode in ("RGB", "L", "CMYK"):
        rgb.convert(mode).save(buf, "JPEG", quality=90)
        return buf.getvalue(), ".jpg"
    if mode == "RGBA":
        im = rgb.convert("RGBA")
        im.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent -> white after compositing
        im.save(buf, "PNG")
    elif mode == "P":
        rgb.putpixel((0, 0), (0, 0, 1))  # a colour of its own, made transparent below
        im = rgb.convert("P", palette=Image.ADAPTIVE, colors=8)
        im.save(buf, "PNG", transparency=im.getpixel((0, 0)))
    elif mode == "I;16":
        arr = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        Image.fromarray(arr, mode="I;16").save(buf, "PNG")
    else:
        raise ValueError(mode)
    return buf.getvalue(), ".png"


def truncated_jpeg() -> bytes:
    data, _ = image_bytes("RGB", size=(64, 64))
    return data[: len(data) // 2]


def animated_gif(colours=((255, 0, 0), (0, 0, 255))) -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in colours]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def captions_for(cls: str, n: int = 10) -> list[str]:
    word = cls.split(".")[-1].replace("_", " ").lower()
    return [f"this {word} has feature number {k} and a short beak" for k in range(n)]


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def _split_files(root: Path, splits: dict[str, list[str] | None]) -> None:
    for name, classes in splits.items():
        if classes is not None:
            _write(root / f"{name}classes.txt", "".join(c + "\n" for c in classes))


# ---------------------------------------------------------------- cvpr2016: CUB and Oxford-102

CUB_CLASSES = ["001.Red_Bird", "002.Green_Bird", "003.Blue_Bird", "004.Yellow_Bird",
               "005.Brown_Bird", "006.Grey_Bird"]


def make_cub_cvpr(root, per_class: int = 3) -> dict:
    """CUB flavour. Splits: train 001-003, test 005, val file missing (004 is trainval-only, so
    val), 006 in no split file. Problems: a truncated JPEG, an empty caption file, captions with
    out-of-alphabet text, captions without an image, an image without captions."""
    root = Path(root)
    n = 0
    for c_i, cls in enumerate(CUB_CLASSES):
        for k in range(per_class):
            stem = f"{cls.split('.')[1]}_{k:04d}"
            data, ext = image_bytes(MODES[n % len(MODES)], COLOURS[c_i], size=(40 + 3 * k, 30 + k))
            n += 1
            _write(root / "images" / cls / (stem + ext), data)
            _write(root / "text_c10" / cls / f"{stem}.txt", "\n".join(captions_for(cls)) + "\n")
    _write(root / "images" / CUB_CLASSES[0] / "Red_Bird_0000.jpg", truncated_jpeg())
    _write(root / "text_c10" / CUB_CLASSES[1] / "Green_Bird_0001.txt", "")
    odd = ["Ce Oiseau a une TÊTE rouge 🐦 ™\t\tand wings"] + captions_for(CUB_CLASSES[2])[1:]
    _write(root / "text_c10" / CUB_CLASSES[2] / "Blue_Bird_0002.txt", "\r\n".join(odd) + "\r\n\r\n")
    _write(root / "text_c10" / CUB_CLASSES[3] / "Yellow_Bird_9999.txt", "a bird without a picture\n")
    _write(root / "images" / CUB_CLASSES[4] / "Brown_Bird_8888.jpg", image_bytes("RGB")[0])
    (root / "text_c10" / f"{CUB_CLASSES[0]}.t7").write_bytes(b"")  # Reed ships these; ignored
    _split_files(root, {"all": CUB_CLASSES, "train": CUB_CLASSES[:3], "val": None,
                        "test": [CUB_CLASSES[4]], "trainval": CUB_CLASSES[:4]})
    return {
        "images": len(CUB_CLASSES) * per_class - 1,  # the empty caption file is skipped
        "classes": {"train": 4, "val": 1, "test": 1},
        "corrupt": f"{CUB_CLASSES[0]}/Red_Bird_0000",
        "empty": f"text_c10/{CUB_CLASSES[1]}/Green_Bird_0001.txt",
        "odd": f"{CUB_CLASSES[2]}/Blue_Bird_0002",
        "odd_clean": "ce oiseau a une tete rouge tm and wings",
        "missing_image": f"{CUB_CLASSES[3]}/Yellow_Bird_9999",
        "no_split": CUB_CLASSES[5],
    }


def make_flowers_cvpr(root, n_classes: int = 3, per_class: int = 2) -> dict:
    """Oxford-102 flavour: flat ``jpg/`` folder, ``class_XXXXX`` text folders, valclasses.txt
    empty, an image in grayscale and one in CMYK."""
    root = Path(root)
    classes = [f"class_{c + 1:05d}" for c in range(n_classes)]
    img = 1
    for c_i, cls in enumerate(classes):
        for _ in range(per_class):
            mode = ["RGB", "L", "CMYK"][img % 3]
            data, _ = image_bytes(mode, COLOURS[c_i], size=(50, 40))
            _write(root / "jpg" / f"image_{img:05d}.jpg", data)
            _write(root / "text_c10" / cls / f"image_{img:05d}.txt",
                   "\n".join(f"this flower has {c_i} petals, number {k}" for k in range(10)))
            img += 1
    _split_files(root, {"all": classes, "train": classes[:-1], "val": [], "test": classes[-1:],
                        "trainval": classes[:-1]})
    return {"images": n_classes * per_class, "classes": {"train": n_classes - 1, "val": 0, "test": 1}}


# ---------------------------------------------------------------- icml2016 .t7

class _T7Writer:
    """Torch7 binary serialization (torch7 File.lua writeObject), the subset torchfile reads:
    nil, numbers, booleans, strings, tables (dicts and lists) and Float/Byte/Long tensors."""

    TENSORS = {np.dtype(np.float32): "Float", np.dtype(np.uint8): "Byte",
               np.dtype(np.int64): "Long", np.dtype(np.float64): "Double"}

    def __init__(self, f):
        self.f, self.next_index = f, 1

    def _int(self, v):
        self.f.write(struct.pack("<i", v))

    def _long(self, v):
        self.f.write(struct.pack("<q", v))

    def _string(self, s):
        b = s.encode() if isinstance(s, str) else bytes(s)
        self._int(len(b))
        self.f.write(b)

    def _torch_header(self, class_name):
        self._int(4)  # TYPE_TORCH
        self._int(self.next_index)
        self.next_index += 1
        self._string("V 1")
        self._string(class_name)

    def write(self, obj):
        if obj is None:
            self._int(0)
        elif isinstance(obj, bool):
            self._int(5)
            self._int(int(obj))
        elif isinstance(obj, (int, float)):
            self._int(1)
            self.f.write(struct.pack("<d", float(obj)))
        elif isinstance(obj, (str, bytes)):
            self._int(2)
            self._string(obj)
        elif isinstance(obj, np.ndarray):
            self._tensor(obj)
        elif isinstance(obj, (dict, list)):
            items = obj.items() if isinstance(obj, dict) else enumerate(obj, start=1)
            items = list(items)
            self._int(3)  # TYPE_TABLE
            self._int(self.next_index)
            self.next_index += 1
            self._int(len(items))
            for k, v in items:
                self.write(k)
                self.write(v)
        else:
            raise TypeError(type(obj))

    def _tensor(self, arr):
        arr = np.ascontiguousarray(arr)
        kind = self.TENSORS[arr.dtype]
        self._torch_header(f"torch.{kind}Tensor")
        self._int(arr.ndim)
        for d in arr.shape:
            self._long(d)
        for s in arr.strides:
            self._long(s // arr.itemsize)
        self._long(1)  # storage offset, 1-based
        self._torch_header(f"torch.{kind}Storage")
        self._long(arr.size)
        self.f.write(arr.tobytes())


def write_t7(path, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        _T7Writer(f).write(obj)


def char_tensor(captions: list[str]) -> np.ndarray:
    """Reed's ``char``: 201 x n byte tensor, 1-based alphabet indices, 0-padded."""
    return np.stack([encode(c) for c in captions], axis=1).astype(np.uint8)


def make_cub_icml(base, per_class: int = 2, dim: int = 1024) -> dict:
    """``base/cub_icml/<class>/<stem>.t7`` + ``base/CUB_200_2011/images/<class>/<stem>.jpg``.
    Problems: a garbage .t7 file and a .t7 whose image is missing."""
    base = Path(base)
    root = base / "cub_icml"
    classes = CUB_CLASSES[:4]
    rng = np.random.default_rng(0)
    truth = {}
    for c_i, cls in enumerate(classes):
        for k in range(per_class):
            stem = f"{cls.split('.')[1]}_{k:04d}"
            data, _ = image_bytes(["RGB", "L", "CMYK"][k % 3], COLOURS[c_i])
            _write(base / "CUB_200_2011" / "images" / cls / f"{stem}.jpg", data)
            caps = captions_for(cls)
            caps[1] = "a bird-like thing; with (odd) punctuation: 100% {yes}!"
            emb = rng.standard_normal((10, dim)).astype(np.float32)
            write_t7(root / cls / f"{stem}.t7",
                     {"img": f"{cls}/{stem}.jpg", "txt": emb, "char": char_tensor(caps)})
            truth[f"{cls}/{stem}"] = (caps, emb)
    write_t7(root / classes[0] / "Ghost_0000.t7", {"img": f"{classes[0]}/Ghost_0000.jpg",
                                                   "txt": np.zeros((10, dim), np.float32),
                                                   "char": char_tensor(captions_for(classes[0]))})
    _write(root / classes[1] / "Broken_0000.t7", b"\x07\x00\x00\x00garbage")
    _split_files(root, {"all": classes, "train": classes[:2], "val": classes[2:3],
                        "test": classes[3:], "trainval": classes[:3]})
    _write(root / "trainvalids.txt", "1\n2\n3\n")
    return {"root": root, "truth": truth, "images": len(truth),
            "classes": {"train": 2, "val": 1, "test": 1}}


# ---------------------------------------------------------------- aelnouby hdf5

def make_hdf5(path, per_class: int = 2, dim: int = 1024) -> dict:
    """``birds.hdf5``: train (2 classes), valid (1), test (1); 5 caption groups per image.
    Problems: one item with corrupt image bytes, one caption with out-of-alphabet text."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = {"train": CUB_CLASSES[:2], "valid": CUB_CLASSES[2:3], "test": CUB_CLASSES[3:4]}
    rng = np.random.default_rng(1)
    dt = h5py.special_dtype(vlen=str)
    truth = {}
    with h5py.File(path, "w") as f:
        for split, classes in layout.items():
            grp = f.create_group(split)
            for c_i, cls in enumerate(classes):
                for k in range(per_class):
                    name = f"{cls.split('.')[1]}_{k:04d}"
                    img = image_bytes(MODES[(c_i + k) % 3], COLOURS[c_i])[0]
                    if split == "test" and k == 0:
                        img = truncated_jpeg()
                    caps = [c + "\n" for c in captions_for(cls, 5)]
                    if split == "train" and c_i == 0 and k == 1:
                        caps[2] = "A bird with a Crème crown ©\n"
                    embs = rng.standard_normal((5, dim)).astype(np.float32)
                    for c in range(5):
                        ex = grp.create_group(f"{name}_{c}")
                        ex.create_dataset("name", data=name)
                        ex.create_dataset("img", data=np.void(img))
                        ex.create_dataset("embeddings", data=embs[c])
                        ex.create_dataset("class", data=cls)
                        ex.create_dataset("txt", data=np.array(caps[c], dtype=object), dtype=dt)
                    truth[f"{cls}/{name}"] = (caps, embs)
    return {"path": path, "truth": truth, "images": len(truth),
            "classes": {"train": 2, "val": 1, "test": 1},
            "corrupt": f"{CUB_CLASSES[3]}/{CUB_CLASSES[3].split('.')[1]}_0000"}


def make_coco(root, n_train: int = 24, n_val: int = 12, year: str = "2014") -> dict:
    """A tiny MS-COCO root: SynthBirds renders as JPEGs in trainYYYY/ and valYYYY/, COCO-style
    caption JSON with 5 captions per image (the first two images have 6 and 7), one image listed
    but missing on disk per split, and one malformed caption entry per file."""
    import json
    import random

    from PIL import Image

    from t2i_core.data.synthbirds import make_captions, parse_class, render, sample_style

    root = Path(root)
    rng = np.random.default_rng(0)
    classes = ["red_blue_yellow_short", "black_white_orange_long", "green_purple_grey_short",
               "brown_red_white_long"]
    truth = {}
    for coco_split, n in (("train", n_train), ("val", n_val)):
        folder = root / f"{coco_split}{year}"
        folder.mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for k in range(n + 1):  # the last one is listed but not written
            image_id = (1 if coco_split == "train" else 500_000) + 7 * k
            name = f"COCO_{coco_split}{year}_{image_id:012d}.jpg"
            content = parse_class(classes[k % len(classes)])
            if k < n:
                Image.fromarray(render(content, sample_style(rng))).save(folder / name, quality=90)
            images.append({"id": image_id, "file_name": name, "height": 64, "width": 64})
            caps = make_captions(content, random.Random(image_id), n=5 + min(k, 2) * (k < 3))
            annotations += [{"image_id": image_id, "id": 10 * image_id + j, "caption": c.capitalize()}
                            for j, c in enumerate(caps)]
            truth[f"{coco_split}{year}/{Path(name).stem}"] = content
        annotations.append({"image_id": images[0]["id"], "id": 1, "caption": None})  # malformed
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"captions_{coco_split}{year}.json").write_text(
            json.dumps({"info": {}, "images": images, "annotations": annotations}))
    return truth
