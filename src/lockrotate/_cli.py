"""The ``lockrotate`` command, also run as ``python -m lockrotate``: it hands ``status`` and
``bench`` their arguments. Also what those commands share: a parser whose errors are one line
and exit code 2, and the types of their arguments.

Each command is imported only when asked for: ``status`` must start fast for the person on
call, and ``bench`` needs what the ``bench`` extra installs only to race other handlers.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

EXIT_USAGE: Final = 2
COMMANDS: Final = {
    "status": "show the state of a log: its files, lock and rotation (read only)",
    "bench": "race handlers on one workload and verify every record",
}
_WHEN: Final = re.compile(r"S|M|H|D|MIDNIGHT|W[0-6]", re.IGNORECASE)
_SIZE: Final = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """Bad arguments get one line on stderr and exit code 2, never a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def size(text: str) -> int:
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 262144, 256k or 1M")
    power = " kmg".index((m[2] or " ").lower())
    return int(m[1]) << (10 * power)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds above 0")
    return value


def when(text: str) -> str:
    if _WHEN.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of S, M, H, D, MIDNIGHT, W0-W6")
    return text.upper()


def _root_parser() -> Parser:
    parser = Parser(
        prog="lockrotate",
        description="Tools of the lockrotate logging handlers; "
        "'lockrotate COMMAND --help' tells more.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(f"  {name:8} {about}" for name, about in COMMANDS.items()),
    )
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lockrotate COMMAND ARGS``; the exit status of the command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        _root_parser().parse_args(args[:1])  # --help exits 0; the rest exits 2 with one line
    command, rest = args[0], args[1:]
    if command == "status":
        from .status import main as run
    else:
        from .bench.cli import main as run
    return run(rest)
