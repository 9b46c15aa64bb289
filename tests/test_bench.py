"""The ``lockrotate bench`` command, its report, and the verifier it trusts.

The workloads are tiny: these tests check that every figure arrives and that a bad run is
caught, never how fast anything is.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from conftest import descriptors_under
from lockrotate._cli import main
from lockrotate.bench import report, runner
from lockrotate.bench.runner import Measurement, percentile, rows, wide_spreads
from lockrotate.bench.verify import log_files, record_text, verify
from lockrotate.bench.workload import RunResult, WorkerResult, Workload, run

OURS = ("lockrotate", "lockrotate-strict")


def bench_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "bench.json"
    code = main(["bench", "--plain", "--dir", str(tmp_path), "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_bench_verifies_every_contender_and_writes_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may land in the current folder unasked
    began = time.monotonic()
    code, doc = bench_json(
        tmp_path,
        "--procs", "1,2",
        "--start", "fork",
        "--total", "400",
        "--max-bytes", "4k",
        "--repeat", "2",
        "--contenders", "filehandler,lockrotate,lockrotate-strict",
    )  # fmt: skip
    wall = time.monotonic() - began
    assert code == 0
    assert doc["skipped"] == {}
    assert [(r["procs"], r["contender"]) for r in doc["rows"]] == [
        (procs, name) for procs in (1, 2) for name in ("filehandler", *OURS)
    ]
    for row in doc["rows"]:
        assert row["ok"], row["examples"]
        # What the workers counted, what the verifier found in the files, what was asked.
        assert row["expected"] == row["found"] == 400
        assert len(row["records_per_s_all"]) == 2
    for run_ in doc["runs"]:
        # The rate is against the run's own clock, which the test's clock must contain.
        assert run_["records"] / run_["records_per_s"] < wall
    for row in doc["rows"]:
        if row["contender"] == "filehandler":
            assert row["rollovers"] is None
            assert row["files"] == 1
            assert row["lock_wait_p50"] is None and row["lock_hold_p99"] is None
        else:
            # One ratio per repeat, each paired with FileHandler's run of that repeat.
            assert len(row["ratios"]) == 2
            # 400 records of 100 B roll a 4 KiB file about ten times: the handler's count
            # of rollovers against the files found on disk.
            assert row["rollovers"] == row["files"] - 1 >= 5
            for name in ("lock_wait", "lock_hold"):
                assert {f"{name}_p50", f"{name}_p90", f"{name}_p99"} <= row.keys()
                assert row[f"{name}_p99"] is not None
    strict = [r for r in doc["runs"] if r["contender"] == "lockrotate-strict"]
    # Strict mode takes the lock for every record, as its own counter says.
    assert all(r["lock_acquisitions"] >= r["records"] for r in strict)
    assert len(doc["runs"]) == 12
    # Nothing is left behind without --keep, and nothing lands in the current folder.
    assert sorted(os.listdir(tmp_path)) == ["bench.json"]
    printed = capsys.readouterr().out
    assert "lockrotate-strict" in printed
    assert "FAILED" not in printed


def test_contenders_take_turns_within_each_repeat(tmp_path: Path) -> None:
    code, doc = bench_json(
        tmp_path, "--procs", "1", "--records", "30", "--start", "fork", "--repeat", "3",
        "--contenders", "filehandler,lockrotate,stdlib-rotating",
    )  # fmt: skip
    assert code == 0
    order = [(r["repeat"], r["contender"]) for r in doc["runs"]]
    # Repeat by repeat, every contender once; each repeat starts with the next contender.
    assert order == [
        (0, "filehandler"), (0, "lockrotate"), (0, "stdlib-rotating"),
        (1, "lockrotate"), (1, "stdlib-rotating"), (1, "filehandler"),
        (2, "stdlib-rotating"), (2, "filehandler"), (2, "lockrotate"),
    ]  # fmt: skip


def measurement(contender: str, repeat: int, rate: float) -> Measurement:
    m = Measurement(contender, 2, 1, "fork", repeat, records=100, verified=True)
    m.records_per_s = rate
    return m


def test_ratios_pair_runs_of_the_same_repeat_and_report_median_and_spread() -> None:
    runs = [
        measurement("filehandler", 0, 1000.0),
        measurement("lockrotate", 0, 450.0),  # 0.45
        measurement("filehandler", 1, 2000.0),
        measurement("lockrotate", 1, 1200.0),  # 0.60
        measurement("filehandler", 2, 4000.0),
        measurement("lockrotate", 2, 2200.0),  # 0.55
    ]
    base, ours = rows(runs, ["filehandler", "lockrotate"])
    assert base["records_per_s"] == 2000.0
    assert ours["records_per_s"] == 1200.0
    assert (ours["records_per_s_min"], ours["records_per_s_max"]) == (450.0, 2200.0)
    # Paired per repeat: 0.45, 0.60, 0.55; not the ratio of the medians (1200 / 2000 = 0.60).
    assert ours["ratio"] == pytest.approx(0.55)
    assert (ours["ratio_min"], ours["ratio_max"]) == pytest.approx((0.45, 0.60))
    (warning,) = wide_spreads([base, ours])
    assert warning.startswith("warning: lockrotate with 2 procs")
    assert "0.45-0.60x" in warning


def test_a_ratio_within_ten_percent_brings_no_warning() -> None:
    runs = [
        measurement("filehandler", 0, 1000.0),
        measurement("lockrotate", 0, 520.0),
        measurement("filehandler", 1, 1000.0),
        measurement("lockrotate", 1, 480.0),
    ]
    assert wide_spreads(rows(runs, ["filehandler", "lockrotate"])) == []


def test_stuck_lock_lockrotate_writes_on_concurrent_log_handler_stalls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    code, doc = bench_json(
        tmp_path, "--stuck-lock", "--seconds", "3", "--procs", "2", "--start", "fork",
        "--repeat", "1", "--max-bytes", "4k", "--keep",
        "--contenders", "lockrotate,concurrent-log-handler",
    )  # fmt: skip
    # Bounded: 3 s of writing, 3 s of grace for the stalled, set-up and the check.
    assert time.monotonic() - began < 60
    assert code == 0  # a stalled third-party handler does not fail the command
    ours, clh = doc["rows"]
    assert ours["contender"] == "lockrotate" and clh["contender"] == "concurrent-log-handler"
    for row in (ours, clh):
        assert 0 < row["lock_taken"] < 3
        assert row["verified"], row["examples"]  # every finished record there once, whole
    assert ours["ok"] and ours["stalled"] == []
    assert ours["lock_timeouts"] >= 1
    # No rollover while the lock is held: the file grew past max-bytes as writes went on.
    logs = os.path.join(ours["folder"], "logs")
    assert os.path.getsize(os.path.join(logs, "app.log")) > 4096
    assert not clh["ok"]
    assert clh["stalled"] == ["p0t0", "p1t0"]
    assert clh["crashed"] == []
    printed = capsys.readouterr().out
    assert "lockrotate with 2 procs: wrote on with the lock stuck from " in printed
    assert "concurrent-log-handler with 2 procs: stalled: 2 writers never came back" in printed


@pytest.mark.parametrize(
    "args",
    [["--contenders", "lockrotate-timed"], ["--contenders", "stdlib-timed,lockrotate-timed"]],
)
def test_every_contender_skipped_exits_2_and_says_why(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "--plain", "--dir", str(tmp_path), "--records", "10", *args])
    assert code == 2
    err = capsys.readouterr().err
    assert "no contender can run" in err
    assert "lockrotate-timed: needs time rotation: add --when" in err
    assert os.listdir(tmp_path) == []


def test_python_dash_m_runs_the_bench_with_spawned_workers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "lockrotate", "bench",
            "--procs", "2", "--records", "150", "--max-bytes", "3000",
            "--contenders", "lockrotate", "--json", str(out), "--keep", "--dir", str(tmp_path),
            "--repeat", "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    (row,) = doc["rows"]
    assert (row["contender"], row["procs"], row["start"]) == ("lockrotate", 2, "spawn")
    assert row["ok"] and row["found"] == 300
    assert row["ratio"] is None  # no FileHandler in this run
    assert doc["kept"] in done.stderr
    logs = os.path.join(row["folder"], "logs")
    assert len(log_files(logs, "app.log")) == row["files"] > 1


def test_a_contender_that_cannot_run_says_why_and_the_rest_go_on(tmp_path: Path) -> None:
    code, doc = bench_json(
        tmp_path, "--procs", "1", "--records", "50", "--start", "fork", "--repeat", "1",
        "--contenders", "lockrotate-timed,filehandler",
    )  # fmt: skip
    assert code == 0
    assert "--when" in doc["skipped"]["lockrotate-timed"]
    assert [row["contender"] for row in doc["rows"]] == ["filehandler"]


def test_time_rotation_brings_the_timed_contenders(tmp_path: Path) -> None:
    code, doc = bench_json(
        tmp_path, "--procs", "1", "--start", "fork", "--seconds", "1.1", "--when", "S",
        "--repeat", "1",
    )  # fmt: skip
    assert code == 0
    assert doc["contenders"] == ["filehandler", "lockrotate-timed", "stdlib-timed"]
    timed = next(row for row in doc["rows"] if row["contender"] == "lockrotate-timed")
    assert timed["ok"] and timed["rollovers"] >= 1


def test_chart_is_a_png(tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    code, _ = bench_json(
        tmp_path, "--procs", "1,2", "--records", "50", "--start", "fork",
        "--contenders", "filehandler,lockrotate", "--chart", str(chart),
    )  # fmt: skip
    assert code == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--procs", "0"],
        ["--procs", "1,x"],
        ["--procs", ","],
        ["--contenders", "lockrotate,nope"],
        ["--start", "thread"],
        ["--records", "10", "--seconds", "1"],
        ["--seconds", "-1"],
        ["--seconds", "inf"],
        ["--seconds", "nan"],
        ["--seconds", "0"],
        ["--stuck-lock", "--records", "10"],
        ["--json", "/sys/bench.json"],
        ["--chart", "/sys/bench.png"],
        ["--max-bytes", "lots"],
        ["--when", "fortnight"],
        ["--dir", "/no/such/folder"],
        ["--json", "/no/such/folder/out.json"],
        ["--unknown"],
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("lockrotate bench: error: ")
    assert err.count("\n") == 1


def test_json_naming_an_existing_folder_exits_2_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--json", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --json: {str(tmp_path)!r} is a folder" in err
    assert os.listdir(tmp_path) == []


def test_status_is_handed_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def status_main(argv: list[str]) -> int:
        seen.append(argv)
        return 3

    module = types.ModuleType("lockrotate.status")
    module.main = status_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lockrotate.status", module)
    assert main(["status", "/var/log/app.log", "--json"]) == 3
    assert seen == [["/var/log/app.log", "--json"]]


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["nosuch"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_chart_without_matplotlib_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--chart", str(tmp_path / "c.png")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "lockrotate[chart]" in err and err.count("\n") == 1


def failed_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "contender": "stdlib-rotating", "procs": 4, "records_per_s": 1000.0,
        "us_per_record": 1000.0, "ratio": 0.5, "ok": False, "lost": 7, "duplicated": 0,
        "torn": 0, "out_of_order": 0, "unexpected": 0, "handler_errors": 1, "crashed": [],
        "files": 3, "rotated_files": 2, "rollovers": None, "lock_wait_p50": None,
        "lock_wait_p90": None, "lock_wait_p99": None, "lock_hold_p50": None,
        "lock_hold_p90": None, "lock_hold_p99": None, "ratio_min": 0.45, "ratio_max": 0.55,
        "lock_reports": 0, "stalled": [], "stuck_lock": False, "lock_taken": None,
        "first_error": "FileNotFoundError: app.log",
    }  # fmt: skip
    row.update(changes)
    return row


def test_a_failed_row_is_marked_in_red_and_explained() -> None:
    from rich.console import Console

    rows = [failed_row(), failed_row(contender="lockrotate", ok=True, lost=0, handler_errors=0)]
    console = Console(record=True, width=200, force_terminal=True)
    console.print(report.rich_table(rows, "title"))
    html = console.export_html(inline_styles=True)
    assert "FAILED" in html and "color: #800000" in html  # red
    assert "FAILED" in report.plain_table(rows)
    (line,) = report.failures(rows, backup_count=1000)
    assert line == (
        "stdlib-rotating with 4 procs: 7 lost, 1 handler errors "
        "(first error: FileNotFoundError: app.log)"
    )


def test_a_failure_note_keeps_a_long_path_whole() -> None:
    from rich.console import Console

    logs = "/tmp/lockrotate-bench-x/lockrotate-p4-r0/logs"
    deep = "/".join(["a-rather-long-folder-name"] * 12) + "/app.log.17"
    stderr = (
        '--- Logging error ---\nTraceback (most recent call last):\n  File "x.py"\n'
        f"FileNotFoundError: [Errno 2] No such file: '{logs}/app.log.3' -> '{deep}'\n"
    )
    result = RunResult(1.0, [WorkerResult({"w": 1}, None, stderr, 0)])
    error = runner._first_error(result, logs)
    assert error == f"FileNotFoundError: [Errno 2] No such file: 'app.log.3' -> '{deep}'"
    (line,) = report.failures([failed_row(first_error=error)], backup_count=1000)

    out = io.StringIO()
    report.show([line], [], [failed_row()], "title", Console(file=out, width=80))
    assert f"'{deep}')" in out.getvalue()


def test_verifier_accepts_a_stalled_record_once_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    two = b"".join(record_text("w", seq).encode() + b"\n" for seq in range(2))
    path.write_bytes(two)
    assert verify([str(path)], {"w": 1}, in_flight={"w": 1}).ok  # in flight, written
    assert verify([str(path)], {"w": 2}, in_flight={"w": 2}).ok  # in flight, not written
    assert not verify([str(path)], {"w": 1}).ok  # not in flight: unexpected
    path.write_bytes(two + record_text("w", 1).encode() + b"\n")
    twice = verify([str(path)], {"w": 1}, in_flight={"w": 1})
    assert twice.duplicated == 1 and not twice.ok


def test_percentile_is_an_observed_value() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.5) is None


def test_verifier_catches_a_deleted_rotated_file(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    factory = functools.partial(lockrotate.RotatingFileHandler, maxBytes=5000, backupCount=100)
    result = run(Workload(2, 2, 300, 100, "fork"), factory, str(folder), str(tmp_path / "r"))
    files = log_files(str(folder), "app.log")
    assert verify(files, result.expected).ok
    victim = folder / "app.log.3"
    lines = victim.read_bytes().count(b"\n")
    victim.unlink()
    damaged = verify(log_files(str(folder), "app.log"), result.expected)
    assert not damaged.ok
    assert damaged.lost == lines > 0
    assert damaged.duplicated == damaged.torn == 0


def test_verifier_catches_a_torn_line(tmp_path: Path) -> None:
    records = [record_text("w", seq).encode() for seq in range(3)]
    # The middle record was cut in two by another writer's record.
    half = len(records[1]) // 2
    torn = records[0] + b"\n" + records[1][:half] + records[2] + b"\n" + records[1][half:] + b"\n"
    path = tmp_path / "app.log"
    path.write_bytes(torn)
    found = verify([str(path)], {"w": 3})
    assert not found.ok
    assert found.torn == 2 and found.lost == 2  # both halves; records 1 and 2 not whole


def test_ten_thousand_rollovers_leave_the_descriptor_count_flat(tmp_path: Path) -> None:
    handler = lockrotate.RotatingFileHandler(tmp_path / "app.log", maxBytes=150, backupCount=2)
    logger = logging.getLogger("lockrotate.test_bench.fds")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        message = record_text("w", 0)
        for _ in range(101):  # the first record opens the file; each later one rolls it
            logger.warning(message)
        before = descriptors_under(tmp_path)
        for _ in range(10_000):
            logger.warning(message)
        after = descriptors_under(tmp_path)
        assert handler.stats.rollovers == 10_100
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert after == before
    names = [os.path.basename(path) for path in log_files(str(tmp_path), "app.log")]
    assert names == ["app.log", "app.log.1", "app.log.2"]
