"""One ``lockrotate bench`` invocation: build the contenders, race them, verify and report.

The contenders take turns: each repeat runs every contender once (the order shifted by one
each repeat), so a noisy moment of a shared machine hits them all alike, and each ratio to
``logging.FileHandler`` pairs two runs that ran side by side.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .. import __version__
from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .contenders import CONTENDERS, Rotation, Unavailable
from .report import Document, Progress, consoles, failures, remarks, show, write_chart
from .runner import Measurement, measure, rows, wide_spreads
from .workload import HandlerFactory, Workload

# A writer still in emit() this long after its deadline has stalled: three times lockrotate's
# default lock timeout, so a writer that waited for the lock and gave up is not taken for one.
STALL_GRACE = 3.0
_THIRD_PARTY = ("concurrent-log-handler", "filelock", "portalocker", "rich", "matplotlib")


@dataclass(frozen=True)
class Options:
    """What to run and where the results go, as the command line asked (defaults applied)."""

    procs: list[int]
    start: str
    threads: int
    records: int | None
    total: int | None
    seconds: float | None
    record_size: int
    repeat: int
    rotation: Rotation
    contenders: list[str]
    stuck_after: float | None = None
    json: str | None = None
    chart: str | None = None
    dir: str | None = None
    keep: bool = False
    plain: bool = False
    wide: bool = False

    def workload(self, procs: int) -> Workload:
        if self.seconds is not None:
            return Workload(
                procs,
                self.threads,
                0,
                self.record_size,
                self.start,
                seconds=self.seconds,
                grace=STALL_GRACE,
            )
        records = self.records
        if records is None:
            records = max(1, (self.total or 0) // (procs * self.threads))
        return Workload(procs, self.threads, records, self.record_size, self.start)

    def title(self) -> str:
        if self.seconds is not None:
            amount = f"{self.seconds:g} s per thread"
        elif self.records is not None:
            amount = f"{self.records:,} records per thread"
        else:
            amount = f"{self.total:,} records per run"
        rolls = []
        if self.rotation.by_size:
            rolls.append(f"max-bytes {self.rotation.max_bytes:,}")
        if self.rotation.by_time:
            rolls.append(f"when {self.rotation.when} x{self.rotation.interval}")
        stuck = "" if self.stuck_after is None else f", lock stuck from {self.stuck_after:g} s"
        return (
            f"lockrotate bench: {amount} of {self.record_size} B, {self.threads} thread(s) per "
            f"process, start={self.start}, {' + '.join(rolls) or 'no rotation'}{stuck}, "
            f"median of {self.repeat} repeat(s), "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )


def _probe(factory: HandlerFactory, folder: str) -> None:
    """Build and close one handler here first: a worker whose handler cannot be built
    would otherwise hold the others at the start barrier until its timeout."""
    os.makedirs(folder)
    try:
        factory(os.path.join(folder, "app.log")).close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _contenders(
    names: list[str], rotation: Rotation, folder: str
) -> tuple[dict[str, HandlerFactory], dict[str, str]]:
    ready: dict[str, HandlerFactory] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            factory = CONTENDERS[name].factory(rotation)
            _probe(factory, os.path.join(folder, f"probe-{name}"))
        except Unavailable as why:
            skipped[name] = str(why)
        except Exception as exc:
            skipped[name] = f"cannot build its handler: {type(exc).__name__}: {exc}"
        else:
            ready[name] = factory
    return ready, skipped


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in _THIRD_PARTY:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def _race(
    options: Options,
    factories: dict[str, HandlerFactory],
    skipped: dict[str, str],
    folder: str,
    err: object,
) -> list[Measurement]:
    """Round-robin: repeat r runs every contender once, starting with the r-th, so that no
    contender always runs first (on a cold cache) or last."""
    names = list(factories)
    plan = [
        (repeat, procs, names[(repeat + i) % len(names)])
        for repeat in range(options.repeat)
        for procs in options.procs
        for i in range(len(names))
    ]
    progress = Progress(len(plan), err)
    measurements: list[Measurement] = []
    with progress.running():
        for repeat, procs, name in plan:
            what = f"{name}, {procs} procs" + (
                f" (repeat {repeat + 1})" if options.repeat > 1 else ""
            )
            if name in skipped:
                progress.finished(what, None)
                continue
            progress.starting(what)
            try:
                m = measure(
                    name,
                    factories[name],
                    options.workload(procs),
                    os.path.join(folder, f"{name}-p{procs}-r{repeat}"),
                    repeat,
                    options.keep,
                    options.stuck_after,
                )
            except Exception as exc:
                skipped[name] = f"failed with {procs} procs: {type(exc).__name__}: {exc}"
                measurements = [m for m in measurements if m.contender != name]
                progress.finished(what, None)
                continue
            measurements.append(m)
            progress.finished(what, m)
    return measurements


def bench(options: Options, argv: Sequence[str]) -> int:
    """Run the bench; 0 when every contender of ours passed the check, 1 when one failed,
    2 when none could run."""
    out, err = consoles(options.plain)
    title = options.title()
    folder = tempfile.mkdtemp(prefix="lockrotate-bench-", dir=options.dir)
    began = time.time()
    try:
        factories, skipped = _contenders(options.contenders, options.rotation, folder)
        if not factories:
            print("lockrotate bench: error: no contender can run:", file=sys.stderr)
            for name, why in skipped.items():
                print(f"  {name}: {why}", file=sys.stderr)
            return EXIT_USAGE
        measurements = _race(options, factories, skipped, folder, err)
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    table = rows(measurements, list(factories))
    warnings = wide_spreads(table)
    document = Document(
        lockrotate=__version__,
        python=sys.version,
        platform=platform.platform(),
        cpus=os.cpu_count(),
        packages=_versions(),
        command=["lockrotate", *argv],
        started=began,
        seconds=time.time() - began,
        title=title,
        workload={
            "procs": options.procs,
            "threads": options.threads,
            "records_per_thread": options.records,
            "total": options.total,
            "seconds": options.seconds,
            "record_size": options.record_size,
            "start": options.start,
            "repeat": options.repeat,
        },
        rotation=asdict(options.rotation),
        stuck_lock_after=options.stuck_after,
        contenders=options.contenders,
        skipped=skipped,
        rows=table,
        runs=[m.as_dict() for m in measurements],
        warnings=warnings,
        kept=folder if options.keep else None,
    )
    failed = failures(table, options.rotation.backup_count)
    # The spread warnings stay whole in the JSON; the table folds them into one note.
    show(
        failed,
        remarks(table, skipped),
        table,
        title,
        out,
        wide=options.wide,
        seconds=document.seconds,
    )
    if options.json:
        document.write(options.json)
    if options.chart and table:
        write_chart(options.chart, table, title)
    if options.keep:
        print(f"log files kept in {folder}", file=sys.stderr)
    ours_failed = any(not row["ok"] and CONTENDERS[row["contender"]].ours for row in table)
    return EXIT_FAILED if ours_failed or not table else EXIT_OK
