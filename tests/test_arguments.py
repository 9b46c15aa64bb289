"""Every constructor argument of both handlers, good and bad, swept by hand and by hypothesis.

The README promises that a bad argument raises ``ValueError`` or ``TypeError`` at construction,
naming the argument: a typo in a logging config must stop the deploy, not surface as an
``OverflowError`` at the first rollover, days later, or as records silently dropped. Good
arguments must build a handler that writes every record it is given, whole, exactly once.
"""

from __future__ import annotations

import bz2
import codecs
import datetime
import grp
import gzip
import locale
import logging
import lzma
import math
import os
import pwd
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lockrotate

Handler = type[lockrotate.RotatingFileHandler] | type[lockrotate.TimedRotatingFileHandler]
SIZE = lockrotate.RotatingFileHandler
TIMED = lockrotate.TimedRotatingFileHandler
BOTH = pytest.mark.parametrize("cls", [SIZE, TIMED], ids=["size", "timed"])
NAME_MAX = 255
EXTENSIONS = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}
OPENERS: dict[str, Callable[[str], Any]] = {
    ".gz": gzip.open,
    ".bz2": bz2.open,
    ".xz": lzma.open,
}
# The label of one rotated file of the timed handler, by ``when`` (e.g. 2026-11-28_13-05-09).
LABEL_LENGTH = {"S": 19, "M": 16, "H": 13, "D": 10, "MIDNIGHT": 10}

SWEEP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values of the wrong type for every argument: none of them is ever a valid value.
JUNK_VALUES: list[object] = [b"bytes", 3.5, ["a", "list"], {"a": "dict"}, object()]


def junk(*extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values of the wrong type: text, bytes, floats, containers, and the given extras."""
    return st.one_of(
        st.binary(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.builds(object),
        *extra,
    )


# -- helpers ------------------------------------------------------------------------------


def fresh_folder(root: Path) -> Path:
    """A new folder under *root* per hypothesis example (tmp_path is one per test)."""
    return Path(tempfile.mkdtemp(dir=root))


def default_args(cls: Handler, folder: Path) -> tuple[list[Any], dict[str, Any]]:
    """Arguments that build a working handler that rolls over at the second record."""
    if cls is SIZE:
        return [str(folder / "app.log")], {"maxBytes": 1, "backupCount": 3}
    return [str(folder / "app.log")], {"when": "H", "backupCount": 3, "maxBytes": 1}


def assert_refused(
    cls: Handler, argument: str, args: list[Any], kwargs: dict[str, Any], folder: Path
) -> None:
    """Construction raises ValueError or TypeError naming *argument*, and leaves no file."""
    before = sorted(os.listdir(folder))
    with pytest.raises((ValueError, TypeError)) as refused:
        handler = cls(*args, **kwargs)
        handler.close()
    message = str(refused.value)
    assert argument in message, (
        f"{type(refused.value).__name__} does not name {argument!r}: {message!r}"
    )
    assert sorted(os.listdir(folder)) == before, "a refused handler left files behind"


def rotated_and_base(base: str) -> list[str]:
    """The base file and every file whose name starts with its name (rotated ones)."""
    folder, name = os.path.split(base)
    return sorted(
        os.path.join(folder, entry)
        for entry in os.listdir(folder)
        if entry == name or entry.startswith(name + ".")
    )


def read_all(base: str, encoding: str) -> list[str]:
    """Every line of the log and its rotated files, decompressed, in one list."""
    lines: list[str] = []
    for path in rotated_and_base(base):
        opener = OPENERS.get(os.path.splitext(path)[1])
        if path.endswith(".zst"):
            import zstandard

            with open(path, "rb") as raw:
                data = zstandard.ZstdDecompressor().stream_reader(raw).read()
        elif opener is not None:
            with opener(path) as packed:
                data = packed.read()
        else:
            with open(path, "rb") as plain:
                data = plain.read()
        lines.extend(data.decode(encoding).splitlines())
    return lines


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Exceptions that escape a background thread (the compressor's) during the test."""
    seen: list[BaseException] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            seen.append(args.exc_value)

    monkeypatch.setattr(threading, "excepthook", hook)
    yield seen


def assert_works(
    cls: Handler,
    args: list[Any],
    kwargs: dict[str, Any],
    records: int = 2,
    kept: int | None = None,
) -> lockrotate.RotatingFileHandler | lockrotate.TimedRotatingFileHandler:
    """The handler builds, writes *records* records without an error report, and every one
    of them is on disk exactly once (across the base file and rotated files).

    With ``max_age`` or ``max_total_bytes`` retention may remove rotated files: then the
    last record must be there and none twice. *kept*: the number of newest records that
    ``backupCount`` keeps, when each record gets a file of its own (``maxBytes=1``).
    """
    handler = cls(*args, **kwargs)
    reports: list[BaseException | None] = []
    handler.handleError = lambda record: reports.append(sys.exc_info()[1])  # type: ignore[method-assign]
    stamp = f"{time.monotonic_ns()}"
    sent = [f"record {stamp} {number}" for number in range(records)]
    try:
        for text in sent:
            handler.handle(make_record(text))
    finally:
        handler.close()
    assert reports == [], f"handleError was called: {reports!r}"
    encoding = kwargs.get("encoding") or handler.encoding or "utf-8"
    if encoding == "locale":
        encoding = locale.getpreferredencoding(False)
    found = [line for line in read_all(handler.baseFilename, encoding) if stamp in line]
    if kept is not None:
        assert sorted(found) == sorted(sent[-kept:])
    elif kwargs.get("max_age") is None and kwargs.get("max_total_bytes") is None:
        assert sorted(found) == sorted(sent)
    else:
        assert sent[-1] in found and len(set(found)) == len(found) and set(found) <= set(sent)
    return handler


def make_record(text: str) -> logging.LogRecord:
    return logging.makeLogRecord({"msg": text, "levelno": logging.INFO, "levelname": "INFO"})


# -- filename ------------------------------------------------------------------------------


class BytesPath(os.PathLike[bytes]):
    """A path object whose path is bytes: the handlers take text paths only."""

    def __init__(self, path: bytes) -> None:
        self.path = path

    def __fspath__(self) -> bytes:
        return self.path


@BOTH
@pytest.mark.parametrize(
    "make_name",
    [
        pytest.param(lambda folder: os.fsencode(folder / "app.log"), id="bytes"),
        pytest.param(
            lambda folder: BytesPath(os.fsencode(folder / "app.log")), id="bytes-pathlike"
        ),
        pytest.param(lambda folder: str(folder / "app\0.log"), id="nul"),
        pytest.param(lambda folder: str(folder / ("a" * (NAME_MAX + 1))), id="256-chars"),
        pytest.param(lambda folder: str(folder / ("é" * 128)), id="256-utf8-bytes"),
        pytest.param(str, id="a-folder"),
        pytest.param(lambda folder: "", id="empty"),
        pytest.param(lambda folder: 3, id="int"),
        pytest.param(lambda folder: None, id="none"),
    ],
)
@pytest.mark.parametrize("delay", [False, True], ids=["open", "delay"])
def test_filename_refused(
    cls: Handler, make_name: Callable[[Path], Any], delay: bool, tmp_path: Path
) -> None:
    args, kwargs = default_args(cls, tmp_path)
    args[0] = make_name(tmp_path)
    assert_refused(cls, "filename", args, {**kwargs, "delay": delay}, tmp_path)


def name_fits(cls: Handler, name_bytes: int, when: str) -> tuple[bool, bool]:
    """(must work, must be refused) for a base name of *name_bytes* bytes, with
    ``backupCount=1`` and ``maxBytes=1``: size names are ``.1``; timed names are
    ``.<label>`` and ``.<label>.N`` with N unbounded, so up to two digits must fit for the
    name to be sure to work, and a name the bare label cannot follow must be refused."""
    if cls is SIZE:
        refused = name_bytes + len(".1") > NAME_MAX
        return not refused, refused
    label = 1 + LABEL_LENGTH[when]
    return name_bytes + label + len(".99") <= NAME_MAX, name_bytes + label > NAME_MAX


def check_name(cls: Handler, args: list[Any], kwargs: dict[str, Any], folder: Path) -> None:
    """Works, is refused naming filename, or (in between) either, by ``name_fits``. Four
    records with ``maxBytes=1``, ``backupCount=1``: three rollovers, two with retention."""
    name = os.path.basename(args[0])
    works, refused = name_fits(cls, len(os.fsencode(name)), kwargs.get("when", "H").upper())
    if name in {".", ".."} or refused:
        assert_refused(cls, "filename", args, kwargs, folder)
    elif works:
        assert_works(cls, args, kwargs, records=4, kept=2)
    else:
        try:
            handler = cls(*args, **kwargs)
        except (ValueError, TypeError) as error:
            assert "filename" in str(error), repr(error)
            return
        handler.close()
        os.remove(handler.baseFilename)
        assert_works(cls, args, kwargs, records=4, kept=2)


@BOTH
@pytest.mark.parametrize("length", [225, 230, 232, 235, 236, 240, 245, 250, 252, 253, 254, 255])
@pytest.mark.parametrize("chmod", [None, 0o640], ids=["umask", "chmod"])
def test_long_filenames(cls: Handler, length: int, chmod: int | None, tmp_path: Path) -> None:
    """Legal names of 225-255 characters (the stdlib rotates all of them): the handler
    works, through rollovers and retention (4 records, ``backupCount=1``), when its rotated
    names fit in NAME_MAX, and refuses the name (ValueError naming filename) when not."""
    kwargs: dict[str, Any] = {"maxBytes": 1, "backupCount": 1, "chmod": chmod}
    if cls is TIMED:
        kwargs["when"] = "S"
    check_name(cls, [str(tmp_path / ("n" * length))], kwargs, tmp_path)


NAME_CHARACTERS = st.characters(codec="utf-8", exclude_characters="/\0")


@BOTH
@given(
    name=st.one_of(
        st.text(NAME_CHARACTERS, min_size=1, max_size=NAME_MAX),
        # Names near NAME_MAX, where companion and rotated names stop fitting.
        st.integers(200, NAME_MAX + 5).flatmap(
            lambda n: st.text(NAME_CHARACTERS, min_size=n, max_size=n)
        ),
    )
)
@SWEEP
def test_filename_sweep(cls: Handler, name: str, tmp_path: Path) -> None:
    """Any legal file name works if its rotated names fit; otherwise it is refused."""
    folder = fresh_folder(tmp_path)
    kwargs: dict[str, Any] = {"maxBytes": 1, "backupCount": 1}
    if cls is TIMED:
        kwargs["when"] = "H"
    # os.path.join, not Path: pathlib would turn "folder/." into "folder".
    check_name(cls, [os.path.join(folder, name)], kwargs, folder)


@BOTH
def test_filename_path_object(cls: Handler, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    handler = assert_works(cls, [tmp_path / "app.log"], kwargs)
    assert handler.baseFilename == args[0]


# -- mode (size handler) -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["w", "r", "x", "ab", "a+", "at", "", "A", None, 1, b"a"])
def test_mode_refused(mode: object, tmp_path: Path) -> None:
    """Only 'a': 'w' would wipe every other process's records (documented)."""
    assert_refused(SIZE, "mode", [str(tmp_path / "app.log"), mode], {}, tmp_path)


@given(mode=st.one_of(st.text(max_size=4), junk(st.integers(), st.none())))
@SWEEP
def test_mode_sweep(mode: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    if mode == "a":
        assert_works(SIZE, [str(folder / "app.log"), mode, 1, 1], {})
    else:
        assert_refused(SIZE, "mode", [str(folder / "app.log"), mode], {}, folder)


# -- counts: maxBytes, backupCount, max_total_bytes -----------------------------------------

COUNTS = ["maxBytes", "backupCount", "max_total_bytes"]


@BOTH
@pytest.mark.parametrize("argument", COUNTS)
@given(value=st.integers(min_value=0, max_value=10**30))
@SWEEP
def test_count_good(cls: Handler, argument: str, value: int, tmp_path: Path) -> None:
    """Any count from 0 to far beyond a disk's size works (10**30 bytes means never)."""
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_works(cls, args, {**kwargs, argument: value})


@BOTH
@pytest.mark.parametrize("argument", COUNTS)
@given(
    value=st.one_of(
        st.integers(max_value=-1),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.booleans(),
        junk(),
    )
)
@SWEEP
def test_count_bad(cls: Handler, argument: str, value: object, tmp_path: Path) -> None:
    """Negative numbers, floats (even whole ones: 1e6, except for maxBytes, as the stdlib),
    strings ("100") and bools are refused."""
    assume(
        not (
            argument == "maxBytes"
            and isinstance(value, float)
            and value.is_integer()
            and value >= 0
        )
    )
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_refused(cls, argument, args, {**kwargs, argument: value}, folder)


@BOTH
@pytest.mark.parametrize("value", [1e7, 1.0, 0.0, 4096.0])
def test_max_bytes_takes_a_whole_float_as_the_stdlib(
    cls: Handler, value: float, tmp_path: Path
) -> None:
    """``maxBytes=1e7`` from a configuration file works, as in the stdlib; it reads back
    as an int. A fraction of a byte is refused, naming the argument."""
    args, kwargs = default_args(cls, tmp_path)
    handler = cls(*args, **{**kwargs, "maxBytes": value})
    try:
        assert handler.maxBytes == int(value) and type(handler.maxBytes) is int
        handler.maxBytes = 2e3
        assert handler.maxBytes == 2000
    finally:
        handler.close()
    with pytest.raises(ValueError, match="maxBytes"):
        cls(*args, **{**kwargs, "maxBytes": 1000.5})


@pytest.mark.parametrize("when", ["S", "M", "H", "D", "midnight", "W0"])
def test_interval_takes_a_whole_float_as_the_stdlib(when: str, tmp_path: Path) -> None:
    as_float = TIMED(str(tmp_path / "a.log"), when, 2.0, 3)
    as_int = TIMED(str(tmp_path / "b.log"), when, 2, 3)
    try:
        assert as_float.interval == as_int.interval
        assert as_float.rolloverAt == as_int.rolloverAt
    finally:
        as_float.close()
        as_int.close()
    with pytest.raises(ValueError, match="interval"):
        TIMED(str(tmp_path / "c.log"), when, 1.5, 3)


@pytest.mark.parametrize(
    ("max_bytes", "backup_count"),
    [(10**30, 3), (2**63, 3), (2**64 + 1, 3), (1, 10**20), (1, 2**63), (1, 10**6)],
)
def test_huge_counts_roll_over(max_bytes: int, backup_count: int, tmp_path: Path) -> None:
    """Huge limits are legal: nothing in the rollover may overflow or loop over them."""
    args = [str(tmp_path / "app.log"), "a", max_bytes, backup_count]
    assert_works(SIZE, args, {}, records=4)


# -- encoding and errors -------------------------------------------------------------------

GOOD_ENCODINGS = [
    None,
    "utf-8",
    "UTF8",
    "utf_8",
    "latin-1",
    "ascii",
    "cp1252",
    "cp037",
    "utf-16-le",
    "utf-32-be",
    "koi8-r",
    "shift_jis",
    "locale",
]
BAD_ENCODINGS: list[object] = [
    "rot13",
    "base64",
    "hex",
    "zlib",
    "bz2_codec",
    "quopri",
    "uu",
    "utf-16",
    "utf-32",
    "utf-8-sig",
    "no-such-codec",
    "",
    "utf\0-8",
    123,
    b"utf-8",
    ["utf-8"],
]


@BOTH
@pytest.mark.parametrize("encoding", GOOD_ENCODINGS)
def test_encoding_good(cls: Handler, encoding: str | None, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_works(cls, args, {**kwargs, "encoding": encoding})


@BOTH
@pytest.mark.parametrize("encoding", BAD_ENCODINGS, ids=repr)
def test_encoding_bad(cls: Handler, encoding: object, tmp_path: Path) -> None:
    """Unknown codecs, bytes-to-bytes or text-to-text codecs (rot13), byte-order marks."""
    args, kwargs = default_args(cls, tmp_path)
    assert_refused(cls, "encoding", args, {**kwargs, "encoding": encoding}, tmp_path)


def is_usable_text_codec(name: str) -> bool:
    """The oracle: a known text codec that writes no byte-order mark."""
    try:
        info = codecs.lookup(name)
        return bool(getattr(info, "_is_text_encoding", True)) and "".encode(name) == b""
    except (LookupError, ValueError):
        return False


@given(encoding=st.text(max_size=12))
@SWEEP
def test_encoding_sweep(encoding: str, tmp_path: Path) -> None:
    """Random names: either refused naming encoding, or a real text codec that works."""
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(SIZE, folder)
    # "locale" is the stdlib's name for the locale's encoding (io.text_encoding).
    usable = encoding == "locale" or is_usable_text_codec(encoding)
    if usable and "\0" not in encoding:
        assert_works(SIZE, args, {**kwargs, "encoding": encoding})
    else:
        assert_refused(SIZE, "encoding", args, {**kwargs, "encoding": encoding}, folder)


GOOD_ERRORS = [
    None,
    "strict",
    "ignore",
    "replace",
    "backslashreplace",
    "xmlcharrefreplace",
    "namereplace",
    "surrogateescape",
    "surrogatepass",
]


@BOTH
@pytest.mark.parametrize("errors", GOOD_ERRORS)
def test_errors_good(cls: Handler, errors: str | None, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_works(cls, args, {**kwargs, "errors": errors})


@BOTH
@pytest.mark.parametrize("errors", ["bogus", "strict\0", 123, b"strict", ["strict"]], ids=repr)
def test_errors_bad(cls: Handler, errors: object, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_refused(cls, "errors", args, {**kwargs, "errors": errors}, tmp_path)


@given(errors=st.one_of(st.text(min_size=1, max_size=12), junk(st.integers())))
@SWEEP
def test_errors_sweep(errors: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(SIZE, folder)
    if errors in GOOD_ERRORS:
        assert_works(SIZE, args, {**kwargs, "errors": errors})
    else:
        assert_refused(SIZE, "errors", args, {**kwargs, "errors": errors}, folder)


# -- flags: delay, utc, lock_every_write ----------------------------------------------------

FLAGS = [(SIZE, "delay"), (TIMED, "delay"), (TIMED, "utc"), (SIZE, "lock_every_write")]


@pytest.mark.parametrize(("cls", "argument"), FLAGS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("value", [True, False, 0, 1])
def test_flag_good(cls: Handler, argument: str, value: object, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_works(cls, args, {**kwargs, argument: value})


@pytest.mark.parametrize(("cls", "argument"), FLAGS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("value", ["false", "no", "0", "", b"0"], ids=repr)
def test_flag_given_a_string_is_refused(
    cls: Handler, argument: str, value: object, tmp_path: Path
) -> None:
    """A config that passes ``"false"`` gets True (a non-empty string is true): refuse it."""
    args, kwargs = default_args(cls, tmp_path)
    assert_refused(cls, argument, args, {**kwargs, argument: value}, tmp_path)


# -- when, interval, atTime ----------------------------------------------------------------

WHENS = ["S", "M", "H", "D", "MIDNIGHT", *(f"W{day}" for day in range(7))]


@given(
    when=st.sampled_from(WHENS).flatmap(lambda w: st.sampled_from([w, w.lower(), w.capitalize()])),
    interval=st.integers(min_value=1, max_value=1000),
)
@SWEEP
def test_when_interval_good(when: str, interval: int, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    assert_works(TIMED, [str(folder / "app.log"), when, interval, 3], {"maxBytes": 1})


@given(
    when=st.one_of(st.text(max_size=9), junk(st.integers(), st.none())).filter(
        lambda w: not (isinstance(w, str) and w.upper() in WHENS)
    )
)
@SWEEP
def test_when_bad(when: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    assert_refused(TIMED, "when", [str(folder / "app.log"), when], {}, folder)


@pytest.mark.parametrize("when", ["X", "W", "W7", "W-1", "WW", "H ", " H", "h\0", "SS", "midnite"])
def test_when_bad_explicit(when: str, tmp_path: Path) -> None:
    assert_refused(TIMED, "when", [str(tmp_path / "app.log"), when], {}, tmp_path)


@given(
    interval=st.one_of(
        st.integers(max_value=0),
        st.floats().filter(lambda f: not f.is_integer() or f < 1),
        st.text(max_size=4),
        st.booleans(),
        junk(),
    ),
    when=st.sampled_from(WHENS),
)
@SWEEP
def test_interval_bad(interval: object, when: str, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    assert_refused(TIMED, "interval", [str(folder / "app.log"), when, interval], {}, folder)


@pytest.mark.parametrize("when", WHENS)
@pytest.mark.parametrize("interval", [10**20, 2**63, 10**12, 10**9 + 7])
def test_huge_interval(when: str, interval: int, tmp_path: Path) -> None:
    """An interval beyond what the clock can represent is refused naming ``interval``; any
    other works. (10**20 raised OverflowError before.)"""
    args: list[Any] = [str(tmp_path / "app.log"), when, interval, 3]
    try:
        handler = TIMED(*args)
    except (ValueError, TypeError) as refused:
        assert "interval" in str(refused)
        return
    handler.close()
    os.remove(handler.baseFilename)
    assert_works(TIMED, args, {})


@given(interval=st.integers(min_value=1001, max_value=10**40), when=st.sampled_from(WHENS))
@SWEEP
def test_interval_sweep_large(interval: int, when: str, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args: list[Any] = [str(folder / "app.log"), when, interval, 3]
    try:
        handler = TIMED(*args)
    except (ValueError, TypeError) as refused:
        assert "interval" in str(refused), repr(refused)
        assert sorted(os.listdir(folder)) == []
        return
    handler.close()
    os.remove(handler.baseFilename)
    assert_works(TIMED, args, {})


@given(
    at_time=st.times(),
    when=st.sampled_from(["MIDNIGHT", "midnight", *(f"W{day}" for day in range(7))]),
    utc=st.booleans(),
)
@SWEEP
def test_at_time_good(at_time: datetime.time, when: str, utc: bool, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    kwargs = {"utc": utc, "atTime": at_time, "maxBytes": 1}
    assert_works(TIMED, [str(folder / "app.log"), when, 1, 3], kwargs)


@pytest.mark.parametrize(
    "at_time",
    ["12:00", 43200, 12.0, datetime.datetime(2026, 1, 1, 12), datetime.timedelta(hours=12)],
    ids=repr,
)
def test_at_time_bad(at_time: object, tmp_path: Path) -> None:
    args = [str(tmp_path / "app.log"), "midnight"]
    assert_refused(TIMED, "atTime", args, {"atTime": at_time}, tmp_path)


@pytest.mark.parametrize("when", ["S", "M", "H", "D"])
@pytest.mark.parametrize("at_time", [datetime.time(12), "12:00"], ids=repr)
def test_at_time_with_a_clock_aligned_when_is_ignored(
    when: str, at_time: object, tmp_path: Path
) -> None:
    """As the stdlib (3.11 to 3.13): atTime is used only at midnight or weekly, and ignored
    (not even checked) otherwise; the attribute keeps what was given."""
    with_it = TIMED(str(tmp_path / "a.log"), when, atTime=at_time)
    without = TIMED(str(tmp_path / "b.log"), when)
    try:
        assert with_it.atTime == at_time
        assert with_it.rolloverAt == without.rolloverAt
    finally:
        with_it.close()
        without.close()


# -- lock, lock_dir ------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("lock", sorted(typing.get_args(lockrotate.LockBackend)))
def test_lock_good(cls: Handler, lock: str, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_works(cls, args, {**kwargs, "lock": lock})


@given(lock=st.one_of(st.text(max_size=12), junk(st.integers(), st.none())))
@SWEEP
def test_lock_sweep(lock: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(SIZE, folder)
    if isinstance(lock, str) and lock in typing.get_args(lockrotate.LockBackend):
        assert_works(SIZE, args, {**kwargs, "lock": lock})
    else:
        assert_refused(SIZE, "lock", args, {**kwargs, "lock": lock}, folder)


@BOTH
@pytest.mark.parametrize("as_path", [False, True], ids=["str", "path"])
def test_lock_dir_good(cls: Handler, as_path: bool, tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    locks.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    args, kwargs = default_args(cls, logs)
    handler = assert_works(cls, args, {**kwargs, "lock_dir": locks if as_path else str(locks)})
    assert os.path.dirname(handler.lock_file) == str(locks)


@BOTH
@pytest.mark.parametrize(
    "make_dir",
    [
        pytest.param(lambda folder: str(folder / "missing"), id="missing"),
        pytest.param(lambda folder: str(folder / "app.log.conf"), id="a-file"),
        pytest.param(lambda folder: str(folder) + "\0", id="nul"),
        pytest.param(os.fsencode, id="bytes"),
        pytest.param(lambda folder: 3, id="int"),
        pytest.param(lambda folder: [str(folder)], id="list"),
    ],
)
def test_lock_dir_bad(cls: Handler, make_dir: Callable[[Path], object], tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "app.log.conf").write_text("not a folder\n")
    args, kwargs = default_args(cls, logs)
    assert_refused(cls, "lock_dir", args, {**kwargs, "lock_dir": make_dir(tmp_path)}, logs)


# -- durations: lock_timeout, check_interval, max_age ---------------------------------------

DURATIONS = ["lock_timeout", "check_interval", "max_age"]


@BOTH
@pytest.mark.parametrize("argument", DURATIONS)
@given(value=st.one_of(st.floats(0, 3600), st.integers(0, 3600)))
@SWEEP
def test_duration_good(
    cls: Handler, argument: str, value: float, tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_works(cls, args, {**kwargs, argument: value, "compress": "gzip"})
    assert thread_errors == []


@BOTH
@pytest.mark.parametrize("argument", DURATIONS)
@given(
    value=st.one_of(
        st.floats(max_value=-1e-9),
        st.just(math.nan),
        st.integers(max_value=-1),
        st.text(max_size=4),
        st.booleans(),
        st.timedeltas(max_value=datetime.timedelta(microseconds=-1)),
        junk(),
    )
)
@SWEEP
def test_duration_bad(cls: Handler, argument: str, value: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    if argument != "max_age" and isinstance(value, datetime.timedelta):
        value = value.total_seconds()  # only max_age takes a timedelta
    assert_refused(cls, argument, args, {**kwargs, argument: value}, folder)


@BOTH
@pytest.mark.parametrize("argument", DURATIONS)
@pytest.mark.parametrize(
    "value", [math.inf, 1e10, 1e300, 2**63, 10**30, threading.TIMEOUT_MAX * 2], ids=repr
)
def test_duration_huge(
    cls: Handler, argument: str, value: float, tmp_path: Path, thread_errors: list[BaseException]
) -> None:
    """A "forever" either works (rollovers, compression, strict mode all go on) or is refused
    naming the argument: never an OverflowError at the first lock (lock_timeout=inf was)."""
    args, kwargs = default_args(cls, tmp_path)
    kwargs = {**kwargs, argument: value, "compress": "gzip"}
    try:
        cls(*args, **kwargs).close()
    except (ValueError, TypeError) as refused:
        assert argument in str(refused), repr(refused)
        return
    for name in os.listdir(tmp_path):
        os.remove(tmp_path / name)
    handler = assert_works(cls, args, kwargs, records=3)
    assert handler.stats.rollovers >= 1
    assert_works(cls, [str(tmp_path / "strict.log")], {**kwargs, "lock_every_write": True}, 3)
    assert thread_errors == []


@BOTH
@given(value=st.timedeltas(min_value=datetime.timedelta(0)))
@SWEEP
def test_max_age_timedelta(cls: Handler, value: datetime.timedelta, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_works(cls, args, {**kwargs, "max_age": value})


# -- compress ------------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("compress", [None, *EXTENSIONS])
def test_compress_good(cls: Handler, compress: str | None, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_works(cls, args, {**kwargs, "compress": compress})


@given(compress=st.one_of(st.text(max_size=6), junk(st.integers(), st.booleans())))
@SWEEP
def test_compress_sweep(compress: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(SIZE, folder)
    if isinstance(compress, str) and compress in EXTENSIONS:
        assert_works(SIZE, args, {**kwargs, "compress": compress})
    else:
        assert_refused(SIZE, "compress", args, {**kwargs, "compress": compress}, folder)


@BOTH
@pytest.mark.parametrize("compress", ["GZIP", "gz", "zip", "lz4", "", ["gzip"], True, 1], ids=repr)
def test_compress_bad(cls: Handler, compress: object, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_refused(cls, "compress", args, {**kwargs, "compress": compress}, tmp_path)


# -- chmod, owner --------------------------------------------------------------------------


@BOTH
@given(mode=st.integers(0, 0o7777).map(lambda mode: mode | 0o600))
@SWEEP
def test_chmod_good(cls: Handler, mode: int, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    handler = assert_works(cls, args, {**kwargs, "chmod": mode})
    assert os.stat(handler.baseFilename).st_mode & 0o7777 == mode


@BOTH
@given(
    mode=st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=0o10000),
        st.text(max_size=5),
        st.booleans(),
        junk(),
    )
)
@SWEEP
def test_chmod_bad(cls: Handler, mode: object, tmp_path: Path) -> None:
    """Out of range, strings ("0640": a classic config mistake), floats, bools."""
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_refused(cls, "chmod", args, {**kwargs, "chmod": mode}, folder)


def own_ids() -> tuple[int, int]:
    return os.geteuid(), os.getegid()


@BOTH
@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(own_ids, id="own-ids"),
        pytest.param(lambda: list(own_ids()), id="own-ids-list"),
        pytest.param(
            lambda: (pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name),
            id="own-names",
        ),
    ],
)
def test_owner_good(cls: Handler, owner: Callable[[], object], tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    handler = assert_works(cls, args, {**kwargs, "owner": owner()})
    st_ = os.stat(handler.baseFilename)
    assert (st_.st_uid, st_.st_gid) == own_ids()


@BOTH
@given(
    owner=st.one_of(
        st.tuples(st.integers(max_value=-2), st.just(0)),
        st.tuples(st.just(0), st.integers(max_value=-2)),
        st.tuples(st.integers(min_value=2**32), st.just(0)),
        st.tuples(st.just(0), st.integers(min_value=2**32)),
        st.tuples(st.text(min_size=1, max_size=8).map(lambda s: "no such user " + s), st.just(0)),
        st.tuples(st.just(0), st.text(min_size=1, max_size=8).map(lambda s: "no group " + s)),
        st.tuples(st.floats(), st.just(0)),
        st.tuples(st.just(0), st.none()),
        st.lists(st.integers(0, 10), max_size=4).filter(lambda ids: len(ids) != 2),
        st.text(max_size=8),
        st.integers(),
        st.booleans(),
    )
)
@SWEEP
def test_owner_bad(cls: Handler, owner: object, tmp_path: Path) -> None:
    """Unknown names, ids no file can have (OverflowError before), wrong shapes and types."""
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_refused(cls, "owner", args, {**kwargs, "owner": owner}, folder)


# -- clock ---------------------------------------------------------------------------------


@BOTH
@given(reading=st.one_of(st.floats(0, 4e9), st.integers(0, 4 * 10**9)))
@SWEEP
def test_clock_good(cls: Handler, reading: float, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_works(cls, args, {**kwargs, "clock": lambda: reading})


@BOTH
@given(clock=st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.none(), junk()))
@SWEEP
def test_clock_not_callable(cls: Handler, clock: object, tmp_path: Path) -> None:
    folder = fresh_folder(tmp_path)
    args, kwargs = default_args(cls, folder)
    assert_refused(cls, "clock", args, {**kwargs, "clock": clock}, folder)


@pytest.mark.parametrize(
    "reading", [math.nan, math.inf, -math.inf, 1e20, -1e20, "1700000000", None, b"0"], ids=repr
)
def test_clock_bad_reading(reading: object, tmp_path: Path) -> None:
    """The timed handler reads its clock at construction (its first period): a reading that
    is not a usable time is refused there, not met as an error at every record."""
    args, kwargs = default_args(TIMED, tmp_path)
    assert_refused(TIMED, "clock", args, {**kwargs, "clock": lambda: reading}, tmp_path)


# -- the keyword-only options --------------------------------------------------------------


@BOTH
def test_unknown_option_is_named(cls: Handler, tmp_path: Path) -> None:
    args, kwargs = default_args(cls, tmp_path)
    assert_refused(cls, "lock_timeot", args, {**kwargs, "lock_timeot": 1.0}, tmp_path)


def test_options_are_keyword_only(tmp_path: Path) -> None:
    """Positional arguments beyond the stdlib's are refused, not taken as an option."""
    args: list[Any] = [str(tmp_path / "app.log"), "a", 1, 3, "utf-8", False, "strict", "flock"]
    with pytest.raises(TypeError, match="positional"):
        SIZE(*args)
