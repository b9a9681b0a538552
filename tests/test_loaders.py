"""Loaders for every dataset format, robust image opening, PairDataset and preloading."""

import io

import numpy as np
import pytest
from fixtures import (
    animated_gif,
    image_bytes,
    make_cub_cvpr,
    make_cub_icml,
    make_flowers_cvpr,
    make_hdf5,
    truncated_jpeg,
)
from PIL import Image

from t2i_core.data.dataset import load_image_array, open_dataset
from t2i_core.data.images import open_image, verify_image
from t2i_core.errors import UserError


@pytest.fixture(scope="module")
def cub(tmp_path_factory):
    root = tmp_path_factory.mktemp("cub")
    return root, make_cub_cvpr(root)


@pytest.fixture(scope="module")
def icml(tmp_path_factory):
    return make_cub_icml(tmp_path_factory.mktemp("icml"))


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    return make_hdf5(tmp_path_factory.mktemp("h5") / "birds.hdf5")


def _problems(index) -> str:
    return "\n".join(index.problems)


# ---------------------------------------------------------------- open_image

@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "RGBA", "P", "I;16"])
def test_open_image_modes_give_rgb(mode):
    data, _ = image_bytes(mode, (200, 30, 30))
    im = open_image(data)
    assert im.mode == "RGB" and im.size == (40, 30)
    centre = np.asarray(im)[25, 30].astype(int)
    if mode in ("L", "I;16"):
        assert abs(centre[0] - centre[1]) < 3 and 80 < centre[0] < 110  # luminance of red
    else:
        assert centre[0] > 150 and centre[1] < 80  # still red (CMYK and palette included)
    if mode in ("RGBA", "P"):
        assert im.getpixel((0, 0)) == (255, 255, 255)  # transparency composited on white


def test_open_image_deep_and_float_modes():
    arr32 = np.full((4, 4), 65535, dtype=np.int32)
    assert open_image(Image.fromarray(arr32, mode="I")).getpixel((0, 0)) == (255, 255, 255)
    flt = Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32), mode="F")
    assert open_image(flt).getpixel((0, 0)) == (128, 128, 128)


def test_open_image_sources_and_first_frame(tmp_path):
    gif = animated_gif()
    assert open_image(gif).getpixel((5, 5)) == (255, 0, 0)
    path = tmp_path / "a.gif"
    path.write_bytes(gif)
    assert open_image(path).mode == "RGB" and open_image(str(path)).size == (16, 16)
    assert open_image(io.BytesIO(gif)).size == (16, 16)
    pil = Image.new("RGBA", (3, 3), (0, 0, 0, 0))
    assert open_image(pil).getpixel((1, 1)) == (255, 255, 255)


@pytest.mark.parametrize("bad, words", [
    (truncated_jpeg(), "truncated"),
    (b"this is not an image at all", "not an image"),
    (b"", "empty"),
])
def test_open_image_bad_bytes_raise_user_error(bad, words):
    with pytest.raises(UserError) as err:
        open_image(bad)
    assert words in str(err.value) or "unreadable" in str(err.value)
    assert verify_image(bad) is not None


def test_open_image_exif_orientation():
    im = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    assert open_image(buf.getvalue()).size == (20, 40)
    assert open_image(buf.getvalue(), exif_transpose=False).size == (40, 20)


def test_open_image_missing_folder_and_bomb(tmp_path):
    with pytest.raises(UserError, match="not found"):
        open_image(tmp_path / "nope.jpg")
    with pytest.raises(UserError, match="folder"):
        open_image(tmp_path)
    big = io.BytesIO()
    Image.new("L", (300, 200)).save(big, "PNG")
    with pytest.raises(UserError, match="too large"):
        open_image(big.getvalue(), max_pixels=50_000)
    assert open_image(big.getvalue(), max_pixels=60_000).size == (300, 200)
    with pytest.raises(UserError):
        open_image(12345)


# ---------------------------------------------------------------- cvpr2016 (CUB, Oxford-102)

def test_cub_cvpr_layout(cub):
    root, expect = cub
    index = open_dataset(root)
    assert index.format == "cvpr" and not index.synthbirds
    assert len(index.records) == expect["images"]
    assert {s: len(index.classes[s]) for s in ("train", "val", "test")} == expect["classes"]
    assert sorted(index.indices("all")) == list(range(len(index.records)))
    assert set(index.indices("trainval")) == set(index.indices("train")) | set(index.indices("val"))
    assert all(len(r.captions) == 10 and r.embeddings is None for r in index.records)
    odd = next(r for r in index.records if r.key == expect["odd"])
    assert odd.captions[0] == expect["odd_clean"]
    text = _problems(index)
    for name in ("valclasses.txt is missing", expect["empty"], expect["odd"],
                 expect["missing_image"], expect["no_split"]):
        assert name in text
    assert index.attributes(0) is None


def test_cub_cvpr_images_and_corrupt_file(cub):
    root, expect = cub
    index = open_dataset(root)
    bad = next(i for i, r in enumerate(index.records) if r.key == expect["corrupt"])
    with pytest.raises(UserError, match=expect["corrupt"]):
        index.load_image(bad)
    for i in range(len(index.records)):
        if i != bad:
            assert index.load_image(i).mode == "RGB"
    assert index.check_images(workers=1) == 1
    assert any(expect["corrupt"] in p and "unreadable image" in p for p in index.problems)


def test_flowers_cvpr_layout(tmp_path):
    expect = make_flowers_cvpr(tmp_path)
    index = open_dataset(tmp_path)
    assert index.format == "cvpr" and len(index.records) == expect["images"]
    assert {s: len(index.classes[s]) for s in ("train", "val", "test")} == expect["classes"]
    assert index.records[0].key == "class_00001/image_00001"
    assert "valclasses.txt is empty" in _problems(index)
    assert index.check_images(workers=1) == 0
    assert index.indices("val") == []


def test_split_files_all_missing(tmp_path):
    make_flowers_cvpr(tmp_path)
    for p in tmp_path.glob("*classes.txt"):
        p.unlink()
    index = open_dataset(tmp_path)
    assert len(index.classes["train"]) == 3 and not index.classes["test"]
    assert "treated as train" in _problems(index)


def test_missing_and_unrecognised_folders(tmp_path):
    with pytest.raises(UserError, match="not found"):
        open_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no dataset found"):
        open_dataset(tmp_path / "empty")
    make_flowers_cvpr(tmp_path / "wrap" / "flowers")
    with pytest.raises(UserError, match="did you mean"):
        open_dataset(tmp_path / "wrap")
    (tmp_path / "noimg" / "text_c10" / "c1").mkdir(parents=True)
    with pytest.raises(UserError, match="no images"):
        open_dataset(tmp_path / "noimg")
    with pytest.raises(UserError, match="unknown split"):
        open_dataset(tmp_path / "wrap" / "flowers").indices("dev")


# ---------------------------------------------------------------- icml2016 .t7 and hdf5

def test_icml_t7_layout(icml):
    index = open_dataset(icml["root"])
    assert index.format == "icml" and len(index.records) == icml["images"]
    assert {s: len(index.classes[s]) for s in ("train", "val", "test")} == icml["classes"]
    for rec in index.records:
        caps, emb = icml["truth"][rec.key]
        assert rec.captions == caps  # decoded from Reed's 1-based char tensor
        np.testing.assert_array_equal(rec.embeddings, emb)
    text = _problems(index)
    assert "Ghost_0000" in text and "Broken_0000.t7" in text
    assert index.load_image(0).mode == "RGB"


def test_icml_flowers_flavour(tmp_path):
    from fixtures import char_tensor, write_t7

    root = tmp_path / "flowers_icml"
    for n, cls in enumerate(["class_00001", "class_00002"], start=1):
        (tmp_path / "jpg").mkdir(exist_ok=True)
        (tmp_path / "jpg" / f"image_{n:05d}.jpg").write_bytes(image_bytes("RGB")[0])
        write_t7(root / cls / f"image_{n:05d}.t7",  # Reed: img relative to the oxford102 folder
                 {"img": f"jpg/image_{n:05d}.jpg", "txt": np.ones((10, 8), np.float32),
                  "char": char_tensor([f"pink petals {k}" for k in range(10)])})
    index = open_dataset(root)
    assert index.format == "icml" and len(index.records) == 2
    assert index.records[1].key == "class_00002/image_00002"
    assert index.records[0].captions[3] == "pink petals 3" and index.load_image(1).size == (40, 30)
    assert "no *classes.txt files" in _problems(index)


def test_icml_image_dir_override(icml, tmp_path):
    with pytest.raises(UserError, match="image folder not found"):
        open_dataset(icml["root"], image_dir=tmp_path / "nowhere")
    index = open_dataset(icml["root"], image_dir=icml["root"].parent / "CUB_200_2011" / "images")
    assert len(index.records) == icml["images"]


def test_hdf5_layout(h5):
    for root in (h5["path"], h5["path"].parent):  # the file itself or its folder
        index = open_dataset(root)
        assert index.format == "hdf5" and len(index.records) == h5["images"]
    assert {s: len(index.classes[s]) for s in ("train", "val", "test")} == h5["classes"]
    for rec in index.records:
        caps, emb = h5["truth"][rec.key]
        assert len(rec.captions) == 5 and rec.embeddings.shape == (5, 1024)
        if "Crème" not in caps[2]:
            assert rec.captions == [c.strip() for c in caps]
        np.testing.assert_allclose(rec.embeddings, emb)
    assert "out-of-alphabet" in _problems(index)
    assert index.check_images(workers=1) == 1 and h5["corrupt"] in _problems(index)
    good = next(i for i in range(len(index)) if i not in index.bad_images)
    assert index.load_image(good).mode == "RGB"


# ---------------------------------------------------------------- PairDataset and preloading

def test_pair_dataset_items(h5):
    import torch

    from t2i_core.data.pairs import PairDataset

    index = open_dataset(h5["path"])
    ds = PairDataset(index, "trainval", captions_per_item=3)
    torch.manual_seed(0)
    item = ds[0]
    assert item["image"].shape == (3, 64, 64) and item["wrong_image"].shape == (3, 64, 64)
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert item["caption_ids"].shape == (3, 201) and item["caption_ids"].dtype == torch.long
    assert item["embedding"].shape == (1024,) and item["wrong_embedding"].shape == (1024,)
    assert item["label"] != item["wrong_label"]
    torch.manual_seed(0)
    again = ds[0]
    assert torch.equal(item["image"], again["image"]) and torch.equal(item["embedding"], again["embedding"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 64, 64)


def test_pair_dataset_cache_embeddings_and_no_augment(cub):
    import torch

    from t2i_core.data.pairs import PairDataset

    index = open_dataset(cub[0])
    counts = [len(r.captions) for r in index.records]
    offsets = torch.tensor(np.concatenate([[0], np.cumsum(counts)]), dtype=torch.long)
    emb = torch.arange(int(offsets[-1]), dtype=torch.float32)[:, None].repeat(1, 8)
    ds = PairDataset(index, "train", augment=False, image_size=32, captions_per_item=2,
                     caption_embeddings=(emb, offsets))
    for k in range(len(ds)):  # the corrupt image is replaced, not fatal
        item = ds[k]
        i = int(item["index"])
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        assert item["image"].shape == (3, 32, 32) and lo <= item["embedding"][0] < hi
        assert index.records[i].class_name == ds.class_names[int(item["label"])]
    assert any(cub[1]["corrupt"] in p for p in index.problems)
    with pytest.raises(UserError, match="do not match"):
        PairDataset(index, "train", caption_embeddings=(emb[:-1], offsets))
    with pytest.raises(UserError, match="class"):
        PairDataset(index, "val")  # one class cannot give wrong-class pairs
    plain = PairDataset(index, "train")
    assert "embedding" not in plain[1] and plain[1]["wrong_caption_ids"].shape == (1, 201)


def test_load_image_array_and_preloaded_pairs(cub):
    from t2i_core.data.pairs import PairDataset

    index = open_dataset(cub[0])
    rows = index.indices("train")
    arr, ok = load_image_array(index, rows, 76, workers=2, progress=False, return_ok=True)
    assert arr.shape == (len(rows), 76, 76, 3) and arr.dtype == np.uint8
    assert ok.sum() == len(rows) - 1 and index.bad_images
    ds = PairDataset(index, "train", images=arr)
    assert ds[0]["image"].shape == (3, 64, 64) and len(ds) == len(rows) - 1
    with pytest.raises(UserError, match="preloaded"):
        PairDataset(index, "train", images=arr[:2])


# ---------------------------------------------------------------- SynthBirds

def test_synthbirds_folder(request):
    root = request.getfixturevalue("tiny_synthbirds")
    index = open_dataset(root)
    assert index.format == "cvpr" and index.synthbirds
    assert all(len(r.captions) == 10 for r in index.records)
    assert index.classes["train"] and index.classes["test"]
    assert not set(index.classes["train"]) & set(index.classes["test"])
    attrs = index.attributes(0)
    assert attrs is not None and attrs["class"] == index.records[0].class_name
    assert set(attrs["content"]) == {"crown", "wing", "belly", "beak"}
    assert index.load_image(0).mode == "RGB"
