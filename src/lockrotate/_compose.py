"""The composition root: one function builds a handler's lock, policy, archive, compressor
and core from its checked :class:`~lockrotate._settings.Settings`, one hooks object and one
:class:`~lockrotate._system.System`. Data flows one way from here: nothing built below calls
back into the handler except through the hooks object it was given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ._archive import Archive, Retention
from ._compress import Compressor
from ._ledger import PeriodLedger
from ._locks import make_lock
from ._naming import lock_path, period_path
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
