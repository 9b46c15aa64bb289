"""The stdlib handler around the core: encoding, ``handleError``, the stdlib's attributes as
views, and its hooks. Every decision a record meets is :mod:`lockrotate._rollover`'s."""

from __future__ import annotations

import codecs
import errno
import io
import logging
import logging.handlers
import os
from typing import cast

from ._compose import BySize, ByTime, HandlerHooks, compose
from ._compress import Format
from ._files import is_folder, never_overwrite
from ._naming import lock_path
from ._policy import SizePolicy, TimePolicy
from ._settings import Settings, count_arg, flag_arg
from ._stats import HandlerStats
from ._system import System

_HOOKS = ("shouldRollover", "doRollover")


class SharedFileHandler(logging.handlers.BaseRotatingHandler):
    """A rotating file handler whose file many processes share; see the public subclasses."""

    def __init__(
        self,
        settings: Settings,
        rotation: BySize | ByTime,
        encoding: str | None,
        delay: bool,
        errors: str | None,
        system: System,
    ) -> None:
        base = settings.base_path
        delay = flag_arg("delay", delay)
        if not delay and not is_folder(os.path.dirname(base), system):
            raise FileNotFoundError(errno.ENOENT, f"the folder of log file {base!r} does not exist")
        self._settings = settings
        self._codec, self._codec_errors = settings.codec, settings.errors
        # ``str.encode()`` with no arguments skips the codec lookup: a tenth of a record's cost.
        self._utf8 = codecs.lookup(settings.codec).name == "utf-8" and settings.errors == "strict"
        self.lock_file = lock_path(base, settings.lock_dir)
        self._core, policy = compose(settings, rotation, HandlerHooks(self), system)
        self._policy = cast("SizePolicy | TimePolicy", policy)
        self._hand_over_hooks()
        # All refusals are behind us: only now does logging know the handler (and close it).
        super().__init__(base, "a", encoding=encoding, delay=True, errors=errors)
        # As the stdlib's rotating handlers leave them (BaseRotatingHandler resets encoding).
        self.delay = delay
        self.encoding = io.text_encoding(encoding)
        if not delay:
            try:
                self._core.ensure_open()
            except BaseException:
                self.close()
                raise

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name in _HOOKS:  # assigned on the instance: honoured, as the stdlib's emit does
            self._hand_over_hooks()

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        if name in _HOOKS:
            self._hand_over_hooks()

    def _hand_over_hooks(self) -> None:
        """The core calls ``shouldRollover``/``doRollover`` only where they are not ours."""
        should, do = self.shouldRollover, self.doRollover
        own_should = getattr(should, "__func__", None) is SharedFileHandler.shouldRollover
        own_do = getattr(do, "__func__", None) is SharedFileHandler.doRollover
        self._core.take_hooks(None if own_should else should, None if own_do else do)

    @property
    def maxBytes(self) -> int:
        """The stdlib's attribute, a view of the policy: setting it changes the policy."""
        return self._policy.max_bytes

    @maxBytes.setter
    def maxBytes(self, value: int) -> None:
        self._policy.max_bytes = count_arg("maxBytes", value, whole_floats=True)
        self._core.arm()

    @property
    def backupCount(self) -> int:
        return self._policy.backup_count

    @backupCount.setter
    def backupCount(self, value: int) -> None:
        self._policy.backup_count = count_arg("backupCount", value)
        self._core.arm()

    # Options fixed at construction are read-only: assigning them could change nothing.
    @property
    def compress(self) -> Format | None:
        return self._settings.compress

    @property
    def max_age(self) -> float | None:
        return self._settings.max_age

    @property
    def max_total_bytes(self) -> int | None:
        return self._settings.max_total_bytes

    @property
    def stats(self) -> HandlerStats:
        """What this process's handler did since it was built (or since this process forked)."""
        return self._core.stats

    def emit(self, record: logging.LogRecord) -> None:
        """Hand the encoded record to the core, which writes it as one ``write()``."""
        try:
            text = self.format(record) + self.terminator
            data = text.encode() if self._utf8 else text.encode(self._codec, self._codec_errors)
            self._core.write(data, record)
        except RecursionError:
            raise
        except OSError:
            self._core.write_failed(record)
        except Exception:
            self.handleError(record)

    def shouldRollover(self, record: logging.LogRecord | None) -> bool:
        """Whether *record* would trigger a rollover now. A subclass's override is asked once
        per record by ``emit``, which then rolls over through the protocol."""
        with self.lock:  # type: ignore[union-attr]  # created by logging.Handler
            text = "" if record is None else self.format(record) + self.terminator
            return self._core.due_now(len(text.encode(self._codec, self._codec_errors)))

    def doRollover(self) -> None:
        """Roll over now, unless another process just did (then its new file is used)."""
        with self.lock:  # type: ignore[union-attr]
            self._core.roll_now()

    def rotate(self, source: str, dest: str) -> None:
        """Move *source* to *dest* (or call ``rotator``); never replaces an existing file."""
        if callable(self.rotator):
            return self.rotator(source, dest)
        never_overwrite(dest, self._core.system)
        self._core.system.rename(source, dest)

    def close(self) -> None:
        """Close; a compression in progress finishes, pending ones stay plain. A later record
        is appended through a descriptor of its own."""
        self._core.stop_compressing()
        with self.lock:  # type: ignore[union-attr]
            self._core.close()
            logging.Handler.close(self)  # under the lock, as the stdlib: no emit slips in
