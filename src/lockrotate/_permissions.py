"""Mode and owner of every file lockrotate creates, from the moment it has its name."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

try:
    import grp
    import pwd
except ImportError:  # not POSIX: no handler is built (_system.require_posix)
    pass


@dataclass(frozen=True)
class Permissions:
    """``chmod``/``owner`` as given to a handler; unset, the umask and the process decide."""

    mode: int | None = None
    uid: int = -1
    gid: int = -1

    def for_companions(self) -> Permissions:
        """Lock, period and scratch files keep only the owner and group bits of ``chmod``:
        whoever can open the lock file can hold the lock."""
        return Permissions(None if self.mode is None else self.mode & 0o770, self.uid, self.gid)

    @property
    def explicit(self) -> bool:
        return self.mode is not None or self.uid != -1 or self.gid != -1

    def apply(self, fd: int) -> None:
        if self.mode is not None:
            os.fchmod(fd, self.mode)
        if self.uid != -1 or self.gid != -1:
            os.fchown(fd, self.uid, self.gid)


def _owner_id(what: str, value: object, lookup: Callable[[str], int]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -1 <= value < 2**32 - 1:
            raise ValueError(f"owner: a {what} id is between 0 and {2**32 - 2}, not {value}")
        return value
    if isinstance(value, str):
        try:
            return lookup(value)
        except (KeyError, ValueError):
            raise ValueError(f"owner: no {what} named {value!r}") from None
    raise TypeError(f"owner: a {what} is a name or an id, not {value!r}")


def resolve(chmod: int | None, owner: tuple[int | str, int | str] | None) -> Permissions:
    """Check ``chmod`` and ``owner`` now, so that a process that could not apply them fails
    at construction instead of at its first rollover."""
    if chmod is not None:
        if isinstance(chmod, bool) or not isinstance(chmod, int):
            raise TypeError(f"chmod must be an int such as 0o640, not {chmod!r}")
        if not 0 <= chmod <= 0o7777:
            raise ValueError(f"chmod must be a file mode between 0 and 0o7777, not {chmod:#o}")
    if owner is None:
        return Permissions(chmod)
    if not isinstance(owner, (tuple, list)) or len(owner) != 2:
        raise TypeError(f"owner must be a (user, group) pair, not {owner!r}")
    uid = _owner_id("user", owner[0], lambda name: pwd.getpwnam(name).pw_uid)
    gid = _owner_id("group", owner[1], lambda name: grp.getgrnam(name).gr_gid)
    euid = os.geteuid()
    if euid != 0 and (uid != euid or gid not in {os.getegid(), *os.getgroups()}):
        raise PermissionError(
            f"owner={tuple(owner)!r}: this process (uid {euid}) may not give files to that "
            "user and group; only root may"
        )
    return Permissions(chmod, uid, gid)
