"""One process of a Django site: ``django.setup()`` loads ``LOGGING``, then it logs.

    DJANGO_SETTINGS_MODULE=django_settings PYTHONPATH=examples \\
        python examples/django_worker.py --writer p0 --seconds 2

Start several at once: they all write ``timed.log`` and ``size.log`` and rotate them
together. It prints how many records each of its threads logged, as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time

import django
from checkable import checkable


def log_for(writer: str, seconds: float, pace: float, counts: dict[str, int]) -> None:
    log = logging.getLogger("app")
    deadline = time.monotonic() + seconds
    seq = 0
    while time.monotonic() < deadline:
        log.info(checkable(writer, seq))
        seq += 1
        time.sleep(pace)
    counts[writer] = seq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writer", default="p0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--pace", type=float, default=0.0005, help="sleep after each record")
    args = parser.parse_args()
    django.setup()
    counts: dict[str, int] = {}
    threads = [
        threading.Thread(
            target=log_for, args=(f"{args.writer}t{t}", args.seconds, args.pace, counts)
        )
        for t in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logging.shutdown()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
