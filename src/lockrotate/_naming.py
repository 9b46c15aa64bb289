"""What rotated files are called, and which files in the folder are ours.

Pure functions of names: retention deletes only what these say this log's scheme produced,
so ``app.log.bak``, ``app.log2.1`` or another log's files are never candidates.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterable

Namer = Callable[[str], str]


def lock_stem(base_path: str, lock_dir: str | None) -> str:
    """The hidden path, without extension, of this log's lock and period files.

    Beside the log, the log's own name is unique in its folder. Elsewhere, a digest of the
    log's whole path keeps ``/a/app.log`` and ``/b/app.log`` apart.
    """
    folder, name = os.path.split(base_path)
    if lock_dir is None:
        return os.path.join(folder, f".{name}")
    # The folder's real path: a log reached through a symlinked folder gets the same lock.
    real = os.path.join(os.path.realpath(folder), name)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(os.path.abspath(lock_dir), f".{name}.{digest}")


def numbered(base_path: str, index: int) -> str:
    """The stdlib's name for the *index*-th backup of a size-rotated log."""
    return f"{base_path}.{index}"


def timed(base_path: str, label: str, counter: int) -> str:
    """The name of a time-rotated file; a second file of one period gets ``.1``, ``.2``..."""
    name = f"{base_path}.{label}"
    return name if counter == 0 else f"{name}.{counter}"


def timed_backups(
    base_path: str,
    names: Iterable[str],
    label_pattern: str,
    namer: Namer | None,
    extension: str = "",
) -> list[str]:
    """The rotated files of this log among *names* (bare file names), oldest first.

    With an *extension* (compression), ``name + extension`` counts as the same file.
    """
    return [path for _, _, path in timed_entries(base_path, names, label_pattern, namer, extension)]


def next_counter(entries: list[tuple[str, int, str]], label: str) -> int:
    """The counter for one more file of period *label*: after every one there, even if
    retention removed some before them, so that names keep the files' order."""
    return max((counter + 1 for lab, counter, _ in entries if lab == label), default=0)


def timed_entries(
    base_path: str,
    names: Iterable[str],
    label_pattern: str,
    namer: Namer | None,
    extension: str = "",
) -> list[tuple[str, int, str]]:
    """``(label, counter, path)`` of this log's rotated files among *names*, oldest first."""
    folder, base_name = os.path.split(base_path)
    own = re.compile(rf"{re.escape(base_name)}\.({label_pattern})(?:\.([1-9]\d*))?", re.ASCII)
    stamp = re.compile(rf"({label_pattern})(?:\.([1-9]\d*))?(?!\d)", re.ASCII)
    found: list[tuple[str, int, str]] = []
    for name in names:
        bare = name[: -len(extension)] if extension and name.endswith(extension) else name
        if namer is None:
            m = own.fullmatch(bare)
            if m:
                found.append((m[1], int(m[2] or 0), name))
            continue
        for m in stamp.finditer(bare):
            if os.path.basename(namer(timed(base_path, m[1], int(m[2] or 0)))) == bare:
                found.append((m[1], int(m[2] or 0), name))
                break
    found.sort()
    return [(label, counter, os.path.join(folder, name)) for label, counter, name in found]


def beyond_retention(oldest_first: list[str], keep: int) -> list[str]:
    """The oldest files that do not fit in *keep*; ``keep == 0`` keeps them all."""
    if keep <= 0 or len(oldest_first) <= keep:
        return []
    return oldest_first[: len(oldest_first) - keep]


def expired(
    oldest_first: list[tuple[str, float, int]],
    keep: int,
    max_age: float | None,
    max_total_bytes: int | None,
    now: float,
) -> list[str]:
    """Which rotated files retention removes, given ``(path, mtime, size)`` oldest first.

    Beyond the newest *keep* (0: no limit by count), older than *max_age* seconds, and then
    the oldest until the rest together fit in *max_total_bytes*.
    """
    doomed = set(beyond_retention([path for path, _, _ in oldest_first], keep))
    if max_age is not None:
        doomed.update(path for path, mtime, _ in oldest_first if now - mtime > max_age)
    if max_total_bytes is not None:
        total = sum(size for path, _, size in oldest_first if path not in doomed)
        for path, _, size in oldest_first:
            if total <= max_total_bytes:
                break
            if path not in doomed:
                doomed.add(path)
                total -= size
    return [path for path, _, _ in oldest_first if path in doomed]


def scratch_path(base_path: str) -> str:
    """A hidden name in the log's folder for a file on its way in or out (a compressed copy
    being written, a rotated file about to be deleted): ``.<log>.<host>.<pid>.<random>.z``."""
    folder, name = os.path.split(base_path)
    return os.path.join(folder, f".{name}.{_HOST}.{os.getpid()}.{secrets.token_hex(6)}.z")


_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]
_FOREIGN_STALE_AFTER = 3600.0


def stale_scratch(base_path: str, names: Iterable[str], now: float) -> list[str]:
    """The scratch files of this log that nobody is working on any more.

    Ours (same host) are stale once their process is gone. A process of another host or
    container sharing the folder cannot be asked, so its scratch files are stale only after
    an hour without a write.
    """
    folder, name = os.path.split(base_path)
    own = re.compile(rf"\.{re.escape(name)}\.([0-9a-f]{{8}})\.(\d+)\.[0-9a-f]{{12}}\.z", re.ASCII)
    stale = []
    for entry in names:
        m = own.fullmatch(entry)
        if m is None:
            continue
        path = os.path.join(folder, entry)
        if m[1] == _HOST:
            try:
                os.kill(int(m[2]), 0)
            except ProcessLookupError:
                stale.append(path)
            except PermissionError:
                continue
            continue
        try:
            if now - os.lstat(path).st_mtime > _FOREIGN_STALE_AFTER:
                stale.append(path)
        except FileNotFoundError:
            continue
    return stale
