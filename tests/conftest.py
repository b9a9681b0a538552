"""Shared test fixtures. Everything here is small: tests run on CPU in seconds."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_synthbirds(tmp_path_factory):
    """A small SynthBirds folder: 2 images for each of 60 classes (all splits present)."""
    from t2i_core.data.synthbirds import make_dataset

    root = tmp_path_factory.mktemp("synthbirds")
    make_dataset(root, images_per_class=2, seed=0, size=64, workers=1, max_classes=60)
    return root


@pytest.fixture(scope="module")
def tiny():
    """A random-weight tiny ``T2IPipeline`` (seed 0)."""
    from t2i_core import T2IPipeline

    return T2IPipeline.from_preset("tiny", seed=0)


@pytest.fixture(scope="module")
def judge():
    """The bundled attribute judge."""
    from t2i_core.eval.judge import load_judge

    return load_judge()
