"""One measured run: a fresh folder, the shared workload, then every file read back; and the
figures of a contender's repeats summed up as a median with its spread."""

from __future__ import annotations

import math
import os
import shutil
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .verify import log_files, verify
from .workload import HandlerFactory, RunResult, StuckLock, Workload, run

BASELINE = "filehandler"
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99))
_SAMPLES = ("lock_waits", "lock_holds", "rollover_holds")
_CHECKS = ("lost", "duplicated", "torn", "out_of_order", "unexpected", "handler_errors")


def percentile(samples: Sequence[float], fraction: float) -> float | None:
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
    # Reports of a lock that could not be taken in time: expected under --stuck-lock.
    lock_reports: int = 0
    first_error: str | None = None
    crashed: list[int | None] = field(default_factory=list)
    # Writers still inside emit() well after the run's deadline.
    stalled: list[str] = field(default_factory=list)
    stuck_lock: bool = False
    lock_taken: float | None = None
    rollovers: int | None = None
    adopted: int | None = None
    lock_acquisitions: int | None = None
    lock_timeouts: int | None = None
    lock_wait_total: float | None = None
    examples: list[str] = field(default_factory=list)
    folder: str | None = None
    verified: bool = False  # the verifier's Report.ok: every record once, whole, in order
    # The handlers' own samples (seconds), pooled over the processes; not in as_dict().
    lock_waits: list[float] = field(default_factory=list, repr=False)
    lock_holds: list[float] = field(default_factory=list, repr=False)
    rollover_holds: list[float] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        lock_reports_fine = self.stuck_lock or not self.lock_reports
        return (
            self.verified
            and not self.handler_errors
            and not self.crashed
            and not self.stalled
            and lock_reports_fine
        )

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        for name in _SAMPLES:
            del figures[name]
        figures.update(ok=self.ok, **lock_percentiles([self]))
        return figures


def measure(
    contender: str,
    factory: HandlerFactory,
    workload: Workload,
    folder: str,
    repeat: int = 0,
    keep: bool = False,
    stuck_after: float | None = None,
) -> Measurement:
    """Run *workload* in ``folder/logs`` and verify it; the folder is removed unless *keep*.

    With *stuck_after*, another process takes the handler's lock file that many seconds into
    the run and keeps it (a handler without a lock file runs as usual).
    """
    logs = os.path.join(folder, "logs")
    os.makedirs(logs)
    try:
        stuck = None
        if stuck_after is not None:
            lock_file = lock_file_of(factory, os.path.join(logs, workload.filename))
            stuck = None if lock_file is None else StuckLock(lock_file, stuck_after)
        result = run(workload, factory, logs, os.path.join(folder, "results"), stuck)
        report = verify(
            log_files(logs, workload.filename), result.expected, in_flight=result.stalled
        )
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
    m.lock_reports = result.lock_reports
    m.handler_errors = result.handler_errors - result.lock_reports
    m.first_error = _first_error(result, logs)
    m.crashed = result.crashed
    m.stalled = sorted(result.stalled)
    m.stuck_lock = stuck is not None
    m.lock_taken = result.lock_taken
    _add_stats(m, result)
    return m


def lock_file_of(factory: HandlerFactory, path: str) -> str | None:
    """The lock file a handler built on *path* takes: lockrotate's public ``lock_file``, or
    concurrent-log-handler's ``lockFilename``; None for handlers without one."""
    handler = factory(path)
    try:
        found = getattr(handler, "lock_file", None) or getattr(handler, "lockFilename", None)
    finally:
        handler.close()
    return found if isinstance(found, str) else None


def _first_error(result: RunResult, logs: str) -> str | None:
    """The last line of the first traceback a worker printed: the exception itself, whole
    (paths inside the run's folder are shown relative to it)."""
    for worker in result.workers:
        if "--- Logging error ---" in worker.stderr or worker.exitcode:
            lines = [line for line in worker.stderr.splitlines() if line and line[0] != " "]
            exceptions = [line for line in lines if not line.startswith(("---", "Traceback"))]
            if exceptions:
                return exceptions[0].replace(logs + os.sep, "")
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
    # Seconds all writers together spent waiting: what the lock cost the workload.
    m.lock_wait_total = sum(float(s["lock_wait_total"]) for s in stats)
    for name in _SAMPLES:
        setattr(m, name, [float(x) for s in stats for x in s[name]])


def lock_percentiles(runs: Sequence[Measurement]) -> dict[str, float | None]:
    """p50/p90/p99/max of the lock waits and holds (and of the holds that rotated a file),
    over the samples of every process of *runs*; None where the handler keeps no stats."""
    figures: dict[str, float | None] = {}
    for name, key in (("lock_wait", "lock_waits"), ("lock_hold", "lock_holds")):
        samples = [x for m in runs for x in getattr(m, key)]
        for label, fraction in PERCENTILES:
            figures[f"{name}_{label}"] = percentile(samples, fraction)
        figures[f"{name}_max"] = max(samples, default=None)
    rotating = [x for m in runs for x in m.rollover_holds]
    figures["rollover_hold_p99"] = percentile(rotating, 0.99)
    figures["rollover_hold_max"] = max(rotating, default=None)
    return figures


def ratios(measurements: Iterable[Measurement]) -> dict[tuple[int, str], list[float]]:
    """Each run's throughput over FileHandler's in the same repeat with the same process
    count: the pairs ran side by side, so a slow moment of the machine cancels out."""
    runs = list(measurements)
    base = {(m.procs, m.repeat): m.records_per_s for m in runs if m.contender == BASELINE}
    found: dict[tuple[int, str], list[float]] = {}
    for m in runs:
        ceiling = base.get((m.procs, m.repeat))
        if ceiling:
            found.setdefault((m.procs, m.contender), []).append(m.records_per_s / ceiling)
    return found


def summarize(runs: Sequence[Measurement], paired: Sequence[float] = ()) -> dict[str, Any]:
    """One row for a contender's repeats at one process count: the median throughput and
    ratio with their spread (min-max over the repeats), the check figures of every repeat.

    A record lost in any repeat is still a lost record; the other figures (files,
    rollovers) are those of the median run.
    """
    rates = [m.records_per_s for m in runs]
    middle = statistics.median_low(rates)
    row = next(m for m in runs if m.records_per_s == middle).as_dict()
    median = statistics.median(rates)
    row.update(
        records_per_s=median,
        records_per_s_min=min(rates),
        records_per_s_max=max(rates),
        records_per_s_all=rates,
        us_per_record=1e6 / median if median else 0.0,
        ratio=statistics.median(paired) if paired else None,
        ratio_min=min(paired, default=None),
        ratio_max=max(paired, default=None),
        ratios=list(paired),
        repeats=len(runs),
        verified=all(m.verified for m in runs),
        ok=all(m.ok for m in runs),
        crashed=[code for m in runs for code in m.crashed],
        stalled=sorted({w for m in runs for w in m.stalled}),
        first_error=next((m.first_error for m in runs if m.first_error), None),
        **{name: sum(getattr(m, name) for m in runs) for name in (*_CHECKS, "lock_reports")},
        **lock_percentiles(runs),
    )
    return row


def rows(measurements: Sequence[Measurement], order: Sequence[str]) -> list[dict[str, Any]]:
    """The table: one row per process count and contender, contenders in *order*."""
    groups: dict[tuple[int, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.procs, m.contender), []).append(m)
    paired = ratios(measurements)
    rank = {name: i for i, name in enumerate(order)}
    return [
        summarize(groups[key], paired.get(key, ()))
        for key in sorted(groups, key=lambda k: (k[0], rank[k[1]]))
    ]


def wide_spreads(rows: Iterable[dict[str, Any]], limit: float = 0.10) -> list[str]:
    """A warning for each ratio whose min or max is further than *limit* (a fraction) from
    its median: that figure did not hold still, and one more run may well disagree."""
    warnings = []
    for row in rows:
        ratio, low, high = row["ratio"], row["ratio_min"], row["ratio_max"]
        if ratio is None or row["contender"] == BASELINE:
            continue
        if high - ratio > limit * ratio or ratio - low > limit * ratio:
            warnings.append(
                f"warning: {row['contender']} with {row['procs']} procs: the ratio spread "
                f"{low:.2f}-{high:.2f}x is wider than ±{limit:.0%} of its median {ratio:.2f}x"
            )
    return warnings
