"""What the command-line tools (``lockrotate bench``, ``lockrotate status``) share: a parser
whose errors are one line and exit code 2, and the types of their arguments."""

from __future__ import annotations

import argparse
import math
import re
from typing import Final, NoReturn

EXIT_USAGE: Final = 2
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
