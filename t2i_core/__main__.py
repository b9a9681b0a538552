"""``python -m t2i_core <command>``: the command-line entry point (see ``--help``)."""

import argparse
import importlib
import sys

from .version import __version__
from .cli import COMMANDS
from .errors import UserError

DESCRIPTION = """GAN-CLS Explorer: text-to-image synthesis after Reed et al. (ICML 2016).

Typical sequence (SynthBirds, CPU):
  python -m t2i_core make-dataset --out data/synthbirds
  python -m t2i_core data-info data/synthbirds
  python -m t2i_core train-text --data data/synthbirds --out runs/text
  python -m t2i_core train --data data/synthbirds --text-encoder runs/text --out runs/gan --recipe fast
  python -m t2i_core train-style --weights runs/gan/weights --out runs/style
  python -m t2i_core generate "this bird has a red crown and blue wings" --weights runs/style/weights --out grid.png
  python -m t2i_core evaluate --weights runs/style/weights
Run `python -m t2i_core <command> --help` for the options of each command."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" only where it says something: not when the help already names its
    default, nor for None or off switches."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


def _load(module_name):
    return importlib.import_module(f".cli.{module_name}", __package__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m t2i_core",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"t2i_core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module_name in COMMANDS.items():
        module = _load(module_name)  # a missing command module is a broken install: fail loudly
        p = sub.add_parser(name, help=module.HELP, description=module.HELP,
                           formatter_class=DefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0
    try:
        return int(args._module.run(args) or 0)
    except UserError as exc:  # bad input: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable --out, missing file...: one line, no traceback
        where = f": {exc.filename}" if exc.filename is not None else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
