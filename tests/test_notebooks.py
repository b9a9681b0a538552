"""The tutorial notebooks run end to end in their fast mode (``T2I_NB_FAST=1``) the way users and
CI tools run them: plain ``jupyter nbconvert --to notebook --execute`` in a subprocess.

Each notebook executes in a fresh kernel started from *this* interpreter (a throwaway
kernelspec under the test's tmp folder, so nothing is installed and the right Python is used).
A run that does not finish fails with nbconvert's own cell timeout, or with a hard limit on the
whole run (the process group is killed), never by hanging. The notebooks share one work folder,
in order, so 03/04 can use the model 02 trained; each also runs on its own. Executed copies go to
a tmp folder: ``notebooks/`` must stay untouched and the committed notebooks must have no outputs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebooks run on; requirements-dev.txt)
import ipywidgets  # noqa: F401  (notebooks 03 and 04 use widgets; requirements.txt)
import nbconvert  # noqa: F401  (what runs them; requirements-dev.txt)
import nbformat
import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_data_and_text_encoder", "02_gan_cls", "03_interpolation", "04_style_transfer",
            "05_evaluation_ablation", "06_beyond_birds"]
CELL_TIMEOUT = 120  # nbconvert's limit per cell, seconds (fast mode needs a few)
RUN_TIMEOUT = 300   # the whole nbconvert run, kernel start and shutdown included
KERNEL = "t2i-tests-python"


def test_the_six_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_v4_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert "T2I_NB_FAST" in code[0].source
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "outputs must be stripped"


def test_tutorial_helpers_fall_back_with_a_notice(tmp_path, monkeypatch):
    import torch

    from t2i_core import tutorial
    from t2i_core.errors import UserError

    pipe, notice = tutorial.load_pipeline("tiny")
    assert notice.startswith("NOTICE") and pipe.random_weights
    with pytest.raises(UserError):
        tutorial.load_pipeline(tmp_path)                       # not a weights folder
    monkeypatch.setattr("t2i_core.pipeline.default_weights_dir", lambda: tmp_path / "none")
    pipe, notice = tutorial.load_pipeline("auto", fallbacks=[tmp_path / "missing"])
    assert notice.startswith("NOTICE") and pipe.random_weights
    folder, notice = tutorial.text_encoder_folder("auto", workdir=tmp_path)
    assert notice.startswith("NOTICE") and tutorial.has_component(folder, "text_encoder")
    pipe.save_pretrained(tmp_path / "w")
    assert tutorial.load_pipeline("auto", fallbacks=[tmp_path / "w"])[1].startswith("NOTICE: no bundled")
    rows = tutorial.trace_shapes(pipe.models["generator"], torch.zeros(2, pipe.z_dim), torch.zeros(2, 32))
    assert rows[-1] == ("output", (2, 3, 64, 64))


def test_no_notebook_displays_into_an_output_widget():
    """nbclient (what nbconvert runs) answers an ``Output`` widget with comm messages on the shell
    channel while it waits there for the cell's reply; that send can swallow the reply's wake-up,
    and ``nbconvert --execute`` then waits forever (jupyter/nbclient#312). ``interact`` and
    ``interactive`` draw into an ``Output`` too. The notebooks show pictures in ``widgets.Image``."""
    banned = re.compile(r"\b(Output\s*\(|interactive(_output)?\s*\(|interact(_manual)?\b)")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                hit = banned.search(cell.source)
                assert hit is None, f"{path.name}: {hit.group(0)!r} (see notebooks/README.md, 'Headless')"


@pytest.fixture(scope="module")
def nb_env(tmp_path_factory):
    """The environment for nbconvert: a kernelspec for this interpreter, a shared work folder and
    fast mode."""
    root = tmp_path_factory.mktemp("nbkernel")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "t2i tests", "language": "python"}))
    work = tmp_path_factory.mktemp("nbwork")
    env = dict(os.environ)
    env.update({"JUPYTER_PATH": str(root), "T2I_NB_FAST": "1", "T2I_NB_WORKDIR": str(work),
                "GRADIO_ANALYTICS_ENABLED": "False", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(NB_DIR.parent), os.environ.get("PYTHONPATH")]))})
    env.pop("MPLBACKEND", None)  # the notebooks use the inline backend
    if not any(k in env for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")):
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # idle OpenMP threads sleep: faster on a busy CI box
    return env


def nbconvert_execute(path: Path, out_dir: Path, env: dict, *, timeout: float = RUN_TIMEOUT):
    """``jupyter nbconvert --to notebook --execute`` on ``path`` into ``out_dir``; returns
    (return code, output text, seconds). Past ``timeout`` the whole process group (nbconvert and
    its kernel) is killed and the test fails saying so."""
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           f"--ExecutePreprocessor.kernel_name={KERNEL}", f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}",
           "--output-dir", str(out_dir), str(path)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=NB_DIR.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{path.name}: nbconvert did not finish in {timeout:.0f} s (killed); its output:\n{out[-3000:]}")
    return proc.returncode, out, time.perf_counter() - t0


def _snapshot(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if ".ipynb_checkpoints" not in p.parts}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_in_fast_mode(path, nb_env, tmp_path):
    before = _snapshot(NB_DIR)
    rc, out, seconds = nbconvert_execute(path, tmp_path, nb_env)
    print(f"{path.stem}: {seconds:.1f} s")
    assert rc == 0, f"{path.name}: nbconvert failed (exit {rc}):\n{out[-3000:]}"
    assert _snapshot(NB_DIR) == before, "executing a notebook must not write into notebooks/"
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), "a cell did not run"
    # the setup cell reports fast mode, so the parameters really came from the environment
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "FAST mode" in text


def test_notebook_05_ablates_under_the_fast_recipe_too(nb_env, tiny_synthbirds, tmp_path):
    """``RECIPE = "fast"`` trains the four variants under ``--recipe fast`` (θ from the train-text
    run given as TEXT_ENCODER) instead of showing the paper recipe's stored results."""
    text_run = tmp_path / "text"
    subprocess.run([sys.executable, "-m", "t2i_core", "train-text", "--data", str(tiny_synthbirds), "--out",
                    str(text_run), "--preset", "tiny", "--steps", "2", "--no-progress"], check=True,
                   capture_output=True, env=nb_env, cwd=NB_DIR.parent)
    work = tmp_path / "work"
    env = {**nb_env, "T2I_NB_RECIPE": "fast", "T2I_NB_TEXT_ENCODER": str(text_run), "T2I_NB_WORKDIR": str(work)}
    path = NB_DIR / "05_evaluation_ablation.ipynb"
    rc, out, _ = nbconvert_execute(path, tmp_path, env)
    assert rc == 0, f"{path.name} with RECIPE=fast failed (exit {rc}):\n{out[-3000:]}"
    summary = json.loads((work / "05_ablation" / "ablation.json").read_text())
    assert summary["settings"]["recipe"] == "fast" and set(summary["results"]) == {
        "gan", "gan-cls", "gan-int", "gan-int-cls"}
