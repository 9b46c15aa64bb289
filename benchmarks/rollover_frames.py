"""How many frames one rollover takes, from ``emit`` to the rename of the base file.

Logs records through a size-rotated handler until one is due, with a profiler watching the
emit that rolls over. Prints the Python frames on the stack when the base file is renamed
(emit first), and every lockrotate function called from the start of that emit up to the
rename. Run from the repository root: ``python benchmarks/rollover_frames.py``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from types import FrameType
from typing import Any

import lockrotate


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = os.path.join(folder, "app.log")
        handler = lockrotate.RotatingFileHandler(base, maxBytes=150, backupCount=3)
        record = logging.makeLogRecord({"msg": "x" * 99})
        handler.handle(record)  # the file is open and 100 bytes long: the next record is due
        stack: list[str] = []
        called: list[str] = []
        at_rename: list[str] = []

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event == "call":
                name = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_code.co_qualname}"
                stack.append(name)
                if "lockrotate" in frame.f_code.co_filename and not at_rename:
                    called.append(name)
            elif event == "return" and stack:
                stack.pop()
            elif event == "c_call" and getattr(arg, "__name__", "") == "rename" and not at_rename:
                at_rename.extend(stack)

        sys.setprofile(profile)
        try:
            handler.emit(record)
        finally:
            sys.setprofile(None)
            handler.close()
        assert handler.stats.rollovers == 1, "no rollover happened"
    frames = at_rename[at_rename.index(next(n for n in at_rename if n.endswith(".emit"))) :]
    print(f"{len(frames)} frames on the stack at the rename (emit first):")
    for name in frames:
        print(f"  {name}")
    print(f"{len(called)} lockrotate calls from emit to the rename, {len(set(called))} distinct")
    print(f"  in {len({name.split(':')[0] for name in called})} files")
    if "-v" in sys.argv:
        for name in called:
            print(f"  {name}")


if __name__ == "__main__":
    main()
