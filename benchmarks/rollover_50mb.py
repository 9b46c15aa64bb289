"""How long one rollover of a 50 MB file holds the lock, with and without compression.

Run: python benchmarks/rollover_50mb.py
Compression runs after the rollover, outside the lock; only putting the finished copy in
place takes the lock again, and that hold is reported separately.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import lockrotate
from lockrotate.bench.verify import record_text

SIZE = 50_000_000
ROUNDS = 5


def fill(path: str) -> None:
    line = (record_text("w", 0, 120) + "\n").encode()
    with open(path, "wb") as f:
        f.write(line * (SIZE // len(line)))


def one_rollover(folder: str, compress: str | None) -> tuple[float, float | None]:
    path = os.path.join(folder, "app.log")
    fill(path)
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=2 * SIZE, backupCount=3, compress=compress, check_interval=0
    )
    try:
        handler.doRollover()
        rollover = handler.stats.lock_holds[-1]
        if compress is None:
            return rollover, None
        deadline = time.monotonic() + 120
        while handler.stats.lock_acquisitions < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        if handler.stats.lock_acquisitions < 2:
            raise RuntimeError("compression did not finish within 120 s")
        return rollover, handler.stats.lock_holds[-1]
    finally:
        handler.close()


def main() -> None:
    for compress in (None, "gzip"):
        holds: list[float] = []
        finishes: list[float] = []
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as folder:
                rollover, finish = one_rollover(folder, compress)
                holds.append(rollover * 1e3)
                if finish is not None:
                    finishes.append(finish * 1e3)
        line = f"compress={compress!s:5} rollover holds the lock {statistics.median(holds):.3f} ms"
        if finishes:
            line += f"; putting the .gz in place holds it {statistics.median(finishes):.3f} ms"
        print(f"{line} (median of {ROUNDS}, 50 MB file)")


if __name__ == "__main__":
    main()
