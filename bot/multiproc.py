"""Where the processes of one `cop-bot serve` keep their metrics (Prometheus's
multiprocess mode). Importing this module never imports prometheus_client: the directory
must be in the environment before that is first imported, in the master and so in every
worker it forks and in the delivery process it starts (which inherit the environment).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> Path:
    """Set up PROMETHEUS_MULTIPROC_DIR for this process and its children: the one given,
    emptied of an earlier run's files, or a fresh temporary directory removed at exit."""
    if "prometheus_client" in sys.modules and not os.environ.get(VARIABLE):
        # Metrics made already keep counting in memory, invisible to the other processes.
        raise RuntimeError("prometheus_client was imported before the metrics directory was set")
    given = os.environ.get(VARIABLE, "").strip()
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for leftover in path.glob("*.db"):  # numbers of processes that are gone
            leftover.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="cop-bot-metrics-"))
        owner = os.getpid()

        def remove() -> None:
            if os.getpid() == owner:  # not in a forked worker on its way out
                shutil.rmtree(path, ignore_errors=True)

        atexit.register(remove)
    os.environ[VARIABLE] = str(path)
    return path


def process_gone(pid: int) -> None:
    """A process of this serve exited: its live gauges (the scheduler owner) go with it;
    its counters stay in the sums."""
    if not os.environ.get(VARIABLE):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's child_exit hook."""
    process_gone(worker.pid)
