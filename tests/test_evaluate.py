"""``evaluate`` on the tiny random pipeline: every DESIGN.md §4 key, determinism, report, CLI."""

import json

import pytest

from t2i_core.errors import UserError

KEYS = {"judge": ["accuracy_on_real"],
        "text_match": ["split", "per_attribute", "all_correct"],
        "style_transfer": ["facing_kept", "background_delta_e", "content_per_attribute"],
        "style_transfer_degraded": ["facing_kept", "background_delta_e", "degradation"],
        "roc_auc": ["pose", "background", "pose_vs_oracle", "background_vs_oracle"],
        "diversity": ["facing_left_share"],
        "crispness": ["frechet_judge", "frechet_judge_floor"],
        "text_encoder": ["zero_shot_top1"]}


@pytest.fixture(scope="module")
def quick_result(tiny, judge, tmp_path_factory):
    from t2i_core.eval.evaluate import evaluate

    out = tmp_path_factory.mktemp("eval")
    return evaluate(tiny, judge=judge, quick=True, out_dir=out, seed=0), out


def _check_keys(result):
    for section, keys in KEYS.items():
        assert section in result, section
        for key in keys:
            assert key in result[section], f"{section}.{key}"
    assert result["text_match"]["split"] == "test"
    for section, key in [("judge", "accuracy_on_real"), ("text_match", "per_attribute"),
                         ("text_match", "all_correct"), ("style_transfer", "facing_kept"),
                         ("style_transfer", "content_per_attribute"), ("roc_auc", "pose"),
                         ("roc_auc", "background"), ("diversity", "facing_left_share")]:
        assert 0.0 <= result[section][key] <= 1.0, (section, key)


def test_quick_evaluate_returns_every_key(quick_result):
    result, _ = quick_result
    _check_keys(result)
    assert result["judge"]["accuracy_on_real"] >= 0.95  # the judge reads real renders
    assert result["text_encoder"]["zero_shot_top1"] is None  # a preset ships no image encoder θ
    assert 0.0 <= result["roc_auc"]["oracle_pose"] <= 1.0  # what a perfect S would score
    roc = result["roc_auc"]
    assert roc["pose_vs_oracle"] == pytest.approx(roc["pose"] / roc["oracle_pose"], abs=1e-3)
    tm = result["text_match"]
    assert tm["worst_attribute"] == min(tm["by_attribute"].values())
    crisp = result["crispness"]
    assert crisp["frechet_judge"] > crisp["frechet_judge_floor"] > 0   # a random G is far from real
    # the degraded renders are other pictures than the clean ones, so S reads other styles
    clean, bad = result["style_transfer"], result["style_transfer_degraded"]
    assert bad["n_images"] == clean["n_images"] and bad["background_delta_e"] != clean["background_delta_e"]
    json.dumps(result)


def test_quick_evaluate_is_deterministic(quick_result, tiny, judge):
    from t2i_core.eval.evaluate import evaluate

    again = evaluate(tiny, judge=judge, quick=True, seed=0)
    first = {k: v for k, v in quick_result[0].items() if k != "meta"}
    assert first == {k: v for k, v in again.items() if k != "meta"}


def test_report_and_figures_written(quick_result):
    _, out = quick_result
    report = (out / "report.md").read_text()
    assert "text_match.per_attribute" in report and "roc.png" in report
    assert "style_transfer_degraded.facing_kept" in report and "roc_auc.pose_vs_oracle" in report
    for name in ("text_match.png", "style_transfer.png", "style_transfer_degraded.png", "roc.png", "diversity.png", "evaluation.json"):
        assert (out / name).stat().st_size > 0, name


def test_evaluate_rejects_bad_input(tiny, judge):
    from t2i_core.eval.evaluate import evaluate

    with pytest.raises(UserError):
        evaluate(object(), judge=judge, quick=True)
    with pytest.raises(UserError):
        evaluate(tiny, judge=judge, quick=True, seed=-1)
    with pytest.raises(UserError):
        evaluate(tiny, judge=42, quick=True)


def test_zero_shot_and_write_config_on_a_weights_folder(tiny, judge, tmp_path):
    """A folder that ships θ gets a computed zero-shot figure; --write-config keeps checksums."""
    from t2i_core import T2IPipeline
    from t2i_core.checkpoint import read_config, save_weights
    from t2i_core.config import preset, to_dict
    from t2i_core.eval.evaluate import evaluate, store_evaluation
    from t2i_core.text.image_encoder import ImageEncoder

    folder = tiny.save_pretrained(tmp_path / "w")
    cfg = read_config(folder)
    img_cfg = preset("tiny", "image")
    states = {}
    from safetensors.torch import load_file
    for name in cfg["files"]:
        states[name] = load_file(str(folder / f"{name}.safetensors"))
    states["image_encoder"] = ImageEncoder(img_cfg).state_dict()
    comps = {**cfg["components"], "image_encoder": to_dict(img_cfg)}
    save_weights(folder, states, {"components": comps})
    pipe = T2IPipeline.from_pretrained(folder)
    result = evaluate(pipe, judge=judge, quick=True)
    assert result["text_encoder"]["source"] == "computed"
    assert 0.0 <= result["text_encoder"]["zero_shot_top1"] <= 1.0
    store_evaluation(folder, result)
    reloaded = T2IPipeline.from_pretrained(folder)  # checksums still right
    assert reloaded.extra["evaluation"]["roc_auc"]["pose"] == result["roc_auc"]["pose"]


def test_cli_json_prints_only_json(capsys):
    from t2i_core.__main__ import main

    assert main(["evaluate", "--preset", "tiny", "--quick", "--json"]) == 0
    captured = capsys.readouterr()
    _check_keys(json.loads(captured.out))
    assert "text_match" in captured.err  # progress went to stderr


def test_cli_refuses_write_config_on_quick(capsys):
    from t2i_core.__main__ import main

    assert main(["evaluate", "--preset", "tiny", "--quick", "--write-config"]) == 2
    assert "--write-config" in capsys.readouterr().err


# ---------------------------------------------------------------- ablation table and verdicts


def _fake(text, auc_pose, auc_bg, checked=800):
    return {"text_match": {"per_attribute": text, "all_correct": text ** 3, "checked": checked},
            "style_transfer": {"facing_kept": 0.9, "background_delta_e": 5.0, "content_per_attribute": text},
            "roc_auc": {"pose": auc_pose, "background": auc_bg},
            "diversity": {"facing_left_share": 0.5, "facing_minority_share": 0.4}}


def test_ablation_claims_follow_the_numbers():
    from t2i_core.eval.ablation_report import claims

    results = {"gan": _fake(0.30, 0.60, 0.60), "gan-cls": _fake(0.80, 0.62, 0.61),
               "gan-int": _fake(0.45, 0.80, 0.85), "gan-int-cls": _fake(0.81, 0.82, 0.86)}
    verdicts = [c["verdict"] for c in claims(results)]
    assert verdicts == ["holds", "holds", "inconclusive", "holds"]
    # reverse the first claim: GAN-CLS clearly worse than GAN
    results["gan-cls"] = _fake(0.20, 0.62, 0.61)
    assert claims(results)[0]["verdict"] == "does not hold"
    # INT hurts disentangling
    results["gan-int"] = _fake(0.45, 0.40, 0.40)
    results["gan-int-cls"] = _fake(0.81, 0.41, 0.41)
    assert claims(results)[3]["verdict"] == "does not hold"
    # a variant missing
    del results["gan"]
    assert claims(results)[0]["verdict"] == "not measured"


def test_ablation_markdown_has_table_claims_and_grids(tmp_path):
    from t2i_core.eval.ablation_report import text_table, write_markdown

    results = {v: _fake(0.5, 0.7, 0.7) for v in ("gan", "gan-cls", "gan-int", "gan-int-cls")}
    path = write_markdown(results, tmp_path, settings={"steps": 10}, grids={"gan": "gan_samples.png"})
    text = path.read_text()
    assert "| gan-int-cls |" in text and "Do the paper's claims hold here?" in text
    assert "![gan](gan_samples.png)" in text and "**inconclusive**" in text
    assert text_table(results).splitlines()[0].startswith("variant")


def test_ablate_cli_rejects_unknown_variant(tmp_path, capsys):
    from t2i_core.__main__ import main

    rc = main(["ablate", "--data", str(tmp_path), "--steps", "1", "--text-encoder", str(tmp_path),
               "--variants", "gan,vae", "--out", str(tmp_path / "abl")])
    assert rc == 2
    assert "vae" in capsys.readouterr().err


def test_quick_evaluate_on_a_dataset_folder(tiny, judge, tiny_synthbirds):
    """With --data, captions and real images come from the dataset's test split."""
    from t2i_core.eval.evaluate import evaluate

    result = evaluate(tiny, data=tiny_synthbirds, judge=judge, quick=True)
    _check_keys(result)
    assert str(tiny_synthbirds) in result["meta"]["data"]
    assert result["judge"]["accuracy_on_real"] >= 0.95
    assert result["meta"]["judge_matches_renderer"] is True


def test_ablation_wiring_one_tiny_variant(tiny_synthbirds, judge, tmp_path):
    """train → train-style → evaluate → report, in-process, for one tiny variant (2 steps)."""
    import torch

    from t2i_core.checkpoint import save_weights
    from t2i_core.config import preset, to_dict
    from t2i_core.eval.ablation import run_ablation
    from t2i_core.text.char_cnn_rnn import CharCNNRNN

    torch.manual_seed(0)
    cfg = preset("tiny", "text")
    save_weights(tmp_path / "te", {"text_encoder": CharCNNRNN(cfg).state_dict()},
                 {"components": {"text_encoder": to_dict(cfg)}})
    summary = run_ablation(data=tiny_synthbirds, steps=2, out=tmp_path / "abl", text_encoder=tmp_path / "te",
                           style_steps=2, preset="tiny", batch_size=4, quick_eval=True,
                           variants=("gan-int-cls",), judge=judge, progress=False, log=lambda m: None,
                           overrides={"standing_stats_batches": 2})
    _check_keys(summary["results"]["gan-int-cls"])
    report = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| gan-int-cls |" in report and (tmp_path / "abl" / "gan-int-cls_samples.png").is_file()
    assert [c["verdict"] for c in summary["claims"]] == ["not measured"] * 4
    assert summary["settings"]["recipe"] == "paper"
    # --recipe fast trains G against the frozen θ: a φ-only folder is refused before any training
    with pytest.raises(UserError, match="image encoder θ"):
        run_ablation(data=tiny_synthbirds, steps=2, out=tmp_path / "abl_fast", text_encoder=tmp_path / "te",
                     preset="tiny", variants=("gan",), judge=judge, progress=False, log=lambda m: None,
                     recipe="fast")
    assert not (tmp_path / "abl_fast" / "gan").exists()


def test_procedural_source_uses_the_training_data_seed():
    from t2i_core.data.synthbirds import make_splits
    from t2i_core.eval.sources import EvalSource

    known = EvalSource(dataset_info={"synthbirds_seed": 3})
    assert known.test_classes == make_splits(3)["test"] and not known.warnings
    unknown = EvalSource(dataset_info={"root": "x"})
    assert unknown.test_classes == make_splits(0)["test"] and "seed" in unknown.warnings[0]


def _load_script(name):
    """A module from scripts/ (they are not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seen_unseen_text_match_script(tiny, tmp_path, capsys, monkeypatch):
    """scripts/text_match_seen_unseen.py prints one row per split; a missing folder is an error."""
    script = _load_script("text_match_seen_unseen")
    from t2i_core.data.synthbirds import make_splits
    from t2i_core.eval import evaluate as E

    folder = tiny.save_pretrained(tmp_path / "w")
    scored, real_text_match = [], E.text_match

    def spy(nets, judge, source, *rest):
        scored.append(source.test_classes)
        return real_text_match(nets, judge, source, *rest)

    monkeypatch.setattr(E, "text_match", spy)
    assert script.main(["--weights", str(folder), "--quick"]) == 0
    assert scored == [make_splits(0)["train"], make_splits(0)["test"]]  # seen, then unseen classes
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(("seen", "unseen"))]
    assert [r[0] for r in rows] == ["seen", "unseen"]
    assert all(0.0 <= float(r[2]) <= 1.0 and 0.0 <= float(r[3]) <= 1.0 for r in rows)
    assert script.main(["--weights", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err


def test_zero_shot_confusions_script(tiny_synthbirds, tmp_path, capsys):
    """scripts/zero_shot_confusions.py: top-1 and mistake counts agree; a folder without θ is an error."""
    import re

    from t2i_core.checkpoint import save_weights
    from t2i_core.config import preset, to_dict
    from t2i_core.text.char_cnn_rnn import CharCNNRNN
    from t2i_core.text.image_encoder import ImageEncoder

    script = _load_script("zero_shot_confusions")
    text_cfg, img_cfg = preset("tiny", "text"), preset("tiny", "image")
    folder = tmp_path / "text"
    save_weights(folder, {"text_encoder": CharCNNRNN(text_cfg).state_dict(),
                          "image_encoder": ImageEncoder(img_cfg).state_dict()},
                 {"components": {"text_encoder": to_dict(text_cfg), "image_encoder": to_dict(img_cfg)}})
    assert script.main([str(folder), "--data", str(tiny_synthbirds)]) == 0
    out = capsys.readouterr().out
    head = re.search(r"(\d+) images, zero-shot top-1 ([\d.]+) \((\d+) mistakes\)", out)
    n, top1, mistakes = int(head[1]), float(head[2]), int(head[3])
    assert abs(top1 - (1 - mistakes / n)) < 1e-4
    assert sum(int(m) for m in re.findall(r"mistakes differing in .*: (\d+)", out)) == mistakes
    save_weights(tmp_path / "phi_only", {"text_encoder": CharCNNRNN(text_cfg).state_dict()},
                 {"components": {"text_encoder": to_dict(text_cfg)}})
    assert script.main([str(tmp_path / "phi_only"), "--data", str(tiny_synthbirds)]) == 2
    assert "error:" in capsys.readouterr().err


def test_evaluate_draws_the_images_the_app_draws_for_the_same_seed(tiny, judge):
    """One seed convention: image i of a section is the pipeline's (and the app's) image for seed
    ``section_seed(seed, section) + i``."""
    import numpy as np

    from t2i_core.eval.evaluate import Nets, section_seed

    nets = Nets(tiny)
    caption = "this bird has a red crown, blue wings and a yellow belly with a short beak"
    base = section_seed(3, 1)
    batch = nets.generate(nets.z(3, base), nets.embed([caption] * 3))
    app = tiny.generate(caption, n=3, seed=base)
    for i in range(3):
        arr = np.asarray(app[i], dtype=np.float32) / 127.5 - 1.0
        assert np.abs(batch[i].permute(1, 2, 0).numpy() - arr).max() <= 1.5 / 127.5   # uint8 rounding


def test_text_encoder_human_phrasing_script_scores_the_nearest_class(tiny_synthbirds, monkeypatch, capsys):
    """scripts/text_encoder_human_phrasing.py: a caption is scored by the attributes of the class
    nearest to it (here an encoder stand-in that lands on a known class)."""
    import torch

    from t2i_core.data import synthbirds as sb
    from t2i_core.data.dataset import open_dataset
    from t2i_core.text import zero_shot

    script = _load_script("text_encoder_human_phrasing")
    index = open_dataset(tiny_synthbirds)
    names = sorted({r.class_name for r in index.records})
    one_hot = lambda rows: torch.eye(len(names))[rows]  # noqa: E731
    monkeypatch.setattr(zero_shot, "split_images", lambda idx, ids: list(ids))
    monkeypatch.setattr(zero_shot, "embed_images",
                        lambda enc, ids: one_hot([names.index(index.records[i].class_name) for i in ids]))
    target = sb.parse_class(names[0])  # every caption lands on class 0
    monkeypatch.setattr(zero_shot, "embed_captions", lambda enc, caps: one_hot([0] * len(caps)))
    other = {"short": "long", "long": "short"}[target["beak"]]
    wants = [{"crown": target["crown"], "beak": other}, {"wing": target["wing"], "belly": target["belly"]}]
    res = script.phrasing_accuracy(None, None, index, ["a", "b"], wants)
    assert res["by_attribute"] == {"crown": 1.0, "beak": 0.0, "wing": 1.0, "belly": 1.0}
    assert res["per_attribute"] == 0.75 and res["n_classes"] == len(names)
    assert script.main(["--text-encoder", "/nonexistent", "--data", str(tiny_synthbirds)]) == 2
    assert "error:" in capsys.readouterr().err


def test_backdrop_spread_script_separates_what_z_and_the_caption_move(tiny, judge, tiny_synthbirds, capsys):
    """scripts/backdrop_spread.py: with a G that ignores the caption, the same z gives the same
    backdrop whatever the caption (0 across captions), while z still varies it; the real images'
    figure reads the dataset's own classes."""
    import numpy as np
    import torch

    from t2i_core.data.dataset import open_dataset
    from t2i_core.eval.evaluate import Nets

    script = _load_script("backdrop_spread")
    nets = Nets(tiny)
    blind = Nets(tiny)
    blind.generate = lambda z, emb: nets.generate(z, torch.zeros_like(emb))
    caps = ["a bird with a red crown", "a bird with blue wings", "a bird with a yellow belly"]
    got = script.spreads(blind, judge, caps, 6, 0)
    assert got["across_captions_same_z"] == 0.0 and got["within_caption"] > 0.0
    tinted = Nets(tiny)  # the mirror case: a flat picture whose colour follows the caption only
    colours = {c: torch.tensor(v) for c, v in zip(caps, ([0.9, -0.8, -0.8], [-0.8, -0.6, 0.9], [0.9, 0.9, -0.9]))}
    tinted.embed = lambda cs: torch.stack([colours[c] for c in cs])
    tinted.generate = lambda z, emb: emb[:, :, None, None].expand(-1, -1, 64, 64).contiguous()
    got = script.spreads(tinted, judge, caps, 6, 0)
    assert got["within_caption"] == 0.0 and got["across_captions_same_z"] > 10.0
    real = script.real_spread(judge, open_dataset(tiny_synthbirds, progress=False), 5, np.random.default_rng(0))
    assert real > 0.0
    assert script.main(["--z", "1"]) == 2 and "at least 2" in capsys.readouterr().err


def test_style_code_probe_reads_linear_factors_and_refuses_weights_without_s(tmp_path, capsys):
    """scripts/style_code_probe.py: the held-out R² of the linear probe is ~1 for a factor the code
    carries linearly and ~0 for one it does not; FACTORS names the oracle's columns."""
    import numpy as np

    script = _load_script("style_code_probe")
    rng = np.random.default_rng(0)
    code = rng.normal(size=(400, 6))
    assert script.probe_r2(code, code @ rng.normal(size=6) + 0.5) > 0.99
    assert abs(script.probe_r2(code, rng.normal(size=400))) < 0.1
    from t2i_core.eval.evaluate import oracle_style_vectors

    styles = [{"facing": f, "tilt": t, "x": 0.2, "y": 0.3, "scale": 1.1, "background_rgb": [1, 2, 3]}
              for f, t in (("left", 0.1), ("right", 0.4))]
    assert oracle_style_vectors(styles).shape[1] == len(script.FACTORS)  # the names fit the columns
    assert script.main(["--weights", str(tmp_path / "nothing")]) == 2
    assert "error:" in capsys.readouterr().err
    assert script.main(["--images", "1"]) == 2 and "at least 20" in capsys.readouterr().err
