"""``python -m lockrotate COMMAND``: the ``lockrotate`` console script, by the same function."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
