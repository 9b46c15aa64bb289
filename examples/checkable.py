"""A log line that proves itself whole: writer, number, padding, then a CRC-32 of the rest.

The examples log such lines so that the integration tests can read every file back and find
each record once, whole (a torn or merged line fails its CRC). Your application logs what it
likes; nothing here is needed to use lockrotate.
"""

from __future__ import annotations

import os
import tempfile
import zlib

_CRC_WIDTH = 9  # a space and 8 hex digits


def checkable(writer: str, seq: int, size: int = 100) -> str:
    """Record *seq* of *writer*, about *size* bytes once a newline is added."""
    head = f"{writer} {seq} "
    body = head + "x" * max(0, size - len(head) - _CRC_WIDTH - 1)
    return f"{body} {zlib.crc32(body.encode('ascii')):08x}"


def log_dir() -> str:
    """``$LOCKROTATE_LOG_DIR``, or the system's temporary folder: an example never writes
    into the folder it is run from."""
    return os.environ.get("LOCKROTATE_LOG_DIR") or tempfile.gettempdir()


# For dictConfig files, which cannot read the environment: "filename": "ext://checkable.TIMED".
TIMED = os.path.join(log_dir(), "timed.log")
SIZE = os.path.join(log_dir(), "size.log")
