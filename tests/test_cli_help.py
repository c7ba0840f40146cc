"""Every command and option of the command line says what it does (``--help``)."""

from __future__ import annotations

import argparse

from hub.cli import build_parser


def _undocumented(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {a.dest for a in action._choices_actions if a.help}
            for name, sub in action.choices.items():
                if name not in helped:
                    out.append(" ".join([*path, name]))
                out += _undocumented(sub, [*path, name])
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            out.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    return out


def test_every_command_and_option_has_help():
    assert _undocumented(build_parser(), ["hub"]) == []
