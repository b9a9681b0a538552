"""``python -m t2i_core data-info ROOT [--json]`` over every format; never a traceback."""

import json
import subprocess
import sys

from fixtures import make_cub_cvpr, make_cub_icml, make_flowers_cvpr, make_hdf5

from t2i_core.__main__ import main


def _info(capsys, *argv):
    code = main(["data-info", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys, root, *extra):
    code, out, _ = _info(capsys, root, "--json", *extra)
    assert code == 0
    info = json.loads(out)
    for key in ("format", "classes", "images", "captions_per_image", "problems"):
        assert key in info
    return info


def test_cub_cvpr_json_names_every_problem(tmp_path, capsys):
    expect = make_cub_cvpr(tmp_path)
    info = _json(capsys, tmp_path)
    assert info["format"] == "cvpr" and info["synthbirds"] is False
    assert info["images"] == expect["images"]
    assert {s: info["classes"][s] for s in ("train", "val", "test")} == expect["classes"]
    assert info["captions_per_image"] == {"min": 10, "max": 10}
    assert info["unreadable_images"] == 1
    text = "\n".join(info["problems"])
    for name in (expect["corrupt"], expect["empty"], expect["odd"], expect["missing_image"],
                 "valclasses.txt is missing", expect["no_split"]):
        assert name in text
    quick = _json(capsys, tmp_path, "--no-check-images")
    assert quick["unreadable_images"] == 0 and expect["corrupt"] not in "\n".join(quick["problems"])


def test_flowers_text_output(tmp_path, capsys):
    make_flowers_cvpr(tmp_path)
    code, out, err = _info(capsys, tmp_path)
    assert code == 0 and "format    cvpr" in out and "valclasses.txt is empty" in out
    assert "classes   train 2, val 0, test 1" in out and "Traceback" not in err


def test_icml_and_hdf5_json(tmp_path, capsys):
    icml = make_cub_icml(tmp_path / "icml")
    info = _json(capsys, icml["root"])
    assert info["format"] == "icml" and info["images"] == icml["images"]
    assert info["embeddings"] == 1024 and info["captions_per_image"]["max"] == 10
    assert any("Broken_0000.t7" in p for p in info["problems"])
    h5 = make_hdf5(tmp_path / "h5" / "birds.hdf5")
    info = _json(capsys, h5["path"])
    assert info["format"] == "hdf5" and info["images"] == h5["images"]
    assert info["classes"]["val"] == 1 and info["captions_per_image"] == {"min": 5, "max": 5}
    assert info["unreadable_images"] == 1 and any(h5["corrupt"] in p for p in info["problems"])


def test_bad_roots_give_one_line(tmp_path, capsys):
    code, out, err = _info(capsys, tmp_path / "missing")
    assert code == 2 and err.startswith("error: dataset folder not found") and err.count("\n") == 1
    fake = tmp_path / "birds.hdf5"
    fake.write_bytes(b"not really hdf5")
    code, _, err = _info(capsys, fake)
    assert code == 2 and "not an HDF5" in err
    code, _, err = _info(capsys, tmp_path)  # a folder holding a broken .hdf5 file
    assert code == 2 and "HDF5" in err and "Traceback" not in err


def test_cli_subprocess_missing_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "t2i_core", "data-info", str(tmp_path / "x"),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr


def test_synthbirds_data_info(request, capsys):
    root = request.getfixturevalue("tiny_synthbirds")
    info = _json(capsys, root)
    assert info["format"] == "cvpr" and info["synthbirds"] is True
    assert info["captions_per_image"] == {"min": 10, "max": 10}
    assert info["classes"]["train"] > 0 and info["classes"]["test"] > 0
    assert info["unreadable_images"] == 0 and info["problems"] == []
