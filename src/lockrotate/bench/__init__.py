"""The ``lockrotate bench`` command and the workload and verifier it shares with the tests."""
