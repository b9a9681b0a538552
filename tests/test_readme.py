"""README's examples run as printed (with tiny sizes appended), so they cannot drift."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

# flags appended to each README command so it runs in seconds (argparse: the last flag wins)
TINY = {"make-dataset": ["--max-classes", "12", "--images-per-class", "2"],
        "train-text": ["--preset", "tiny", "--steps", "6", "--no-progress"],
        "train": ["--preset", "tiny", "--steps", "2", "--batch-size", "8", "--eval-every", "0",
                  "--standing-stats-batches", "2", "--no-progress"],
        "train-style": ["--steps", "2", "--batch-size", "8", "--no-progress"],
        "evaluate": ["--quick"]}


def _block(after: str, lang: str) -> str:
    start = README.index(after)
    return re.search(rf"```{lang}\n(.*?)```", README[start:], re.S).group(1)


def test_readme_command_line_block_runs_as_printed(tmp_path):
    lines = [ln.split("  #")[0].strip() for ln in _block("## Command line", "bash").splitlines()]
    commands = [shlex.split(ln) for ln in lines if ln.startswith("python -m t2i_core")]
    assert [c[3] for c in commands] == ["make-dataset", "data-info", "train-text", "train", "train-style",
                                        "generate", "evaluate"]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    for cmd in commands:
        argv = [sys.executable, *cmd[1:], *TINY.get(cmd[3], [])]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-2000:])
    assert (tmp_path / "grid.png").stat().st_size > 0
    assert '"text_match"' in proc.stdout                               # evaluate --json printed JSON


def test_readme_python_snippet_runs_from_any_folder(tmp_path):
    code = _block("## Python", "python")
    code += "\nassert len(images) == 4 and images[0].size == (64, 64)\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
