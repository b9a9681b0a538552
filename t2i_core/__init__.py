"""GAN-CLS Explorer core: Reed et al. 2016, *Generative Adversarial Text to Image Synthesis*.

Importing this package is cheap: torch and the models load only when ``T2IPipeline`` is used.
"""

from .version import __version__
__all__ = ["T2IPipeline", "__version__"]


def __getattr__(name):  # lazy: nothing heavy happens at import time
    if name == "T2IPipeline":
        from .pipeline import T2IPipeline

        return T2IPipeline
    raise AttributeError(f"module 't2i_core' has no attribute {name!r}")
