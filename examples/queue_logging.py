"""``QueueHandler`` + ``QueueListener``: the caller only queues the record, a thread writes it.

The stdlib's way to keep disk writes (and lockrotate's rollovers) off the request thread.
The queue and the listener thread belong to one process, so each process of an app has its
own pair, in front of its own lockrotate handler on the shared file::

    handler = lockrotate.TimedRotatingFileHandler("/var/log/myapp/app.log", when="midnight")
    queued = ListeningQueueHandler(handler)     # starts the listener thread
    logging.getLogger().addHandler(queued)
    ...
    logging.shutdown()    # closes queued: listener.stop() writes what is queued, then closes

``QueueListener.stop()`` puts a sentinel after the records already queued and joins the
thread, so nothing queued is lost; skip it (``os._exit``, a killed process) and the backlog
is. Run this file to see it: ``python examples/queue_logging.py [FOLDER]`` (a new temporary
folder by default).

``ListeningQueueHandler`` is not part of lockrotate: copy it into your application (it is
stdlib only). docs/queue.md shows it and runs it.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import queue
import sys
import tempfile

import lockrotate

# --8<-- [start:listening]


class ListeningQueueHandler(logging.handlers.QueueHandler):
    """A ``QueueHandler`` that owns its listener and its target handler.

    ``close()`` (which ``logging.shutdown`` calls at exit) stops the listener, which drains
    the queue into *target*, then closes *target*. Build it in the process that logs (after
    a fork), like any lockrotate handler.
    """

    def __init__(self, target: logging.Handler) -> None:
        super().__init__(queue.SimpleQueue())
        self.target = target
        self.listener = logging.handlers.QueueListener(
            self.queue, target, respect_handler_level=True
        )
        self.listener.start()
        self.listening = True

    def close(self) -> None:
        if self.listening:  # close() may be called twice (by the app, then at exit)
            self.listening = False
            self.listener.stop()
        self.target.close()
        super().close()


# --8<-- [end:listening]


def _worker(folder: str, index: int) -> None:
    target = lockrotate.RotatingFileHandler(
        os.path.join(folder, "app.log"), maxBytes=20000, backupCount=1000
    )
    log = logging.getLogger("app")
    log.addHandler(ListeningQueueHandler(target))
    log.setLevel(logging.INFO)
    for seq in range(5000):
        log.info("process %d record %d", index, seq)
    logging.shutdown()


def main() -> None:
    if len(sys.argv) > 1:
        folder = sys.argv[1]
        os.makedirs(folder, exist_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="lockrotate-example-")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(folder, i)) for i in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    print(f"4 processes x 5000 records written to {folder}/app.log*")


if __name__ == "__main__":
    main()
