"""CPU time from /proc and getrusage: what each process of a benchmark spent, to tell where a request's cost goes
on a machine whose cores wrk, nginx, oauth2-proxy and Flink share (there, throughput is the cores divided by the
CPU one request costs them all)."""

import os
import resource
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(session: int) -> float:
    """User and system CPU of every live process in session `session`. The benchmark's servers are started with
    start_new_session=True, so the session id is the pid of the process started, and its workers and threads
    count too."""
    ticks = 0
    for _, fields in _session_processes(session):
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS_PER_SECOND


def pin_session(session: int, cpus: frozenset[int]) -> None:
    """Every thread of every live process in session `session` onto `cpus`; threads started later inherit it."""
    for pid, _ in _session_processes(session):
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                os.sched_setaffinity(int(task.name), cpus)
            except ProcessLookupError:  # ended since the listing
                continue


def _session_processes(session: int) -> list[tuple[int, list[str]]]:
    """Each live process in session `session`: its pid, and the fields of its /proc stat after the command name."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command name in parentheses (which may hold spaces): state, ppid, pgrp, session, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended since the listing
            continue
        if int(fields[3]) == session:
            found.append((int(stat.parent.name), fields))
    return found


def children_cpu_seconds() -> float:
    """User and system CPU of this process's ended and waited-for children (wrk, once its run is over)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
