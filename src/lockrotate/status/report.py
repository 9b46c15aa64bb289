"""What ``lockrotate status`` saw: the options it was given and the report, the JSON
document's fields."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

EXIT_OK, EXIT_ATTENTION = 0, 1
SCHEMA = 1
DEFAULT_STUCK_AFTER = 10.0
# A base file may pass maxBytes by what the writers append before they notice the rollover
# (each re-checks at least every check_interval); twice the limit means rollovers stopped.
OVERSIZE_FACTOR = 2

STATE_TEXT = {
    "plain": "plain",
    "compressed": "compressed",
    "waiting": "waiting to be compressed",
    "interrupted": "plain and compressed: compression interrupted (next rollover tidies)",
    "side-by-side": "plain and compressed with different mtimes (left alone)",
    "scratch": "hidden scratch file, in use",
    "stray": "hidden scratch file, stray",
}


@dataclass(frozen=True)
class Options:
    path: str
    lock_dir: str | None = None
    when: str | None = None
    utc: bool = False
    max_bytes: int | None = None
    stuck_after: float = DEFAULT_STUCK_AFTER


@dataclass
class Report:
    """What status saw, as the JSON document's fields."""

    options: Options
    checked_at: float
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)
    lock: dict[str, Any] = field(default_factory=dict)
    period: dict[str, Any] | None = None
    #: Entries of the folder that are not this log's (neither its name nor its hidden stem
    #: begins them): counted, never parsed.
    skipped: int = 0

    def problem(self, kind: str, message: str) -> None:
        self.problems.append({"kind": kind, "message": message})

    def note(self, kind: str, message: str) -> None:
        self.notes.append({"kind": kind, "message": message})

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if self.problems else EXIT_OK

    def document(self) -> dict[str, Any]:
        """The JSON document. Every string in it is valid Unicode, so every JSON consumer
        reads it: a byte of a file name (or of a command line) that is not UTF-8 appears as
        the four characters ``\\xNN``, as Python's ``backslashreplace`` writes it."""
        rotated = [row for row in self.files if row["state"] not in ("scratch", "stray")]
        document: dict[str, Any] = _unicode(
            {
                "schema": SCHEMA,
                "path": self.options.path,
                "checked_at": self.checked_at,
                "healthy": not self.problems,
                "exit_status": self.exit_code,
                "problems": self.problems,
                "notes": self.notes,
                "base": self.base,
                "files": self.files,
                "outside_scheme": self.outside,
                "lock": self.lock,
                "period": self.period,
                "totals": {
                    "rotated_files": len(rotated),
                    "rotated_bytes": sum(row["size"] for row in rotated),
                    "waiting": sum(row["state"] == "waiting" for row in rotated),
                    "stray_scratch": sum(row["state"] == "stray" for row in self.files),
                    "outside_scheme": len(self.outside),
                    "skipped_entries": self.skipped,
                },
            }
        )
        return document


def _unicode(value: Any) -> Any:
    """*value* with every string made valid Unicode (see :meth:`Report.document`)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            try:
                raw = value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate that stands for no byte
                return value.encode("utf-8", "backslashreplace").decode("utf-8")
            return raw.decode("utf-8", "backslashreplace")
        return value
    if isinstance(value, dict):
        return {_unicode(key): _unicode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unicode(item) for item in value]
    return value


def device_text(dev: int) -> str:
    return f"{os.major(dev)}:{os.minor(dev)}"
