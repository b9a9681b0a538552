"""The checkout is a package: ``pip install -e .`` gives ``t2i_core`` and the ``t2i`` command,
and nothing reaches it through ``sys.path`` hacks."""

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import t2i_core

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_declares_the_package_and_the_t2i_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["t2i"] == "t2i_core.__main__:main"
    assert set(project["dynamic"]) == {"version", "dependencies"}   # one place each


def test_installed_package_has_this_version_and_t2i_runs():
    # README's test command installs the checkout (pip install -e .)
    assert metadata.version("gan-cls-explorer") == t2i_core.__version__
    exe = shutil.which("t2i")
    assert exe, "the t2i console script is not on PATH: run `pip install -e .`"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0 and t2i_core.__version__ in out.stdout + out.stderr


def test_no_sys_path_hacks():
    offenders = []
    for folder in ("benchmarks", "scripts", "tests", "notebooks", "t2i_core"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".ipynb") and path.name != Path(__file__).name:
                if re.search(r"sys\.path\.(insert|append)", path.read_text(encoding="utf-8")):
                    offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
