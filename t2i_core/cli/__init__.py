"""Sub-commands of ``python -m t2i_core``.

Each command is one module here exposing ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules must import torch and other heavy packages inside ``run`` so that
``--help`` stays instant. Register a new command by adding its module name to ``COMMANDS``.
"""

# command name -> module name in this package (order is the order shown by --help)
COMMANDS = {
    "make-dataset": "make_dataset",
    "data-info": "data_info",
    "train-text": "train_text",
    "train": "train",
    "train-style": "train_style",
    "generate": "generate",
    "evaluate": "evaluate",
    "ablate": "ablate",
    "train-judge": "train_judge",
}
