"""Command-line flags generated from a training config dataclass, so each default lives in one
place (the dataclass) and ``--help`` shows it.

``add_config_flags(parser, Config, helps)`` adds ``--field-name`` for every field named in
``helps`` (in that order), typed from the field's default; a bool field becomes ``--x/--no-x``.
Flags the user does not give are absent from ``args`` (``argparse.SUPPRESS``), so
``config_overrides(args, Config)`` returns exactly what was typed: a resumed run or a recipe
keeps its own values for the rest.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields


def _default(field):
    if field.default is not MISSING:
        return field.default
    return field.default_factory() if field.default_factory is not MISSING else None


def add_config_flags(parser, cls, helps: dict, *, shown_defaults: dict | None = None,
                     notes: dict | None = None, rename: dict | None = None) -> None:
    """``helps``: {field: help text}; ``shown_defaults``: {field: text} replacing the dataclass
    default in the help (e.g. a preset's); ``notes``: {field: text} appended to the help (e.g. what
    a recipe sets); ``rename``: {field: flag} for a flag not spelled like its field."""
    by_name = {f.name: f for f in fields(cls)}
    unknown = sorted(set(helps) - set(by_name))
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {unknown}")
    shown_defaults, notes, rename = shown_defaults or {}, notes or {}, rename or {}
    for name, text in helps.items():
        default = _default(by_name[name])
        flag = rename.get(name, "--" + name.replace("_", "-"))
        shown = shown_defaults.get(name, "off" if default is False else "on" if default is True else default)
        extra = f"; {notes[name]}" if name in notes else ""
        help_text = f"{text} (default: {shown}{extra})".replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            kind = type(default) if isinstance(default, (int, float, str)) else str
            parser.add_argument(flag, dest=name, type=kind, default=argparse.SUPPRESS,
                                metavar=flag.lstrip("-").replace("-", "_").upper(), help=help_text)


def config_overrides(args, cls) -> dict:
    """{field: value} of the config flags present on ``args`` (those the user typed)."""
    return {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
