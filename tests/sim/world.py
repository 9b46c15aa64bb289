"""An in-memory POSIX filesystem with ``flock``: the state of the simulated world.

Only what lockrotate's protocol relies on, and with the kernel's semantics: inodes and
directory entries; ``rename`` atomic and replacing; ``link`` refusing an existing name;
``unlink`` of an open file (its data lives on until the last descriptor closes);
``O_APPEND`` writes appended whole; ``O_CREAT``/``O_EXCL``/``O_NOFOLLOW``/``O_TRUNC``;
symbolic links; NAME_MAX. Descriptors belong to a process and point at shared open file
descriptions, which ``fork`` shares and which hold ``flock`` locks: a lock goes when the last
descriptor of its description closes, whichever process that was.

Nothing here schedules or fails: :mod:`tests.sim.system` wraps each call with a switch point
and fault injection. Every inode is kept after its last name and descriptor are gone, so the
checker can account for every byte ever written.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

NAME_MAX = 255
DEVICE = 2049
_SYMLOOP_MAX = 40
KERNEL_TICK = 0.004
TICK_PHASE = 0.0013


def fail(code: int, path: str | None = None) -> OSError:
    """The OSError subclass the kernel's *code* maps to (FileNotFoundError for ENOENT...)."""
    if path is None:
        return OSError(code, os.strerror(code))
    return OSError(code, os.strerror(code), path)


@dataclass(eq=False)
class Inode:
    ino: int
    mode: int  # type and permission bits, as st_mode
    uid: int
    data: bytearray = field(default_factory=bytearray)
    entries: dict[str, int] = field(default_factory=dict)  # a directory's names
    target: str = ""  # a symbolic link's
    nlink: int = 0
    opened: int = 0  # open file descriptions on it
    mtime_ns: int = 0
    atime_ns: int = 0
    # flock: the description holding it exclusively, or those holding it shared.
    exclusive: Description | None = None
    shared: set[Description] = field(default_factory=set)

    @property
    def kind(self) -> int:
        return stat.S_IFMT(self.mode)

    @property
    def alive(self) -> bool:
        return self.nlink > 0 or self.opened > 0


@dataclass(eq=False)
class Description:
    """An open file description: what ``open`` makes and ``dup``/``fork`` share."""

    inode: Inode
    flags: int
    offset: int = 0
    refs: int = 0  # descriptors pointing here, in every process
    locker: int | None = None  # the pid whose flock call took the lock held here


@dataclass
class Stat:
    """What the checker records of one event on a name."""

    op: str
    path: str
    ino: int
    replaced: int | None = None
    dest: str = ""


class World:
    """The filesystem, the descriptor tables of every process, and the flock table."""

    def __init__(self, clock: Callable[[], float], uid: int = 1000) -> None:
        self.clock = clock
        self.uid = uid
        self.inodes: dict[int, Inode] = {}
        self._next_ino = 100
        self.root = self._new(stat.S_IFDIR | 0o755)
        self.root.nlink = 2
        self.fds: dict[int, dict[int, Description]] = {}
        #: The inodes someone holds an flock on.
        self.locked: set[Inode] = set()
        #: Called after each change of a name: (op, path, inode, replaced inode, dest).
        self.observers: list[Callable[[Stat], None]] = []
        #: Called when a process uses a descriptor it does not have (before EBADF).
        self.on_bad_fd: Callable[[int, int], None] = lambda pid, fd: None

    # Processes ------------------------------------------------------------------------
    def spawn(self, pid: int) -> None:
        self.fds[pid] = {}

    def fork(self, parent: int, child: int) -> None:
        table = dict(self.fds[parent])
        for desc in table.values():
            desc.refs += 1
        self.fds[child] = table

    def exit(self, pid: int) -> None:
        """The process is gone: the kernel closes its descriptors (and so its locks go)."""
        for fd in list(self.fds.get(pid, {})):
            self.close(pid, fd)
        self.fds.pop(pid, None)

    # Paths ------------------------------------------------------------------------------
    def _new(self, mode: int) -> Inode:
        inode = Inode(self._next_ino, mode, self.uid)
        self._next_ino += 1
        inode.mtime_ns = inode.atime_ns = self._now_ns()
        self.inodes[inode.ino] = inode
        return inode

    def _now_ns(self) -> int:
        """File times come from the kernel's coarse clock: the last tick (4 ms), whose phase
        has nothing to do with second boundaries."""
        now = self.clock() - TICK_PHASE
        return int((now - now % KERNEL_TICK + TICK_PHASE) * 1e9)

    def _parent(self, path: str, depth: int = 0) -> tuple[Inode, str]:
        """The directory holding *path*'s last component (symlinks followed), and the name."""
        if not path.startswith("/"):
            raise fail(errno.EINVAL, path)
        folder, name = posixpath.split(posixpath.normpath(path))
        if len(os.fsencode(name)) > NAME_MAX:
            raise fail(errno.ENAMETOOLONG, path)
        directory = self._resolve(folder, follow=True, depth=depth)
        if directory is None:
            raise fail(errno.ENOENT, path)
        if directory.kind != stat.S_IFDIR:
            raise fail(errno.ENOTDIR, path)
        return directory, name

    def _resolve(self, path: str, follow: bool, depth: int = 0) -> Inode | None:
        """The inode *path* names (None: nothing there); raises for a broken prefix."""
        if depth > _SYMLOOP_MAX:
            raise fail(errno.ELOOP, path)
        path = posixpath.normpath(path)
        if path == "/":
            return self.root
        directory, name = self._parent(path, depth)
        ino = directory.entries.get(name)
        if ino is None:
            return None
        inode = self.inodes[ino]
        if follow and inode.kind == stat.S_IFLNK:
            target = posixpath.join(posixpath.dirname(path), inode.target)
            return self._resolve(target, True, depth + 1)
        return inode

    def _lookup(self, path: str, follow: bool) -> Inode:
        inode = self._resolve(path, follow)
        if inode is None:
            raise fail(errno.ENOENT, path)
        return inode

    def _link_name(self, directory: Inode, name: str, inode: Inode) -> None:
        directory.entries[name] = inode.ino
        inode.nlink += 1

    def _drop_name(self, directory: Inode, name: str) -> Inode:
        inode = self.inodes[directory.entries.pop(name)]
        inode.nlink -= 1
        return inode

    def _notify(self, event: Stat) -> None:
        for observer in self.observers:
            observer(event)

    # Set-up helpers (not system calls of the protocol) ------------------------------------
    def mkdir(self, path: str, mode: int = 0o755) -> None:
        directory, name = self._parent(path)
        if name in directory.entries:
            raise fail(errno.EEXIST, path)
        self._link_name(directory, name, self._new(stat.S_IFDIR | mode))

    def symlink(self, target: str, path: str) -> None:
        directory, name = self._parent(path)
        if name in directory.entries:
            raise fail(errno.EEXIST, path)
        inode = self._new(stat.S_IFLNK | 0o777)
        inode.target = target
        self._link_name(directory, name, inode)

    def read_path(self, path: str) -> bytes:
        return bytes(self._lookup(path, follow=True).data)

    # Files ------------------------------------------------------------------------------
    def _desc(self, pid: int, fd: int) -> Description:
        try:
            return self.fds[pid][fd]
        except KeyError:
            self.on_bad_fd(pid, fd)
            raise fail(errno.EBADF) from None

    def open(self, pid: int, path: str, flags: int, mode: int) -> int:
        directory, name = self._parent(path)
        ino = directory.entries.get(name)
        inode = None if ino is None else self.inodes[ino]
        if inode is not None and inode.kind == stat.S_IFLNK:
            if flags & os.O_CREAT and flags & os.O_EXCL:
                raise fail(errno.EEXIST, path)
            if flags & os.O_NOFOLLOW:
                raise fail(errno.ELOOP, path)
            inode = self._resolve(path, follow=True)
            if inode is None and flags & os.O_CREAT:
                raise fail(errno.ENOENT, path)  # a dangling link is not created through here
        if inode is None:
            if not flags & os.O_CREAT:
                raise fail(errno.ENOENT, path)
            inode = self._new(stat.S_IFREG | (mode & 0o777 & ~0o022))
            self._link_name(directory, name, inode)
            self._notify(Stat("create", path, inode.ino))
        elif flags & os.O_CREAT and flags & os.O_EXCL:
            raise fail(errno.EEXIST, path)
        self._may_open(inode, flags, path)
        desc = Description(inode, flags, refs=1)
        inode.opened += 1
        table = self.fds[pid]
        fd = 3
        while fd in table:
            fd += 1
        table[fd] = desc
        return fd

    def _may_open(self, inode: Inode, flags: int, path: str) -> None:
        access = flags & os.O_ACCMODE
        if inode.kind == stat.S_IFDIR and access != os.O_RDONLY:
            raise fail(errno.EISDIR, path)
        if flags & os.O_DIRECTORY and inode.kind != stat.S_IFDIR:
            raise fail(errno.ENOTDIR, path)
        if inode.kind == stat.S_IFIFO:
            if not flags & os.O_NONBLOCK:
                raise AssertionError(f"open of the FIFO {path} without O_NONBLOCK would hang")
            if access == os.O_WRONLY:
                raise fail(errno.ENXIO, path)
        if flags & os.O_TRUNC and access != os.O_RDONLY and inode.kind == stat.S_IFREG:
            self._notify(Stat("truncate", path, inode.ino))
            inode.data.clear()

    def close(self, pid: int, fd: int) -> None:
        desc = self._desc(pid, fd)
        del self.fds[pid][fd]
        desc.refs -= 1
        if desc.refs == 0:
            inode = desc.inode
            inode.opened -= 1
            self._unlock(inode, desc)

    def _unlock(self, inode: Inode, desc: Description) -> None:
        if inode.exclusive is desc:
            inode.exclusive = None
        inode.shared.discard(desc)
        if inode.exclusive is None and not inode.shared:
            self.locked.discard(inode)

    def write(self, pid: int, fd: int, data: bytes) -> int:
        desc = self._desc(pid, fd)
        if desc.flags & os.O_ACCMODE == os.O_RDONLY:
            raise fail(errno.EBADF)
        inode = desc.inode
        if desc.flags & os.O_APPEND:
            desc.offset = len(inode.data)
        self._put(inode, desc.offset, data)
        desc.offset += len(data)
        return len(data)

    def _put(self, inode: Inode, offset: int, data: bytes) -> None:
        if inode.kind != stat.S_IFREG:
            return  # a FIFO or device: written, kept nowhere
        if offset > len(inode.data):
            inode.data.extend(bytes(offset - len(inode.data)))
        inode.data[offset : offset + len(data)] = data
        inode.mtime_ns = self._now_ns()

    def read(self, pid: int, fd: int, n: int) -> bytes:
        desc = self._desc(pid, fd)
        chunk = bytes(desc.inode.data[desc.offset : desc.offset + n])
        desc.offset += len(chunk)
        return chunk

    def pread(self, pid: int, fd: int, n: int, offset: int) -> bytes:
        return bytes(self._desc(pid, fd).inode.data[offset : offset + n])

    def pwrite(self, pid: int, fd: int, data: bytes, offset: int) -> int:
        desc = self._desc(pid, fd)
        if desc.flags & os.O_ACCMODE == os.O_RDONLY:
            raise fail(errno.EBADF)
        self._put(desc.inode, offset, data)
        return len(data)

    def lseek(self, pid: int, fd: int, pos: int, how: int) -> int:
        desc = self._desc(pid, fd)
        start = {os.SEEK_SET: 0, os.SEEK_CUR: desc.offset, os.SEEK_END: len(desc.inode.data)}
        desc.offset = start[how] + pos
        return desc.offset

    def _stat(self, inode: Inode) -> os.stat_result:
        size = len(inode.data) if inode.kind == stat.S_IFREG else len(inode.target)
        m, a = inode.mtime_ns, inode.atime_ns
        return os.stat_result(
            (inode.mode, inode.ino, DEVICE, inode.nlink, inode.uid, inode.uid, size,
             a // 10**9, m // 10**9, m // 10**9),
            {"st_atime": a / 1e9, "st_mtime": m / 1e9, "st_ctime": m / 1e9,
             "st_atime_ns": a, "st_mtime_ns": m, "st_ctime_ns": m},
        )  # fmt: skip

    def fstat(self, pid: int, fd: int) -> os.stat_result:
        return self._stat(self._desc(pid, fd).inode)

    def stat(self, path: str) -> os.stat_result:
        return self._stat(self._lookup(path, follow=True))

    def lstat(self, path: str) -> os.stat_result:
        return self._stat(self._lookup(path, follow=False))

    def fchmod(self, pid: int, fd: int, mode: int) -> None:
        inode = self._desc(pid, fd).inode
        inode.mode = inode.kind | (mode & 0o7777)

    def fchown(self, pid: int, fd: int, uid: int, gid: int) -> None:
        inode = self._desc(pid, fd).inode
        if uid != -1:
            inode.uid = uid

    def utime(self, path: str, ns: tuple[int, int]) -> None:
        inode = self._lookup(path, follow=True)
        inode.atime_ns, inode.mtime_ns = ns

    def futime(self, pid: int, fd: int, ns: tuple[int, int]) -> None:
        inode = self._desc(pid, fd).inode
        inode.atime_ns, inode.mtime_ns = ns

    # Names ------------------------------------------------------------------------------
    def rename(self, src: str, dst: str) -> None:
        sdir, sname = self._parent(src)
        ddir, dname = self._parent(dst)
        if sname not in sdir.entries:
            raise fail(errno.ENOENT, src)
        moving = self.inodes[sdir.entries[sname]]
        old = ddir.entries.get(dname)
        replaced = None
        if old is not None:
            target = self.inodes[old]
            if target is moving:
                return
            if target.kind == stat.S_IFDIR:
                if moving.kind != stat.S_IFDIR:
                    raise fail(errno.EISDIR, dst)
                if target.entries:
                    raise fail(errno.ENOTEMPTY, dst)
            elif moving.kind == stat.S_IFDIR:
                raise fail(errno.ENOTDIR, dst)
            self._drop_name(ddir, dname)
            replaced = target.ino
        self._drop_name(sdir, sname)
        self._link_name(ddir, dname, moving)
        self._notify(Stat("rename", src, moving.ino, replaced, dst))

    def link(self, src: str, dst: str) -> None:
        inode = self._lookup(src, follow=False)
        ddir, dname = self._parent(dst)
        if dname in ddir.entries:
            raise fail(errno.EEXIST, dst)
        if inode.kind == stat.S_IFDIR:
            raise fail(errno.EPERM, src)
        self._link_name(ddir, dname, inode)
        self._notify(Stat("link", src, inode.ino, None, dst))

    def unlink(self, path: str) -> None:
        directory, name = self._parent(path)
        ino = directory.entries.get(name)
        if ino is None:
            raise fail(errno.ENOENT, path)
        if self.inodes[ino].kind == stat.S_IFDIR:
            raise fail(errno.EISDIR, path)
        self._drop_name(directory, name)
        self._notify(Stat("unlink", path, ino))

    def rmdir(self, path: str) -> None:
        directory, name = self._parent(path)
        inode = self._lookup(path, follow=False)
        if inode.kind != stat.S_IFDIR:
            raise fail(errno.ENOTDIR, path)
        if inode.entries:
            raise fail(errno.ENOTEMPTY, path)
        self._drop_name(directory, name)

    def listdir(self, path: str) -> list[str]:
        inode = self._lookup(path, follow=True)
        if inode.kind != stat.S_IFDIR:
            raise fail(errno.ENOTDIR, path)
        return list(inode.entries)

    def names(self, path: str) -> dict[str, Inode]:
        """The checker's view of a folder: each name and the inode it holds now."""
        inode = self._lookup(path, follow=True)
        return {name: self.inodes[ino] for name, ino in inode.entries.items()}

    # Locks ------------------------------------------------------------------------------
    def flock(self, pid: int, fd: int, operation: int) -> bool:
        """One try; True if done, False if it would block (the caller waits or raises)."""
        import fcntl

        desc = self._desc(pid, fd)
        inode = desc.inode
        op = operation & ~fcntl.LOCK_NB
        if op == fcntl.LOCK_UN:
            self._unlock(inode, desc)
            desc.locker = None
            return True
        others_shared = inode.shared - {desc}
        if op == fcntl.LOCK_EX:
            if inode.exclusive not in (None, desc) or others_shared:
                return False
            inode.shared.discard(desc)
            inode.exclusive = desc
        elif op == fcntl.LOCK_SH:
            if inode.exclusive not in (None, desc):
                return False
            inode.exclusive = None
            inode.shared.add(desc)
        else:
            raise fail(errno.EINVAL)
        desc.locker = pid
        self.locked.add(inode)
        return True

    def lock_free(self, pid: int, fd: int, operation: int) -> bool:
        """Whether a flock try would succeed now (for a blocked waiter)."""
        import fcntl

        desc = self.fds.get(pid, {}).get(fd)
        if desc is None:
            return True  # the try will fail with EBADF: let it run
        inode = desc.inode
        if operation & ~fcntl.LOCK_NB == fcntl.LOCK_SH:
            return inode.exclusive in (None, desc)
        return inode.exclusive in (None, desc) and not (inode.shared - {desc})

    def referencing(self, desc: Description) -> list[int]:
        """The pids with a descriptor on *desc*."""
        return [pid for pid, table in self.fds.items() if desc in table.values()]
