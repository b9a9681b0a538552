"""The tutorial notebooks run end to end in their fast mode (``T2I_NB_FAST=1``) with nbclient.

Each notebook executes in a fresh kernel started from *this* interpreter (a throwaway
kernelspec under the test's tmp folder, so nothing is installed and the right Python is used).
The notebooks share one work folder, in order, so 03/04 can use the model 02 trained; each also
runs on its own. Executed copies are never written back: ``notebooks/`` must stay untouched and
the committed notebooks must have no outputs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from queue import Empty

import ipykernel  # noqa: F401  (the kernel the notebooks run on; requirements-dev.txt)
import ipywidgets  # noqa: F401  (notebooks 03 and 04 use widgets; requirements.txt)
import nbclient
import nbformat
import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_data_and_text_encoder", "02_gan_cls", "03_interpolation", "04_style_transfer",
            "05_evaluation_ablation", "06_beyond_birds"]
CELL_TIMEOUT = 300  # seconds per cell (fast mode needs a few)
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


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernelspec for this interpreter, a shared work folder and the fast-mode environment."""
    root = tmp_path_factory.mktemp("nbkernel")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "t2i tests", "language": "python"}))
    work = tmp_path_factory.mktemp("nbwork")
    env = {"JUPYTER_PATH": str(root), "T2I_NB_FAST": "1", "T2I_NB_WORKDIR": str(work),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(NB_DIR.parent), os.environ.get("PYTHONPATH")]))}
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    mp.delenv("MPLBACKEND", raising=False)  # the notebooks use the inline backend
    if not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")):
        mp.setenv("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep: faster on a busy CI box
    yield work
    mp.undo()


def _poll_in_slices(kc, slice_s: float = 0.25) -> None:
    """Make the kernel client's channel reads wait in short slices.

    pyzmq's asyncio poll can miss the wake-up of a message that arrives while comm (widget)
    traffic is being read from the other channel; it then only sees the message when its timeout
    fires, so nbclient idles for the whole cell timeout and carries on. Short polls bound that
    delay; nothing else changes (same messages, same overall timeout)."""
    for channel in (kc.shell_channel, kc.iopub_channel):
        original = channel.get_msg

        async def get_msg(timeout=None, _original=original):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = slice_s if deadline is None else max(0.0, min(slice_s, deadline - time.monotonic()))
                try:
                    return await _original(timeout=left)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg = get_msg


def _snapshot(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if ".ipynb_checkpoints" not in p.parts}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_fast_mode(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    before = _snapshot(NB_DIR)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL, shutdown_kernel="immediate",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.on_notebook_start = lambda **_: _poll_in_slices(client.kc)
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    print(f"{path.stem}: {seconds:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert _snapshot(NB_DIR) == before, "executing a notebook must not write into notebooks/"
    # the setup cell reports fast mode, so the parameters really came from the environment
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "FAST mode" in text
