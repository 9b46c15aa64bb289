"""Mode and owner of every file lockrotate creates, from the moment it has its name."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass

from ._naming import scratch_path

_CREATE_NEW = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Permissions:
    """``chmod``/``owner`` as given to a handler; unset, the umask and the process decide."""

    mode: int | None = None
    uid: int = -1
    gid: int = -1

    @property
    def explicit(self) -> bool:
        return self.mode is not None or self.uid != -1 or self.gid != -1

    def apply(self, fd: int) -> None:
        if self.mode is not None:
            os.fchmod(fd, self.mode)
        if self.uid != -1 or self.gid != -1:
            os.fchown(fd, self.uid, self.gid)

    def create_new(self, path: str, fallback_mode: int = 0o666, flags: int = os.O_WRONLY) -> int:
        """Create *path*, which must not exist yet, and give it its mode and owner.

        The caller links or renames it into place, so that no one can open it under its final
        name before it has the right mode.
        """
        mode = fallback_mode if self.mode is None else self.mode
        fd = os.open(path, flags | _CREATE_NEW, mode)
        try:
            self.apply(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        return fd


def open_file(path: str, flags: int, permissions: Permissions, fallback_mode: int = 0o666) -> int:
    """Open *path* with *flags*, creating it if it is missing.

    Without ``chmod``/``owner`` a new file is made as ``open()`` makes it (through the umask).
    With them it appears under its name already carrying them: it is made under a scratch
    name and linked into place, and ``link`` never replaces a file that another process
    created meanwhile (that one is then opened as it is).
    """
    if not permissions.explicit:
        return os.open(path, flags | os.O_CREAT, fallback_mode)
    while True:
        try:
            return os.open(path, flags)
        except FileNotFoundError:
            pass
        temp = scratch_path(path)
        fd = permissions.create_new(temp, fallback_mode, flags)
        try:
            os.link(temp, path)
        except FileExistsError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        finally:
            os.unlink(temp)
        return fd


def _owner_id(what: str, value: object, lookup: Callable[[str], int]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return lookup(value)
        except KeyError:
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
