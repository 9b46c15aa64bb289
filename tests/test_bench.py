"""The ``lockrotate bench`` command, its report, and the verifier it trusts.

The workloads are tiny: these tests check that every figure arrives and that a bad run is
caught, never how fast anything is.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from lockrotate.bench import report
from lockrotate.bench.cli import main
from lockrotate.bench.runner import percentile
from lockrotate.bench.verify import log_files, record_text, verify
from lockrotate.bench.workload import Workload, run

OURS = ("lockrotate", "lockrotate-strict")


def bench_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "bench.json"
    code = main(["bench", "--plain", "--dir", str(tmp_path), "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_bench_verifies_every_contender_and_writes_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = bench_json(
        tmp_path,
        "--procs", "1,2",
        "--start", "fork",
        "--total", "400",
        "--max-bytes", "4k",
        "--contenders", "filehandler,lockrotate,lockrotate-strict",
    )  # fmt: skip
    assert code == 0
    assert doc["skipped"] == {}
    assert [(r["procs"], r["contender"]) for r in doc["rows"]] == [
        (procs, name) for procs in (1, 2) for name in ("filehandler", *OURS)
    ]
    for row in doc["rows"]:
        assert row["ok"], row["examples"]
        assert row["records"] == row["expected"] == row["found"] == 400
        assert row["records_per_s"] > 0
        assert row["us_per_record"] == pytest.approx(1e6 / row["records_per_s"])
    for row in doc["rows"]:
        if row["contender"] == "filehandler":
            assert row["ratio"] == 1.0
            assert row["rollovers"] is None
            assert row["files"] == 1
        else:
            # 400 records of 100 B roll a 4 KiB file about ten times.
            assert row["rollovers"] == row["rotated_files"] == row["files"] - 1 >= 5
            assert row["lock_held_max"] >= row["lock_held_p99"] >= 0
            assert row["lock_wait_total"] >= 0
    assert len(doc["runs"]) == 6
    # Nothing is left behind without --keep.
    assert sorted(os.listdir(tmp_path)) == ["bench.json"]
    printed = capsys.readouterr().out
    assert "lockrotate-strict" in printed
    assert "FAILED" not in printed


def test_python_dash_m_runs_the_bench_with_spawned_workers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "lockrotate", "bench",
            "--procs", "2", "--records", "150", "--max-bytes", "3000",
            "--contenders", "lockrotate", "--json", str(out), "--keep", "--dir", str(tmp_path),
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
        tmp_path, "--procs", "1", "--records", "50", "--start", "fork",
        "--contenders", "lockrotate-timed,filehandler",
    )  # fmt: skip
    assert code == 0
    assert "--when" in doc["skipped"]["lockrotate-timed"]
    assert [row["contender"] for row in doc["rows"]] == ["filehandler"]


def test_time_rotation_brings_the_timed_contenders(tmp_path: Path) -> None:
    code, doc = bench_json(
        tmp_path, "--procs", "1", "--start", "fork", "--seconds", "1.1", "--when", "S"
    )
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
        "lock_wait_p99": None, "lock_wait_max": None, "lock_held_p99": None,
        "lock_held_max": None, "first_error": "FileNotFoundError: app.log",
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
    (line,) = report.notes(rows, {}, backup_count=1000)
    assert line == (
        "stdlib-rotating with 4 procs: 7 lost, 1 handler errors "
        "(first error: FileNotFoundError: app.log)"
    )


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
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(10_000):
            logger.warning(message)
        after = len(os.listdir("/proc/self/fd"))
        assert handler.stats.rollovers == 10_100
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert after == before
    names = [os.path.basename(path) for path in log_files(str(tmp_path), "app.log")]
    assert names == ["app.log", "app.log.1", "app.log.2"]
