"""The ``lockrotate bench`` command and the workload and verifier it shares with the tests."""

# The exit codes of ``lockrotate bench``: every contender of ours passed the check; one failed
# it; the command could not run as asked (bad arguments, no contender able to run).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
