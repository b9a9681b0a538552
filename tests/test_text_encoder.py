"""Text encoder φ, image encoder θ, DS-SJE, zero-shot metrics, embedding cache and train-text."""

import json

import pytest
import torch

from t2i_core.config import preset
from t2i_core.errors import UserError
from t2i_core.text.char_cnn_rnn import CharCNNRNN, reference_forward, steps_after_convs
from t2i_core.text.image_encoder import ImageEncoder
from t2i_core.text.sje import ds_sje_loss, structured_hinge
from t2i_core.text.zero_shot import average_precision_at_k, joint_metrics


def _tiny(seed=0):
    torch.manual_seed(seed)
    return CharCNNRNN(preset("tiny", "text")), ImageEncoder(preset("tiny", "image"))


# ------------------------------------------------------------------ networks
def test_shapes_and_padding_invariance():
    te, ie = _tiny()
    te.eval()
    ids = torch.randint(1, 71, (3, 40))
    out = te(ids)
    assert out.shape == (3, 32)
    padded = torch.nn.functional.pad(ids, (0, 201 - 40))
    assert torch.allclose(out, te(padded), atol=1e-6)  # padding to max_len is implicit
    assert te(torch.randint(1, 71, (2, 500))).shape == (2, 32)  # longer input is cut
    assert steps_after_convs(preset("reed", "text")) == 6
    stages = dict(te.stage_shapes(ids))
    assert stages["conv1+pool"] == (3, 16, 66) and stages["conv3+pool"] == (3, 16, 6)
    assert stages["output"] == (3, 32)
    assert ie(torch.rand(4, 3, 64, 64) * 2 - 1).shape == (4, 32)
    with pytest.raises(UserError):
        te(torch.zeros(3, dtype=torch.long))
    with pytest.raises(UserError):
        ie(torch.zeros(2, 1, 64, 64))


def _caption_batch(lengths, gen):
    ids = torch.zeros(len(lengths), 201, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, 71, (n,), generator=gen)
    return ids


@pytest.mark.parametrize("name", ["tiny", "small", "reed_no_bn", "len200_cumulative_bn"])
def test_forward_equals_literal_one_hot_computation(name):
    """Look-up conv1 + padding-as-tail give the literal network's outputs, gradients and
    BatchNorm running statistics, in training and in eval mode."""
    cfg = preset("reed" if name == "reed_no_bn" else "tiny" if name.startswith("len") else name, "text")
    if name == "reed_no_bn":
        cfg.conv_channels, cfg.rnn_hidden, cfg.embed_dim = (24, 24, 24), 16, 16  # Reed's layer list, narrow
    if name == "len200_cumulative_bn":
        cfg.max_len = 200  # 197 conv steps: max-pooling drops a remainder at every stage
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(1)
    fast = CharCNNRNN(cfg).double()
    slow = CharCNNRNN(cfg).double()
    if name == "len200_cumulative_bn":
        for m in list(fast.modules()) + list(slow.modules()):
            if isinstance(m, torch.nn.BatchNorm1d):
                m.momentum = None  # cumulative average over num_batches_tracked
    slow.load_state_dict(fast.state_dict())
    # the same two models see every batch: running statistics accumulate over the steps
    for lengths in ([40, 7, 130, 1], [cfg.max_len, 3], [5, 5], [0, 12], [0, 0]):
        ids = _caption_batch(lengths, gen)
        ids[0, 2] = 0  # a padding id inside a caption is still just a zero vector
        target = torch.randn(len(lengths), cfg.embed_dim, generator=gen, dtype=torch.float64)
        fast.train(), slow.train()
        fast.zero_grad(), slow.zero_grad()
        out_fast, out_slow = fast(ids), reference_forward(slow, ids)
        assert torch.allclose(out_fast, out_slow, atol=1e-10)
        (out_fast * target).sum().backward()
        (out_slow * target).sum().backward()
        for (name_f, p_f), p_s in zip(fast.named_parameters(), slow.parameters()):
            assert torch.allclose(p_f.grad, p_s.grad, atol=1e-9), name_f
        for (name_f, b_f), b_s in zip(fast.named_buffers(), slow.buffers()):
            assert torch.allclose(b_f.double(), b_s.double(), atol=1e-10), name_f
        fast.eval(), slow.eval()
        assert torch.allclose(fast(ids), reference_forward(slow, ids), atol=1e-10)
    # eval mode: a caption's embedding does not depend on its batch-mates
    one = _caption_batch([60], gen)
    mixed = torch.cat([one, _caption_batch([cfg.max_len, 9], gen)])
    assert torch.allclose(fast(one)[0], fast(mixed)[0], atol=1e-10)


def test_embed_texts_cleans_any_string():
    te, _ = _tiny()
    emb, notes = te.embed_texts(["This Bird has a RED crown! 🐦", "this bird has a red crown!"],
                                return_notices=True)
    assert torch.equal(emb[0], emb[1]) and notes == [[], []]
    emb, notes = te.embed_texts(["a bird with a red crown " * 20], return_notices=True)
    assert emb.shape == (1, 32) and "truncated" in notes[0][0]
    assert te.embed_texts("鳥 a bird with blue wings").shape == (1, 32)  # non-Latin dropped
    for bad in ["", "   \t\n", "🐦🐦", "鳥"]:
        with pytest.raises(UserError):
            te.embed_texts([bad])
    with pytest.raises(UserError, match="caption 2"):
        te.embed_texts(["a red bird", ""])
    with pytest.raises(UserError):
        te.embed_texts([])


# ------------------------------------------------------------------ DS-SJE
def test_sje_loss_zero_when_separated_and_hinge_modes():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    emb = torch.nn.functional.one_hot(labels, 3).float() * 5
    assert float(ds_sje_loss(emb, emb, labels)) == 0.0
    scores = torch.tensor([[0.0, 0.5, -2.0]])
    target = torch.tensor([0])
    assert float(structured_hinge(scores, target, reduction="max")) == pytest.approx(1.5)
    assert float(structured_hinge(scores, target, reduction="mean")) == pytest.approx(0.75)
    one_class = ds_sje_loss(torch.randn(3, 4, requires_grad=True), torch.randn(3, 4), torch.zeros(3).long())
    assert float(one_class.detach()) == 0.0
    with pytest.raises(UserError):
        ds_sje_loss(torch.randn(3, 4), torch.randn(2, 4), torch.zeros(3).long())


def test_sje_loss_unpaired_texts_and_cosine_scale():
    torch.manual_seed(0)
    img, txt, labels = torch.randn(6, 8), torch.randn(6, 8), torch.tensor([0, 0, 1, 1, 2, 2])
    paired = ds_sje_loss(img, txt, labels)
    assert torch.allclose(paired, ds_sje_loss(img, txt, labels, text_labels=labels))
    more = ds_sje_loss(img, torch.randn(9, 8), labels, text_labels=torch.arange(3).repeat(3))
    assert more.ndim == 0 and float(more) > 0
    a = ds_sje_loss(img, txt, labels, scale=5.0)
    assert torch.allclose(a, ds_sje_loss(img * 7, txt * 0.1, labels, scale=5.0), atol=1e-5)
    with pytest.raises(UserError, match="both images and texts"):
        ds_sje_loss(img, txt[:2], labels, text_labels=torch.tensor([0, 1]))


def test_sje_loss_falls_on_a_tiny_batch():
    te, ie = _tiny()
    torch.manual_seed(1)
    labels = torch.arange(4).repeat_interleave(2)
    ids = torch.randint(1, 71, (8, 60))
    images = torch.rand(8, 3, 64, 64) * 2 - 1
    opt = torch.optim.Adam(list(te.parameters()) + list(ie.parameters()), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = ds_sje_loss(ie(images), te(ids), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert max(losses[-3:]) < 0.6 * losses[0], losses


def test_zero_shot_metrics_on_known_embeddings():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    img = torch.nn.functional.one_hot(labels, 3).float()
    out = joint_metrics(img, labels, img.clone(), labels, 3)
    assert out["zero_shot_top1"] == 1.0 and out["caption_top1"] == 1.0 and out["retrieval_ap50"] == 1.0
    scores = torch.tensor([[0.9, 0.8, 0.1]])  # ranking: rel, not, rel
    ap = average_precision_at_k(scores, torch.tensor([0]), torch.tensor([0, 1, 0]), k=50)
    assert ap == pytest.approx((1 + 2 / 3) / 2)


# ------------------------------------------------------------------ weights, cache
def test_save_load_gives_identical_embeddings(tmp_path):
    from t2i_core.checkpoint import save_weights
    from t2i_core.config import to_dict
    from t2i_core.text.loading import load_image_encoder, load_text_encoder

    te, ie = _tiny()
    comps = {"text_encoder": to_dict(te.cfg), "image_encoder": to_dict(ie.cfg)}
    save_weights(tmp_path / "w", {"text_encoder": te.state_dict(), "image_encoder": ie.state_dict()},
                 {"components": comps})
    te2 = load_text_encoder(tmp_path / "w")
    captions = ["a bird with a red crown", "this bird has blue wings and a long beak"]
    assert torch.equal(te.embed_texts(captions), te2.embed_texts(captions))
    images = torch.rand(2, 3, 64, 64)
    ie.eval()
    assert torch.equal(ie(images), load_image_encoder(tmp_path / "w")(images))
    with pytest.raises(UserError):
        load_text_encoder(tmp_path / "missing")


def test_cache_is_reused(tiny_synthbirds, tmp_path, monkeypatch):
    from t2i_core.data.dataset import open_dataset
    from t2i_core.text.cache import caption_embeddings

    index = open_dataset(tiny_synthbirds)
    te, _ = _tiny()
    emb, offsets = caption_embeddings(te, index, tmp_path)
    assert offsets.shape == (len(index.records) + 1,) and emb.shape == (int(offsets[-1]), 32)
    first = index.records[0].captions[0]
    assert torch.allclose(emb[0], te.embed_texts([first])[0], atol=1e-5)
    calls = []
    monkeypatch.setattr(CharCNNRNN, "forward", lambda self, x: calls.append(1) or 1 / 0)
    emb2, off2 = caption_embeddings(te, index, tmp_path)
    assert not calls and torch.equal(emb, emb2) and torch.equal(offsets, off2)
    monkeypatch.undo()
    with torch.no_grad():
        te.proj.bias.add_(1.0)  # new weights → new cache entry
    caption_embeddings(te, index, tmp_path)
    assert len(list(tmp_path.glob("phi_*.safetensors"))) == 2


# ------------------------------------------------------------------ train-text CLI
def _cli(*argv):
    from t2i_core.__main__ import main

    return main(["train-text", *map(str, argv)])


def test_train_text_runs_and_resumes_exactly(tiny_synthbirds, tmp_path, capsys):
    from safetensors.torch import load_file

    common = ["--data", tiny_synthbirds, "--preset", "tiny", "--threads", "1", "--no-progress"]
    assert _cli(*common, "--out", tmp_path / "a") == 0
    run = tmp_path / "a"
    for name in ("config.json", "log.jsonl", "training.png", "checkpoints/step_00000006.pt",
                 "weights/config.json", "weights/text_encoder.safetensors"):
        assert (run / name).is_file(), name
    assert [p.name for p in sorted((run / "checkpoints").iterdir())] == ["step_00000003.pt", "step_00000006.pt"]
    meta = json.loads((run / "weights/config.json").read_text())
    assert set(meta["components"]) == {"text_encoder", "image_encoder"}
    assert 0.0 <= meta["evaluation"]["zero_shot_top1"] <= 1.0
    assert meta["dataset"]["classes"]["test"] >= 2 and meta["training"]["steps_done"] == 6

    assert _cli(*common, "--out", tmp_path / "b", "--stop-at", "3") == 0
    assert not (tmp_path / "b/weights").exists()
    from t2i_core.text.loading import load_text_encoder
    assert load_text_encoder(tmp_path / "b").cfg.embed_dim == 32  # a run in progress: its latest checkpoint
    assert _cli("--out", tmp_path / "b", "--resume", "--neighbour-group", "3") == 2  # tiny's is 2
    assert "different settings (neighbour_group: 2 -> 3)" in capsys.readouterr().err
    # the run's own values may be repeated (scripts pass the same flags again on a rerun)
    assert _cli("--out", tmp_path / "b", "--resume", "--no-progress", "--neighbour-group", "2") == 0
    for comp in ("text_encoder", "image_encoder"):
        a = load_file(str(run / f"weights/{comp}.safetensors"))
        b = load_file(str(tmp_path / f"b/weights/{comp}.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), comp
    steps = [r["step"] for r in map(json.loads, (tmp_path / "b/log.jsonl").read_text().splitlines())
             if "loss" in r]
    assert steps == list(range(1, 7))  # no duplicated rows after the resume
    assert load_text_encoder(run).cfg.embed_dim == 32  # a finished run folder works too
    # --keep 1 rotates: only the newest checkpoint stays
    assert _cli(*common, "--out", tmp_path / "c", "--keep", "1") == 0
    assert [p.name for p in (tmp_path / "c/checkpoints").iterdir()] == ["step_00000006.pt"]


def test_train_text_refuses_bad_setups(tiny_synthbirds, tmp_path, capsys):
    assert _cli("--data", tmp_path / "nope", "--out", tmp_path / "r", "--preset", "tiny") == 2
    assert "not found" in capsys.readouterr().err
    assert _cli("--out", tmp_path / "r2", "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert _cli("--data", tiny_synthbirds, "--out", tmp_path / "r2b", "--preset", "tiny", "--stop-at", "1") == 0
    assert _cli("--data", tiny_synthbirds, "--out", tmp_path / "r2b", "--preset", "tiny") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert _cli("--data", tiny_synthbirds, "--out", tmp_path / "r3", "--preset", "tiny",
                "--batch-size", "1") == 2
    for flag, value in (("--decay-fraction", "0"), ("--decay-fraction", "1.5"), ("--neighbour-pool", "0")):
        assert _cli("--data", tiny_synthbirds, "--out", tmp_path / "r4", "--preset", "tiny", flag, value) == 2
        assert flag[2:] in capsys.readouterr().err
    assert _cli("--data", tiny_synthbirds, "--out", tmp_path / "r5", "--preset", "tiny",
                "--neighbour-group", "8", "--neighbour-pool", "3") == 2
    assert "neighbour-pool (3) must hold at least" in capsys.readouterr().err


def test_lr_schedule_holds_the_peak_then_decays():
    from t2i_core.train.text_config import train_preset
    from t2i_core.train.text_trainer import lr_at

    cfg = train_preset("small", steps=1050, warmup_steps=50, lr=1e-3, lr_min_ratio=0.1, decay_fraction=1.0)
    assert lr_at(cfg, 0) == pytest.approx(2e-5) and lr_at(cfg, 49) == pytest.approx(1e-3)
    assert lr_at(cfg, 550) == pytest.approx(1e-4 + 0.9e-3 * 0.5)  # cosine midpoint
    held = train_preset("small", steps=1050, warmup_steps=50, lr=1e-3, lr_min_ratio=0.1, decay_fraction=0.4)
    assert lr_at(held, 650) == pytest.approx(1e-3)  # decay starts at 1050 - 400 = 650
    assert lr_at(held, 850) == pytest.approx(1e-4 + 0.9e-3 * 0.5)
    assert lr_at(held, 1050) == pytest.approx(1e-4) == lr_at(cfg, 1050)
