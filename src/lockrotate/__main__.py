"""``python -m lockrotate COMMAND``: the same as the ``lockrotate`` console script."""

from .bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
