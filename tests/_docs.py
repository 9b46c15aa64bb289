"""The code blocks of README.md and docs/, read the way MkDocs renders them; and the server
command lines (recipes) there, which the integration tests run as written."""

from __future__ import annotations

import datetime
import os
import re
import shlex
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>test|recipe):\s*(?P<value>.*?)\s*-->\s*$")
_SNIPPET = re.compile(r'^(?P<indent> *)--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"\s*$')


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its marker and its text."""

    path: Path
    line: int
    lang: str
    marker: tuple[str, str] | None
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def expand(text: str) -> str:
    """Replace each snippet line with the file (or the section of it) it names."""
    out = []
    for line in text.splitlines(keepends=True):
        match = _SNIPPET.match(line)
        if not match:
            out.append(line)
            continue
        body = (ROOT / match["path"]).read_text()
        if match["section"]:
            start = f"--8<-- [start:{match['section']}]"
            end = f"--8<-- [end:{match['section']}]"
            body = body[body.index(start) :]
            body = body[body.index("\n") + 1 : body.index(end)]
            body = body[: body.rindex("\n") + 1]
        out.append(textwrap.indent(body, match["indent"]))
    return "".join(out)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of *path*, each with the marker comment just above it, if any."""
    found = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, start = len(match["indent"]), i
        body = []
        i += 1
        while not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        marker = _MARKER.match(lines[j]) if j >= 0 else None
        found.append(
            Block(
                path,
                start + 1,
                match["lang"],
                (marker["kind"], marker["value"]) if marker else None,
                expand("\n".join(body) + "\n"),
            )
        )
        i += 1
    return found


def recipes(found: list[Block] | None = None) -> dict[str, str]:
    """The server command lines of the docs, by name: what the integration tests run."""
    if found is None:
        found = [block for page in pages() for block in blocks(page)]
    return {b.marker[1]: b.text for b in found if b.marker and b.marker[0] == "recipe"}


def recipe(name: str, folder: str, port: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The docs' command line *name*, ready to run from the repository root: its variable
    assignments as an environment (``LOCKROTATE_LOG_DIR`` becomes *folder*), ``.venv`` as
    this interpreter's environment, and port 8000 as *port*. Nothing else changes."""
    tokens = shlex.split(recipes()[name].replace("\\\n", " "))
    env = dict(os.environ)
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        key, value = tokens.pop(0).split("=", 1)
        if key == "LOCKROTATE_LOG_DIR":
            value = folder
        elif key == "PYTHONPATH":
            value = os.pathsep.join(filter(None, [value, os.environ.get("PYTHONPATH")]))
        env[key] = value
    bin_dir = os.path.dirname(sys.executable)
    argv = []
    for token in tokens:
        arg = sys.prefix if token == ".venv" else token
        if token.startswith(".venv/bin/"):
            arg = os.path.join(bin_dir, token.removeprefix(".venv/bin/"))
        argv.append(arg if port is None else arg.replace("8000", str(port)))
    return argv, env


def bench_table(document: dict[str, Any]) -> str:
    """The Markdown table docs/bench.md shows for one ``lockrotate bench --json`` document:
    every figure with its spread, and where, when and how it was measured."""
    started = datetime.datetime.fromtimestamp(document["started"], datetime.UTC)
    command = " ".join(arg for arg in document["command"] if not arg.startswith("/"))
    lines = [
        f"`.venv/bin/{command.replace('--json', '--json FILE')}`: {started:%Y-%m-%d %H:%M} UTC, "
        f"{document['seconds']:.0f} s, {document['cpus']} CPUs, {document['platform']}, "
        f"Python {document['python'].split()[0]}",
        "",
        "| contender | procs | records/s, median (min-max) | vs FileHandler (min-max) | check |",
        "|---|---|---|---|---|",
    ]
    for row in document["rows"]:
        ratio = (
            "-"
            if row["ratio"] is None
            else f"{row['ratio']:.2f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
        )
        check = "ok" if row["ok"] else f"FAILED: lost {row['lost']:,}"
        lines.append(
            f"| {row['contender']} | {row['procs']} | {row['records_per_s']:,.0f} "
            f"({row['records_per_s_min']:,.0f}-{row['records_per_s_max']:,.0f}) | {ratio} "
            f"| {check} |"
        )
    rates = {(row["contender"], row["procs"]): row["records_per_s"] for row in document["rows"]}
    strict = [
        f"{rates[name, procs] / rates['concurrent-log-handler', procs]:.2f}x with {procs}"
        for name, procs in rates
        if name == "lockrotate-strict" and ("concurrent-log-handler", procs) in rates
    ]
    if strict:
        lines += ["", f"Strict mode over concurrent-log-handler: {', '.join(strict)} processes."]
    return "\n".join(lines) + "\n"


def figures(kind: str) -> list[Path]:
    """The bench documents behind docs/bench.md's tables of *kind* (default, strict)."""
    return sorted((ROOT / "docs" / "figures").glob(f"bench-{kind}-*.json"))
