"""The composition root: one function builds a handler's lock, policy, archive, compressor
and core from its checked :class:`~lockrotate._settings.Settings`, one hooks object and one
:class:`~lockrotate._system.System`. Data flows one way from here: nothing built below calls
back into the handler except through the hooks object it was given.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ._archive import Archive, Retention
from ._compress import Compressor
from ._ledger import PeriodLedger
from ._locks import make_lock
from ._naming import Namer, lock_path, period_path
from ._outage import Outages
from ._policy import SizePolicy, TimePolicy
from ._rollover import Core, Dating, Roller, Trigger
from ._rollover import Hooks as CoreHooks
from ._schedule import TimeSchedule
from ._settings import Settings
from ._system import System

Clock = Callable[[], float]


class Hooks(CoreHooks, Protocol):
    """The handler as the core sees it: the stdlib's hooks, and where failures go."""

    def failed(self, record: logging.LogRecord | None) -> None:
        """Called from an ``except`` block when an outage starts (*record*: the one being
        written, if any)."""


class Handler(Protocol):
    """What the handler offers its hooks object: the stdlib's extension points (which a
    user may override or assign) and ``handleError``."""

    baseFilename: str
    namer: Namer | None
    rotator: Callable[[str, str], None] | None

    def rotation_filename(self, default_name: str) -> str: ...

    def rotate(self, source: str, dest: str) -> None: ...

    def handleError(self, record: logging.LogRecord) -> None: ...


class HandlerHooks:
    """The handler's side of the core, apart from the handler: the stdlib hooks as the
    handler has them now, and failures reported through its ``handleError``. A separate
    object, so that no name of ours is added to the handler's own (a subclass may define
    any method it likes)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        # An instance attribute: the class itself has no rotation_filename of its own, so
        # that ``_policy.user_naming`` sees none (the handler's override shows in ``namer``).
        self.rotation_filename = handler.rotation_filename
        self.rotate = handler.rotate

    @property
    def namer(self) -> Namer | None:
        """The handler's ``namer``, or its own ``rotation_filename`` where a subclass
        overrides it: the user's naming, either way."""
        handler = self._handler
        default = logging.handlers.BaseRotatingHandler.rotation_filename
        own = getattr(type(handler), "rotation_filename", default)
        if handler.namer is not None or own is default:
            return handler.namer
        return handler.rotation_filename

    @property
    def rotator(self) -> Callable[[str, str], None] | None:
        return self._handler.rotator

    def failed(self, record: logging.LogRecord | None) -> None:
        """Called from an ``except`` block when an outage starts."""
        message = f"lockrotate: logging to {self._handler.baseFilename} failed"
        self._handler.handleError(
            record or logging.makeLogRecord({"name": "lockrotate", "msg": message})
        )

    def report(self, message: str) -> None:
        """A problem with no record of its own (the compressor thread, a warning)."""
        try:
            raise RuntimeError(message)
        except RuntimeError:
            self._handler.handleError(logging.makeLogRecord({"name": "lockrotate", "msg": message}))


class Policy(Trigger, Roller, Protocol):
    """A trigger and a roller in one object, as both built-in policies are."""


P_co = TypeVar("P_co", bound=Policy, covariant=True)
P = TypeVar("P", bound=Policy)


class Rotation(Protocol[P_co]):
    """What a handler asks for; builds its policy (and dating part, if any)."""

    def build(
        self, base_path: str, hooks: Hooks, outages: Outages, clock: Clock, system: System
    ) -> tuple[P_co, Dating | None]: ...


@dataclass(frozen=True)
class BySize:
    """The stdlib's size rotation."""

    max_bytes: int
    backup_count: int

    def build(
        self, base_path: str, hooks: Hooks, outages: Outages, clock: Clock, system: System
    ) -> tuple[SizePolicy, None]:
        return SizePolicy(base_path, self.max_bytes, self.backup_count, hooks, system), None


@dataclass(frozen=True)
class ByTime:
    """Rotation at the schedule's boundaries, optionally also by size within a period."""

    schedule: TimeSchedule
    backup_count: int
    max_bytes: int
    ledger: PeriodLedger

    def build(
        self, base_path: str, hooks: Hooks, outages: Outages, clock: Clock, system: System
    ) -> tuple[TimePolicy, TimePolicy]:
        policy = TimePolicy(
            base_path,
            self.schedule,
            self.backup_count,
            self.max_bytes,
            self.ledger,
            hooks,
            clock,
            outages,
            hooks.report,
            system,
        )
        return policy, policy


def ledger_for(
    settings: Settings, schedule: TimeSchedule, hooks: Hooks, system: System
) -> PeriodLedger:
    """The period ledger of a timed log."""
    return PeriodLedger(
        period_path(settings.base_path, settings.lock_dir),
        settings.permissions.for_companions(),
        settings.companion_mode(),
        schedule.signature,
        hooks.report,
        system,
    )


def compose(
    settings: Settings, rotation: Rotation[P], hooks: Hooks, system: System
) -> tuple[Core, P]:
    """The core of one handler, and its policy (whose state the handler's stdlib attributes
    show)."""
    base = settings.base_path
    clock = settings.clock or system.time
    outages = Outages(hooks.failed, system)
    policy, dating = rotation.build(base, hooks, outages, clock, system)
    lock = make_lock(
        settings.lock,
        lock_path(base, settings.lock_dir),
        settings.lock_timeout,
        settings.companion_mode(),
        settings.permissions.for_companions(),
        system,
    )
    archive = Archive(
        base,
        lambda: Retention(policy.kept_by_count, settings.max_age, settings.max_total_bytes),
        policy.scheme,
        settings.compress,
        clock,
        system,
        outages,
        policy.book,
    )
    fmt = settings.compress
    compressor = None
    if fmt is not None:
        grace = settings.check_interval + 1.0

        def compressor(core: Core) -> Compressor:
            return Compressor(fmt, base, grace, settings.permissions, core, system)

    core = Core(
        base,
        system,
        lock,
        policy,
        policy,
        dating,
        archive,
        compressor,
        settings.permissions,
        outages,
        hooks,
        settings.strict,
        settings.check_interval,
    )
    core.line_end = "\n".encode(settings.codec)
    return core, policy
