"""skipjax.cli: command-line errors are one FATAL line with exit status 2."""

import pytest

from skipjax import cli


def test_fatal_is_one_line_and_exit_2(capsys):
  with pytest.raises(SystemExit) as error:
    cli.fatal("first\n\n  second  ")
  assert error.value.code == cli.BAD_USAGE == 2
  assert capsys.readouterr().err == "FATAL first / second\n"


def test_closest():
  assert cli.closest("lstm_addng", ["lstm_adding", "gru_adding", "lstm_ptb"]) == "lstm_adding"
  assert cli.closest("nope", ["lstm_adding", "gru_adding"]) is None


def test_argument_parser_errors_are_fatal_lines(capsys):
  parser = cli.ArgumentParser(prog="prog")
  parser.add_argument("--n", type=int)
  with pytest.raises(SystemExit) as error:
    parser.parse_args(["--n", "x"])
  assert error.value.code == 2
  assert capsys.readouterr().err == ("FATAL prog: argument --n: invalid int value: 'x' (--help "
                                     "lists the options)\n")
  with pytest.raises(SystemExit) as error:
    parser.parse_args(["--help"])
  assert error.value.code == 0
