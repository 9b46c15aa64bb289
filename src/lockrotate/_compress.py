"""Compressing rotated files in the background, never while a writer may still append.

A process that has not yet noticed a rollover (or was stopped between its check and its
write) can still append a record to the file that was just renamed. Every writer holds the
file it appends to with a shared ``flock`` (:class:`lockrotate._files.AppendFile`), so the
compressor starts only once it holds the file exclusively, however long the last writer
takes to let go, and keeps that lock until the plain file is unlinked, so no writer can take
the file back meanwhile. It also waits until the file has not been written for ``grace``
(``check_interval`` + 1 s): writers that hold no lock (a filesystem without ``flock``, a
lockrotate from before the lock) notice a rollover within ``check_interval``. The
compressed copy is written under a temporary name and put in place by the handler with the
rollover lock held, after checking that the source did not grow; the source is removed
last. A process killed at any point leaves the plain file, or the finished compressed file,
never a truncated one under the final name; a later rollover finishes what was left.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
from dataclasses import dataclass
from typing import IO, Any, Final, Literal, Protocol, get_args

from ._files import PRIVATE, Identity, create_new, unheld
from ._naming import scratch_path
from ._permissions import Permissions
from ._system import REAL, Condition, System, Thread

Format = Literal["gzip", "bz2", "xz", "zstd"]
EXTENSIONS: Final[dict[str, str]] = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}
_CHUNK: Final = 1 << 20


def check_format(compress: object) -> Format | None:
    """Validate ``compress``; a missing optional package is reported now, not at rollover."""
    if compress is None:
        return None
    chosen: Format | None = next((fmt for fmt in get_args(Format) if fmt == compress), None)
    if chosen is None:
        raise ValueError(
            f"compress must be one of {', '.join(EXTENSIONS)} or None, not {compress!r}"
        )
    if chosen == "zstd":
        try:
            import zstandard  # noqa: F401
        except ImportError:
            raise ImportError(
                "compress='zstd' needs the zstandard package: pip install 'lockrotate[zstd]'"
            ) from None
    return chosen


def _writer(fmt: str, raw: IO[bytes]) -> Any:
    if fmt == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
    if fmt == "bz2":
        return bz2.BZ2File(raw, "wb")
    if fmt == "xz":
        return lzma.LZMAFile(raw, "wb")
    import zstandard

    return zstandard.ZstdCompressor().stream_writer(raw, closefd=False)


class _Sink(io.RawIOBase):
    """*fd* as a binary stream whose writes go through *system*."""

    def __init__(self, fd: int, system: System) -> None:
        self.fd = fd
        self.system = system

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.system.write(self.fd, bytes(data))


def compress_fd(fmt: str, source: int, dest: int, system: System = REAL) -> int:
    """Compress all of *source* into *dest* and make it durable; return the bytes read."""
    total = 0
    with io.BufferedWriter(_Sink(dest, system)) as raw:
        with _writer(fmt, raw) as packed:
            while chunk := system.read(source, _CHUNK):
                packed.write(chunk)
                total += len(chunk)
        raw.flush()
        system.fsync(dest)
    return total


class Host(Protocol):
    """What the compressor needs from the handler that owns the rotated files."""

    def locate(self, identity: Identity) -> str | None:
        """The name of the rotated file *identity*, while it is still plain."""

    def put_in_place(self, identity: Identity, temp: str, nbytes: int, source: int) -> bool:
        """With the lock: the compressed copy *temp* of *nbytes* replaces the plain file,
        whose exclusively held descriptor *source* it then owns."""

    def report(self, message: str) -> None:
        """A failure in the background, which has no record of its own."""


_ATTEMPTS: Final = 5
#: Seconds between two looks at a rotated file that a writer still holds.
_HELD_POLL: Final = 0.2


@dataclass
class _Job:
    not_before: float
    stillness: float
    failures: int = 0


class Compressor:
    """One background thread per handler and process, started at the first job."""

    def __init__(
        self,
        fmt: str,
        base_path: str,
        grace: float,
        permissions: Permissions,
        host: Host,
        system: System = REAL,
    ) -> None:
        self.system = system
        self.fmt = fmt
        self.extension = EXTENSIONS[fmt]
        self.base_path = base_path
        self.grace = grace
        self.permissions = permissions
        self.host = host
        self._jobs: dict[Identity, _Job] = {}
        self._wake: Condition = system.condition()
        self._stopping = False
        self._thread: Thread | None = None
        # Whether a give-up was reported and no compression has succeeded since: one outage.
        self._failing = False

    def submit(self, identity: Identity, orphan: bool = False) -> None:
        """Compress the file with *identity* once no writer holds it and it has been still
        for ``grace`` seconds (the process that rotated it).
        A plain file left by a process that closed or died first (an *orphan*) waits three
        times as long, so that the process that rotated it, if alive, gets there first.
        """
        with self._wake:
            if self._stopping:
                return
            stillness = self.grace * 3 if orphan else self.grace
            job = self._jobs.setdefault(identity, _Job(0.0, stillness))
            job.stillness = min(job.stillness, stillness)
            if self._thread is None:
                self._thread = self.system.start_thread(self._run, "lockrotate-compress")
            self._wake.notify()

    def close(self) -> None:
        """Finish the compression in progress; leave the rest plain for a later rollover."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def after_fork(self) -> None:
        """The parent's thread does not exist in a child: start over with no jobs (its
        descriptors are closed already: they are PRIVATE)."""
        self._jobs = {}
        self._wake = self.system.condition()
        self._stopping = False
        self._thread = None
        self._failing = False

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and not self._due_job():
                    self._wake.wait(timeout=self._next_wait())
                if self._stopping:
                    return
                identity = self._due_job()
            if identity is not None:
                self._attempt(identity)

    def _due_job(self) -> Identity | None:
        now = self.system.monotonic()
        for identity, job in self._jobs.items():
            if job.not_before <= now:
                return identity
        return None

    def _next_wait(self) -> float | None:
        if not self._jobs:
            return None
        first = min(job.not_before for job in self._jobs.values())
        return max(0.0, first - self.system.monotonic())

    def _attempt(self, identity: Identity) -> None:
        """Compress the file with *identity* unless a writer holds it (then look again
        soon) or it is not still yet; a job that keeps failing is given up after a few tries
        (the file stays plain), and reported once per outage: not again until a compression
        succeeds."""
        with self._wake:
            job = self._jobs[identity]
        retry_in: float | None
        try:
            retry_in = self._compress(identity, job.stillness)
        except Exception as exc:
            job.failures += 1
            retry_in = None if job.failures >= _ATTEMPTS else self.grace * job.failures
            if retry_in is None and not self._failing:
                self._failing = True
                self.host.report(f"lockrotate gave up compressing a rotated file: {exc!r}")
        with self._wake:
            if retry_in is None:
                self._jobs.pop(identity, None)
            else:
                job.not_before = self.system.monotonic() + retry_in

    def _compress(self, identity: Identity, stillness: float) -> float | None:
        """Seconds until the next try, or None when the job is done (or moot)."""
        path = self.host.locate(identity)
        if path is None:
            return None
        system = self.system
        source = unheld(path, system)
        if source is None:
            return _HELD_POLL
        try:
            st = system.fstat(source)
            if (st.st_dev, st.st_ino) != identity:
                return 0.0  # shifted by a rollover between locate and open: look again
            still = system.time() - st.st_mtime
            if still < stillness:
                return stillness - still
            temp = scratch_path(self.base_path, system)
            # Nothing for others while it is a scratch file; the source's mode once in place.
            companions = self.permissions.for_companions()
            dest = PRIVATE.open(
                lambda: create_new(temp, companions, st.st_mode & 0o770, os.O_WRONLY, system),
                system,
            )
            assert dest is not None
            final_mode = self.permissions.mode
            try:
                nbytes = compress_fd(self.fmt, source, dest, system)
                system.fchmod(dest, st.st_mode & 0o777 if final_mode is None else final_mode)
                # The copy keeps the original's time: retention by age sees the same file,
                # and a later rollover can tell an interrupted copy from an unrelated one.
                system.futimes(dest, (st.st_atime_ns, st.st_mtime_ns))
            except BaseException:
                PRIVATE.close(dest, system)
                system.unlink(temp)
                raise
            PRIVATE.close(dest, system)
            try:
                if self.host.put_in_place(identity, temp, nbytes, source):
                    source = -1  # the host's trash owns it now
                    self._failing = False
                    return None
            finally:
                with contextlib.suppress(FileNotFoundError):
                    system.unlink(temp)
        finally:
            if source >= 0:
                PRIVATE.close(source, system)
        if self.host.locate(identity) is None:
            return None
        raise RuntimeError(f"{path} changed or its compressed name is taken; left plain")
