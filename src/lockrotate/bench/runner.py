"""One measured run: a fresh folder, the shared workload, then every file read back."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .verify import log_files, verify
from .workload import HandlerFactory, RunResult, Workload, run


def percentile(samples: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile, so the figure is one that was really observed."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Measurement:
    """Every figure of one run of one contender, as the report and ``--json`` show them."""

    contender: str
    procs: int
    threads: int
    start: str
    repeat: int
    records: int = 0
    elapsed: float = 0.0
    records_per_s: float = 0.0
    us_per_record: float = 0.0
    expected: int = 0
    found: int = 0
    lost: int = 0
    duplicated: int = 0
    torn: int = 0
    out_of_order: int = 0
    unexpected: int = 0
    files: int = 0
    rotated_files: int = 0
    bytes: int = 0
    handler_errors: int = 0
    first_error: str | None = None
    crashed: list[int | None] = field(default_factory=list)
    rollovers: int | None = None
    adopted: int | None = None
    lock_acquisitions: int | None = None
    lock_timeouts: int | None = None
    lock_wait_total: float | None = None
    lock_wait_p50: float | None = None
    lock_wait_p99: float | None = None
    lock_wait_max: float | None = None
    lock_held_p50: float | None = None
    lock_held_p99: float | None = None
    lock_held_max: float | None = None
    examples: list[str] = field(default_factory=list)
    folder: str | None = None
    verified: bool = False  # the verifier's Report.ok: every record once, whole, in order

    @property
    def ok(self) -> bool:
        return self.verified and not self.handler_errors and not self.crashed

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures.update(ok=self.ok)
        return figures


def measure(
    contender: str,
    factory: HandlerFactory,
    workload: Workload,
    folder: str,
    repeat: int = 0,
    keep: bool = False,
) -> Measurement:
    """Run *workload* in ``folder/logs`` and verify it; the folder is removed unless *keep*."""
    logs = os.path.join(folder, "logs")
    os.makedirs(logs)
    try:
        result = run(workload, factory, logs, os.path.join(folder, "results"))
        report = verify(log_files(logs, workload.filename), result.expected)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    m = Measurement(contender, workload.procs, workload.threads, workload.start, repeat)
    m.folder = folder if keep else None
    m.records = result.records
    m.elapsed = result.elapsed
    if result.elapsed > 0 and result.records:
        m.records_per_s = result.records / result.elapsed
        m.us_per_record = result.elapsed / result.records * 1e6
    m.expected, m.found = report.expected, report.found
    m.lost, m.duplicated, m.torn = report.lost, report.duplicated, report.torn
    m.out_of_order, m.unexpected = report.out_of_order, report.unexpected
    m.files = report.files
    m.rotated_files = max(0, report.files - 1)
    m.bytes = sum(report.sizes.values())
    m.examples = report.examples
    m.verified = report.ok
    m.handler_errors = result.handler_errors
    m.first_error = _first_error(result)
    m.crashed = result.crashed
    _add_stats(m, result)
    return m


def _first_error(result: RunResult) -> str | None:
    """The last line of the first traceback a worker printed: the exception itself."""
    for worker in result.workers:
        if "--- Logging error ---" in worker.stderr or worker.exitcode:
            lines = [line for line in worker.stderr.splitlines() if line and line[0] != " "]
            exceptions = [line for line in lines if not line.startswith(("---", "Traceback"))]
            if exceptions:
                return exceptions[0][:200]
    return None


def _add_stats(m: Measurement, result: RunResult) -> None:
    """Merge the handlers' own counters; ``stats`` is None for handlers that keep none."""
    stats = [w.stats for w in result.workers if w.stats is not None]
    if not stats:
        return
    m.rollovers = sum(int(s["rollovers"]) for s in stats)
    m.adopted = sum(int(s["adopted"]) for s in stats)
    m.lock_acquisitions = sum(int(s["lock_acquisitions"]) for s in stats)
    m.lock_timeouts = sum(int(s["lock_timeouts"]) for s in stats)
    # Seconds all writers together spent waiting: what rollovers cost the workload.
    m.lock_wait_total = sum(float(s["lock_wait_total"]) for s in stats)
    waits = [float(x) for s in stats for x in s["lock_waits"]]
    # "Held" is what a rollover costs the others: the holds in which a file was rotated.
    holds = [float(x) for s in stats for x in s["rollover_holds"]]
    m.lock_wait_p50 = percentile(waits, 0.50)
    m.lock_wait_p99 = percentile(waits, 0.99)
    m.lock_held_p50 = percentile(holds, 0.50)
    m.lock_held_p99 = percentile(holds, 0.99)
    if m.lock_acquisitions:
        m.lock_wait_max = max(float(s["lock_wait_max"]) for s in stats)
        m.lock_held_max = max(holds, default=0.0)


def summarize(measurements: Iterable[Measurement]) -> dict[str, Any]:
    """The best throughput of a contender's repeats, with the check figures of all of them.

    Noise on a shared machine only ever slows a run down, so the fastest repeat is the best
    estimate of the speed; a record lost in any repeat is still a lost record.
    """
    runs = list(measurements)
    best = max(runs, key=lambda m: m.records_per_s)
    row = best.as_dict()
    for name in ("lost", "duplicated", "torn", "out_of_order", "unexpected", "handler_errors"):
        row[name] = sum(getattr(m, name) for m in runs)
    row["crashed"] = [code for m in runs for code in m.crashed]
    row["verified"] = all(m.verified for m in runs)
    row["ok"] = all(m.ok for m in runs)
    row["repeats"] = len(runs)
    row["records_per_s_all"] = [m.records_per_s for m in runs]
    row["first_error"] = next((m.first_error for m in runs if m.first_error), None)
    return row
