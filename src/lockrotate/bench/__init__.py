"""The ``lockrotate bench`` command and the workload and verifier it shares with the tests."""

from .._cli import EXIT_USAGE

# The exit codes of ``lockrotate bench``: every contender of ours passed the check; one failed
# it; the command could not run as asked (bad arguments, no contender able to run).
EXIT_OK, EXIT_FAILED = 0, 1

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE"]
