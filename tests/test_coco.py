"""MS-COCO (paper §5.4): the captions-JSON loader, data-info, instance-level DS-SJE with
retrieval figures, a few GAN steps and evaluate on a COCO-trained model — on a tiny COCO-format
fixture written by the tests (SynthBirds renders with 5–7 captions each, missing images, a
malformed entry)."""

import json

import pytest
import torch

from fixtures import make_coco
from t2i_core.__main__ import main
from t2i_core.data.dataset import open_dataset
from t2i_core.errors import UserError
from t2i_core.text.retrieval import recall_at_k


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    make_coco(root)
    return root


def test_loader_reads_coco_as_instances(coco):
    index = open_dataset(coco)
    assert index.format == "coco" and len(index.indices("train")) == 24 and len(index.indices("test")) == 12
    assert all(r.class_name == r.key for r in index.records)  # every image its own class
    counts = sorted({len(r.captions) for r in index.records})
    assert counts == [5, 6, 7] and all(c == c.lower() for r in index.records for c in r.captions)
    kinds = index.problem_counts
    assert kinds["missing image"] == 2 and kinds["malformed caption entry (skipped)"] == 2
    subset = open_dataset(coco, max_images=5)
    assert len(subset.indices("train")) == 5 and len(subset.indices("test")) == 5
    with pytest.raises(UserError, match="max-images"):
        open_dataset(coco, max_images=0)


def test_data_info_reports_coco_and_bad_json(coco, tmp_path, capsys):
    assert main(["data-info", str(coco), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "coco" and info["images"] == 36
    assert info["captions_per_image"] == {"min": 5, "max": 7} and info["unreadable_images"] == 0
    assert any(p.startswith("missing image") for p in info["problems"])
    assert main(["data-info", str(coco), "--max-images", "3"]) == 0
    assert "images    6 (train 3" in capsys.readouterr().out
    bad = tmp_path / "bad"
    (bad / "annotations").mkdir(parents=True)
    (bad / "annotations" / "captions_val2017.json").write_text('{"images": [{"id": 1, "file_name": "a.jpg"}')
    assert main(["data-info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "captions_val2017.json is not valid JSON" in err and "Traceback" not in err
    assert main(["data-info", str(coco / "annotations")]) == 2  # not a dataset root
    capsys.readouterr()


def test_recall_at_k_known_values():
    images = torch.eye(3)
    captions = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0.4, 0.5], [0.9, 0, 0.1]])
    r = recall_at_k(images, captions, [0, 1, 2, 2])
    assert r["caption_to_image_r1"] == 0.75 and r["caption_to_image_r5"] == 1.0
    assert r["image_to_caption_r1"] == 1.0


def test_instance_training_gan_steps_and_evaluate(coco, tmp_path, capsys):
    text = tmp_path / "text"
    assert main(["train-text", "--data", str(coco), "--out", str(text), "--preset", "tiny",
                 "--steps", "4", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "caption→image R@1" in out and "image→caption R@10" in out
    config = json.loads((text / "config.json").read_text())
    assert config["training"]["matching"] == "instance" and config["training"]["images_per_class"] == 1
    gan = tmp_path / "gan"
    assert main(["train", "--data", str(coco), "--text-encoder", str(text / "weights"), "--out", str(gan),
                 "--preset", "tiny", "--steps", "2", "--batch-size", "8", "--standing-stats-batches", "2",
                 "--max-images", "20", "--no-progress"]) == 0
    capsys.readouterr()
    assert json.loads((gan / "weights" / "config.json").read_text())["dataset"]["format"] == "coco"
    assert main(["generate", "a man riding a horse on a beach", "--weights", str(gan / "weights"),
                 "--out", str(tmp_path / "grid.png")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--weights", str(gan / "weights"), "--data", str(coco), "--quick", "--json",
                 "--out", str(tmp_path / "eval")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["meta"]["coco"] and 0 <= result["text_encoder"]["caption_to_image_r1"] <= 1
    crisp = result["crispness"]  # a 2-step θ is too weak to tell images apart, so check the sample:
    assert crisp["n_images"] == 12 and "frechet_image_encoder_floor" in crisp  # all 12 val images
    assert "text_match" not in result
    assert (tmp_path / "eval" / "report.md").is_file()
    assert main(["evaluate", "--weights", str(gan / "weights"), "--quick"]) == 2
    assert "pass its COCO folder with --data" in capsys.readouterr().err
    # the app opens a COCO model with COCO-like example captions and no render examples
    import app
    from t2i_core import T2IPipeline
    from t2i_core import app_content as C

    pipe = T2IPipeline.from_pretrained(gan / "weights")
    assert C.domain_of(pipe) == "coco" and len(pipe.generate("a red bus", n=2, seed=0)) == 2
    demo = app.build_demo(pipe)
    assert demo is not None
    assert app._UI({"coco": pipe}, {}).defaults("coco")["caption"] == C.COCO_EXAMPLE_CAPTIONS[0]


def test_instance_matching_on_class_data(tiny_synthbirds, tmp_path, capsys):
    """--matching instance also runs on CUB-like data (each image its own class)."""
    assert main(["train-text", "--data", str(tiny_synthbirds), "--out", str(tmp_path / "t"), "--preset",
                 "tiny", "--steps", "2", "--matching", "instance", "--no-test", "--no-progress"]) == 0
    capsys.readouterr()
    config = json.loads((tmp_path / "t" / "config.json").read_text())
    assert config["training"]["matching"] == "instance"
