"""Every command's --help states each default once, and never "(default: None)"."""

import re

from t2i_core.__main__ import build_parser


def _subparsers(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_help_names_each_default_once():
    commands = _subparsers(build_parser())
    assert {"generate", "train", "evaluate"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, name
        flat = re.sub(r"\s+", " ", text)
        for option in re.split(r" (?=--?[a-z])", flat):
            assert option.count("default") <= 1, (name, option)
    generate = re.sub(r"\s+", " ", commands["generate"].format_help())
    assert "(default: 8)" in generate and "(default: 0)" in generate  # real defaults stay
    assert "weights folder (default: the bundled weights/synthbirds) --tiny" in generate


def test_every_listed_command_is_present():
    from t2i_core.cli import COMMANDS

    assert set(_subparsers(build_parser())) == set(COMMANDS)
