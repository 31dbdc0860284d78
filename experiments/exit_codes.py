"""Exit statuses of `python -m experiments.run` (a queue driving it can tell why a row failed).

Each non-zero status except ERROR comes with a one-line `FATAL ...` message on stderr.
"""

OK = 0                # trained and tested (or already finished: nothing to do)
ERROR = 1             # anything unexpected (a traceback on stderr)
BAD_CONFIG = 2        # bad command line or config value (the field is named)
CONFIG_MISMATCH = 3   # the workdir holds a run of another config (the fields are named)
WORKDIR_LOCKED = 4    # another live run uses the workdir (its pid and host are named)
NON_FINITE = 5        # a NaN/Inf loss or gradient (the step and last finite checkpoint are named)
PUBLISH_CONFLICT = 6  # --publish: the published record holds another result (kept as it was)
OTHER_PROCESS_FAILED = 7  # multi-process run: process 0 failed at a check (its log says why)
INTERRUPTED = 8        # stopped on request (SIGTERM, Ctrl-C, --stop_after), checkpointed: rerun
