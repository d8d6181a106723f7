"""``--help`` of every command reads as plain text: the docstrings its descriptions come from write literals with
reStructuredText's double backticks, which the help shows without them."""

from __future__ import annotations

import argparse

import pytest
from isaac.rl.workbench.frontends.cli import build_parser, main
from isaac.rl.workbench.frontends.cli_common import Parser


def _parsers(parser: argparse.ArgumentParser, name: str = "isaac-rl-workbench"):
    """``(command line, parser)`` for the parser and each of its subcommands', depth first."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, child in action.choices.items():
                yield from _parsers(child, f"{name} {command}")


def test_no_help_text_shows_double_backticks():
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 15  # every command, the runs subcommands included
    shown = {name: [line for line in p.format_help().splitlines() if "``" in line] for name, p in parsers}
    assert {name: lines for name, lines in shown.items() if lines} == {}


def test_the_top_description_names_the_command_plainly(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "isaac-rl-workbench: inspect or check a USD robot" in capsys.readouterr().out


def test_bench_help_has_no_double_backticks(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "``" not in capsys.readouterr().out


def test_argument_help_and_descriptions_are_cleaned_but_single_quotes_kept():
    parser = Parser(prog="x", description="the ``spec`` key")
    parser.add_argument("--a", help="sets ``train.eval_every``; 'cpu' or 'cuda'")
    text = parser.format_help()
    assert "the spec key" in text and "sets train.eval_every; 'cpu' or 'cuda'" in text
