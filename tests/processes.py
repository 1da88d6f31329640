"""Killing a worker the way a dying machine does: the worker, its work horse (which RQ puts in
a session of its own) and its scheduler, all at once."""

import os
import subprocess


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (RQ's work horse calls setsid(): not in our group)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_worker(proc: subprocess.Popen) -> int:
    """kill -9 the worker, its work horse and its scheduler at once, like a machine dying;
    returns how many processes died."""
    import signal

    victims = [proc.pid, *descendants(proc.pid)]
    for pid in reversed(victims):  # the horse first: it must not outlive its parent
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)
    return len(victims)
