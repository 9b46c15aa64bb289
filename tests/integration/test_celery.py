"""Celery's prefork pool, fed through a real Redis broker, each task logging one record.

The broker is Debian's ``redis-server`` in the foreground with its own config and folder on
a loopback port. Every task returns the writer (its pool process) and sequence number it
logged, so the records expected are exactly those the worker acknowledged. The worker's
command line is the one docs/servers/celery.md shows (``_docs.recipe``), with the broker's
address and three options that keep a test worker from waiting on others added.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from celery import Celery, group

from _docs import ROOT, recipe

from ._support import Server, check, free_port, logging_errors, serving, wait_port

TASKS = 2000
RESULT_TIMEOUT = 120.0


@pytest.fixture
def redis_url(need_tool: Callable[[str], str], scratch: str) -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1, with nothing saved to disk."""
    redis_server = need_tool("redis-server")
    work = os.path.join(scratch, "redis")
    os.mkdir(work)
    port = free_port()
    conf = os.path.join(work, "redis.conf")
    with open(conf, "w") as f:
        f.write(
            f'bind 127.0.0.1\nport {port}\ndir {work}\ndaemonize no\nsave ""\n'
            'appendonly no\nprotected-mode yes\nlogfile ""\n'
        )
    server = Server.start(
        [redis_server, conf],
        os.path.join(work, "redis.err"),
        stdout_path=os.path.join(work, "redis.out"),
    )
    with serving(server):
        wait_port(port, server)
        yield f"redis://127.0.0.1:{port}"


def run_tasks(setup: str, redis_url: str, folder: str, scratch: str) -> tuple[dict[str, int], str]:
    """Start a prefork worker, send it the tasks, wait for every result; stop it."""
    argv, env = recipe("celery", folder)
    env.update(
        LOCKROTATE_CELERY_SETUP=setup,
        CELERY_BROKER_URL=f"{redis_url}/0",
        CELERY_RESULT_BACKEND=f"{redis_url}/1",
    )
    argv += ["--hostname", "lockrotate@127.0.0.1"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    err = os.path.join(scratch, "worker.err")
    client = Celery("client", broker=f"{redis_url}/0", backend=f"{redis_url}/1")
    with serving(
        Server.start(argv, err, stdout_path=os.path.join(scratch, "worker.out"), cwd=ROOT, env=env)
    ) as worker:
        jobs = group(client.signature("celery_app.log_record", args=(100,)) for _ in range(TASKS))
        results = jobs.apply_async().get(timeout=RESULT_TIMEOUT)
        stderr = worker.stderr()
    seqs: dict[str, list[int]] = defaultdict(list)
    for writer, seq in results:
        seqs[writer].append(seq)
    # Each pool process numbers its records 0, 1, 2...: the results must say just that.
    for writer, numbers in seqs.items():
        assert sorted(numbers) == list(range(len(numbers))), writer
    return {writer: len(numbers) for writer, numbers in seqs.items()}, stderr


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["signal", "setting"])
def test_celery_prefork_keeps_lockrotate(
    setup: str, redis_url: str, folder: str, scratch: str
) -> None:
    expected, stderr = run_tasks(setup, redis_url, folder, scratch)
    assert sum(expected.values()) == TASKS
    assert len(expected) > 1, "every task ran in one pool process: the test proves nothing"
    for base in ("timed.log", "size.log"):
        report = check(f"celery prefork ({setup}) {base}", folder, base, expected)
        assert report.ok, report.examples
        assert report.files >= 4, "too few rollovers to prove anything"
    assert not logging_errors(stderr), stderr


@pytest.mark.slow
def test_celery_default_removes_root_handlers(redis_url: str, folder: str, scratch: str) -> None:
    """Without the signal or the setting, Celery drops the root logger's handlers."""
    expected, stderr = run_tasks("hijack", redis_url, folder, scratch)
    assert sum(expected.values()) == TASKS
    for base in ("timed.log", "size.log"):
        report = check(f"celery prefork (hijacked) {base}", folder, base, expected)
        assert report.found == 0, "Celery kept the root handlers: the README is wrong"
    assert not logging_errors(stderr), stderr
