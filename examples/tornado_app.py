"""Tornado with ``fork_processes``: one shared, rotating log for every child.

Run ``python examples/tornado_app.py --procs 4 --port 8000`` and request the URL it prints
(``/log?msg=hello``): each request logs its ``msg``. ``--build before`` builds the handler
in the parent before the fork (the children inherit it); the default, ``after``, builds it
in each child, which is what a handler for many processes needs to work either way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.process
import tornado.web

import lockrotate

log = logging.getLogger("app")


def make_handler(path: str, kind: str, max_bytes: int) -> logging.Handler:
    """A handler that rolls over often: every second, and every *max_bytes*."""
    if kind == "size":
        return lockrotate.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=100000)
    return lockrotate.TimedRotatingFileHandler(path, when="S", maxBytes=max_bytes)


def install(handler: logging.Handler) -> None:
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


class LogHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        log.info(self.get_argument("msg", "hello"))
        self.write(str(os.getpid()))


class HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(str(os.getpid()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--log", help="the log file (default: app.log in a new temporary folder)")
    parser.add_argument("--build", choices=("before", "after"), default="after")
    parser.add_argument("--kind", choices=("timed", "size"), default="timed")
    parser.add_argument("--max-bytes", type=int, default=20000)
    args = parser.parse_args()
    if args.log is None:
        args.log = os.path.join(tempfile.mkdtemp(prefix="lockrotate-example-"), "app.log")
        print(f"logging to {args.log}")

    # Bind before forking: the children share the listening socket.
    sockets = tornado.netutil.bind_sockets(args.port, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    print(f"port {port}: try http://127.0.0.1:{port}/log?msg=hello", flush=True)
    if args.build == "before":
        install(make_handler(args.log, args.kind, args.max_bytes))
    tornado.process.fork_processes(args.procs, max_restarts=0)
    if args.build == "after":
        install(make_handler(args.log, args.kind, args.max_bytes))
    app = tornado.web.Application([(r"/log", LogHandler), (r"/health", HealthHandler)])
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    sys.exit(main())
