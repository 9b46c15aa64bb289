"""Records that can be checked, and the check: every record exactly once, whole, in order.

A record is ``<writer> <seq> <padding> <crc32>``: the checksum covers the rest of the line,
so a line that lost or gained bytes (a torn write, a NUL hole left by ``copytruncate``)
cannot pass for a record.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

_LINE = re.compile(rb"(?P<writer>[\w.-]+) (?P<seq>\d+) x* (?P<crc>[0-9a-f]{8})")
_CRC_WIDTH = 9


def record_text(writer: str, seq: int, size: int = 100) -> str:
    """The message of record *seq* of *writer*, about *size* bytes once a newline is added."""
    head = f"{writer} {seq} "
    body = head + "x" * max(0, size - len(head) - _CRC_WIDTH - 1)
    return f"{body} {zlib.crc32(body.encode('ascii')):08x}"


def read_bytes(path: str) -> bytes:
    """The content of a log file, decompressed if its name says it is compressed."""
    extension = os.path.splitext(path)[1]
    if extension == ".gz":
        return gzip.decompress(_raw(path))
    if extension == ".bz2":
        return bz2.decompress(_raw(path))
    if extension == ".xz":
        return lzma.decompress(_raw(path))
    if extension == ".zst":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(_raw(path))
    return _raw(path)


def _raw(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def log_files(folder: str, base_name: str) -> list[str]:
    """The base file and every file whose name starts with ``<base_name>.`` (not hidden)."""
    names = [
        name
        for name in os.listdir(folder)
        if name == base_name or (name.startswith(base_name + ".") and not name.startswith("."))
    ]
    return [os.path.join(folder, name) for name in sorted(names)]


@dataclass
class Report:
    """What reading every file back found."""

    expected: int = 0
    found: int = 0
    lost: int = 0
    duplicated: int = 0
    torn: int = 0
    out_of_order: int = 0
    unexpected: int = 0
    sizes: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.duplicated or self.torn or self.out_of_order or self.unexpected
        )

    @property
    def files(self) -> int:
        return len(self.sizes)

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def verify(
    files: Iterable[str],
    expected: Mapping[str, int],
    read: Callable[[str], bytes] = read_bytes,
    in_flight: Mapping[str, int] | None = None,
) -> Report:
    """Check that writer ``w`` wrote records ``0 .. expected[w] - 1``, each exactly once.

    A line that is not a whole record counts as torn; a writer's records must appear in
    increasing order within each file. ``in_flight[w]`` is the record a stalled writer was
    inside ``emit`` with: it may be there (once, whole) or not.
    """
    in_flight = in_flight or {}
    report = Report(expected=sum(expected.values()))
    seen: Counter[tuple[str, int]] = Counter()
    for path in files:
        data = read(path)
        report.sizes[path] = len(data)
        last: dict[str, int] = defaultdict(lambda: -1)
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        else:
            report.note(f"{path}: last line has no newline")
        for line in lines:
            m = _LINE.fullmatch(line)
            if m is None or int(m["crc"], 16) != zlib.crc32(line[: m.start("crc") - 1]):
                report.torn += 1
                report.note(f"{path}: torn line {line[:80]!r}")
                continue
            writer, seq = m["writer"].decode("ascii"), int(m["seq"])
            if seq >= expected.get(writer, 0) and in_flight.get(writer) != seq:
                report.unexpected += 1
                report.note(f"{path}: unexpected record {writer} {seq}")
                continue
            seen[writer, seq] += 1
            if seq <= last[writer]:
                report.out_of_order += 1
                report.note(f"{path}: {writer} {seq} after {last[writer]}")
            last[writer] = seq
    report.found = sum(count for (w, seq), count in seen.items() if seq < expected.get(w, 0))
    report.duplicated = sum(count - 1 for count in seen.values() if count > 1)
    for writer, count in expected.items():
        for seq in range(count):
            if (writer, seq) not in seen:
                report.lost += 1
                report.note(f"lost {writer} {seq}")
    return report
