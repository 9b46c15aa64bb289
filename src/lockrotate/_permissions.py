"""Mode and owner of every file lockrotate creates, from the moment it has its name."""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass

_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


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

    def create_new(self, path: str, fallback_mode: int = 0o666) -> int:
        """Create *path*, which must not exist yet, and give it its mode and owner.

        Returns a write-only descriptor. The caller links or renames it into place, so that no
        one can open it under its final name before it has the right mode.
        """
        fd = os.open(path, _CREATE_NEW, fallback_mode if self.mode is None else self.mode)
        try:
            self.apply(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        return fd


def _uid(user: int | str) -> int:
    if isinstance(user, int) and not isinstance(user, bool):
        return user
    if isinstance(user, str):
        try:
            return pwd.getpwnam(user).pw_uid
        except KeyError:
            raise ValueError(f"owner: no user named {user!r}") from None
    raise TypeError(f"owner: a user is a name or an id, not {user!r}")


def _gid(group: int | str) -> int:
    if isinstance(group, int) and not isinstance(group, bool):
        return group
    if isinstance(group, str):
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"owner: no group named {group!r}") from None
    raise TypeError(f"owner: a group is a name or an id, not {group!r}")


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
    uid, gid = _uid(owner[0]), _gid(owner[1])
    euid = os.geteuid()
    if euid != 0 and (uid != euid or gid not in {os.getegid(), *os.getgroups()}):
        raise PermissionError(
            f"owner={tuple(owner)!r}: this process (uid {euid}) may not give files to that "
            "user and group; only root may"
        )
    return Permissions(chmod, uid, gid)
