"""What this log's files are called: pure functions of names.

Rotated files follow the stdlib's schemes (``app.log.3``; ``app.log.<label>``, where
lockrotate adds ``.1``, ``.2``... for a second file of one period). Companion files are hidden
beside the log (or in ``lock_dir``): ``.app.log.lock``, ``.app.log.period`` and scratch files
``.app.log.<host>.<pid>.<random>.z``. A log name too long to take those suffixes within the
filesystem's NAME_MAX gets a shortened stem with a digest, so every companion name fits.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import Final

from ._schedule import TimeSchedule
from ._system import REAL, System

Namer = Callable[[str], str]
#: Where a rotated file stands in its scheme: a backup index, or a label and its counter.
Slot = int | tuple[str, int]

NAME_MAX: Final = 255
# The longest tail added to a stem: ".<8 hex>.<pid, up to 7 digits>.<12 hex>.z".
_TAIL: Final = 32
_DIGEST: Final = 16


def hidden_stem(name: str) -> str:
    """``.<name>``, shortened with a digest of the whole name when a tail would not fit."""
    raw = os.fsencode(name)
    if 1 + len(raw) + _TAIL <= NAME_MAX:
        return "." + name
    digest = hashlib.sha256(raw).hexdigest()[:_DIGEST]
    kept = raw[: NAME_MAX - _TAIL - _DIGEST - 2]
    return "." + os.fsdecode(kept) + "~" + digest


def lock_stem(base_path: str, lock_dir: str | None) -> str:
    """The hidden path, without extension, of this log's lock and period files.

    Beside the log, the log's own name is unique in its folder. Elsewhere, a digest of the
    log's whole path keeps ``/a/app.log`` and ``/b/app.log`` apart.
    """
    folder, name = os.path.split(base_path)
    if lock_dir is None:
        return os.path.join(folder, hidden_stem(name))
    # The folder's real path: a log reached through a symlinked folder gets the same lock.
    real = os.path.join(os.path.realpath(folder), name)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:_DIGEST]
    return os.path.join(os.path.abspath(lock_dir), hidden_stem(f"{name}.{digest}"))


def lock_path(base_path: str, lock_dir: str | None) -> str:
    """The log's lock file (see :func:`lock_stem`)."""
    return lock_stem(base_path, lock_dir) + ".lock"


def period_path(base_path: str, lock_dir: str | None) -> str:
    """The log's period ledger, beside its lock file."""
    return lock_stem(base_path, lock_dir) + ".period"


def companion_names(base_name: str) -> tuple[str, str]:
    """The names of the lock and period files in the folder of a log named *base_name*
    (without ``lock_dir``)."""
    stem = hidden_stem(base_name)
    return stem + ".lock", stem + ".period"


def check_fits(base_path: str, longest_tail: str) -> None:
    """Refuse a log whose rotated names (base name + *longest_tail*) exceed NAME_MAX."""
    name = os.path.basename(base_path)
    if len(os.fsencode(name + longest_tail)) > NAME_MAX:
        raise ValueError(
            f"filename {name!r} is too long: its rotated copies (such as "
            f"'{name}{longest_tail}') would exceed the {NAME_MAX}-byte limit on a file name"
        )


def numbered_name(base_path: str, index: int) -> str:
    """The stdlib's name for the *index*-th backup of a size-rotated log."""
    return f"{base_path}.{index}"


def timed_name(base_path: str, label: str, counter: int) -> str:
    """The name of a time-rotated file; a second file of one period gets ``.1``, ``.2``..."""
    name = f"{base_path}.{label}"
    return name if counter == 0 else f"{name}.{counter}"


def scratch_path(base_path: str, system: System = REAL) -> str:
    """A hidden name in the log's folder for a file on its way in or out (a compressed copy
    being written, a rotated file about to be deleted): ``.<log>.<host>.<pid>.<random>.z``."""
    folder, name = os.path.split(base_path)
    stem = hidden_stem(name)
    pid = system.getpid()
    return os.path.join(folder, f"{stem}.{_HOST}.{pid}.{secrets.token_hex(6)}.z")


_HOST: Final = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[
    :8
]


def scratch_pattern(base_name: str) -> re.Pattern[str]:
    """Matches this log's scratch names; groups: host, pid."""
    stem = re.escape(hidden_stem(base_name))
    return re.compile(rf"{stem}\.([0-9a-f]{{8}})\.(\d+)\.[0-9a-f]{{12}}\.z", re.ASCII)


def scratch_is_ours(host: str) -> bool:
    """Whether a scratch file was made on this host (so its pid can be asked)."""
    return host == _HOST


def bare(name: str, extension: str) -> tuple[str, bool]:
    """*name* without the compression *extension*, and whether it had it."""
    if extension and name.endswith(extension):
        return name[: -len(extension)], True
    return name, False


def numbered_index(base_name: str, name: str, limit: int) -> int | None:
    """The backup index of *name* (without compression extension), if it is one of this
    log's numbered names up to *limit* (``app.log.1`` ... ``app.log.<limit>``)."""
    prefix = base_name + "."
    digits = name[len(prefix) :]
    if name.startswith(prefix) and digits.isascii() and digits.isdigit() and digits[0] != "0":
        index = int(digits)
        return index if index <= limit else None
    return None


def timed_label(
    base_name: str, name: str, label_pattern: str, namer: Namer | None
) -> tuple[str, int] | None:
    """``(label, counter)`` if *name* (without compression extension) is one of this log's
    time-rotated names; the label's date is checked by the caller."""
    if namer is None:
        m = re.fullmatch(
            rf"{re.escape(base_name)}\.({label_pattern})(?:\.([1-9]\d*))?", name, re.ASCII
        )
        return None if m is None else (m[1], int(m[2] or 0))
    for m in re.finditer(rf"({label_pattern})(?:\.([1-9]\d*))?(?!\d)", name, re.ASCII):
        label, counter = m[1], int(m[2] or 0)
        if os.path.basename(namer(timed_name(base_name, label, counter))) == name:
            return label, counter
    return None


class NumberedScheme:
    """``app.log.1`` (newest) to ``app.log.<limit>``, or what ``namer`` makes of them."""

    by_write_time = False

    def __init__(self, base_path: str, limit: int, namer: Namer | None) -> None:
        self.base_name = os.path.basename(base_path)
        self.limit = limit
        self.namer = namer
        self.prefix = self.base_name + "." if namer is None else ""
        self._named: dict[str, int] | None = None

    def _by_namer(self) -> dict[str, int]:
        """Every name the namer gives, once per scheme: a namer need not be reversible."""
        if self._named is None:
            assert self.namer is not None
            namer = self.namer
            self._named = {
                os.path.basename(namer(numbered_name(self.base_name, i))): i
                for i in range(1, self.limit + 1)
            }
        return self._named

    def names(self) -> Iterator[str]:
        """Every name of the scheme, newest first (without compression extension)."""
        if self.namer is None:
            return (numbered_name(self.base_name, i) for i in range(1, self.limit + 1))
        return iter(self._by_namer())

    def parse(self, name: str) -> tuple[tuple[float, int], Slot] | None:
        if self.namer is None:
            index = numbered_index(self.base_name, name, self.limit)
        else:
            index = self._by_namer().get(name)
        return None if index is None else ((-index, 0), index)


class TimedScheme:
    """``app.log.<label>`` and ``app.log.<label>.<counter>``, where the label must read back
    as a real date in the schedule's ``suffix``; or what ``namer`` makes of them."""

    by_write_time = True

    def __init__(self, base_path: str, schedule: TimeSchedule, namer: Namer | None) -> None:
        self.base_name = os.path.basename(base_path)
        self.schedule = schedule
        self.namer = namer
        self.prefix = self.base_name + "." if namer is None else ""

    def parse(self, name: str) -> tuple[tuple[float, int], Slot] | None:
        found = timed_label(self.base_name, name, self.schedule.label_pattern, self.namer)
        if found is None:
            return None
        label, counter = found
        instant = self.schedule.parse_label(label)
        if instant is None:
            return None
        return (instant, counter), (label, counter)


class RotatedNameError(ValueError):
    """The user's naming hook makes a rotated name lockrotate could not find again."""


def check_rotated_name(base_path: str, dest: str, parse: Callable[[str], object]) -> None:
    """Refuse, before anything is renamed, a rotated name that the inventory would not find
    again (in another folder, or not what the hook makes of the scheme's names): every later
    rollover would collide with it and the log would grow without bound."""
    folder = os.path.dirname(base_path)
    if os.path.dirname(os.path.abspath(dest)) != folder:
        where = f"outside the log's folder {folder!r}"
    elif parse(os.path.basename(dest)) is None:
        where = "not what the hook makes of this log's rotated names"
    else:
        return
    raise RotatedNameError(
        f"lockrotate cannot rotate {base_path!r}: namer/rotation_filename made {dest!r}, "
        f"{where}; lockrotate finds rotated files only in the log's own folder, so rotated "
        "names must stay there (the log is not rotated until the hook is changed)"
    )
