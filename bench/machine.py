"""What the figures were measured on, so a reader can tell whether they compare.

Read from /proc and the standard library only: the report must be writable on
any Linux box without extra tools, and must degrade to "unknown" elsewhere.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path

Machine = dict[str, str]

UNKNOWN = "unknown"


def describe() -> Machine:
    """CPU, cores, RAM, OS, Python, SQLite and how busy the machine was."""
    return {
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count() or UNKNOWN),
        "RAM": _memory(),
        "OS": _os(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": sqlite3.sqlite_version,
        "Load average at start": _load(),
        "Process priority": f"nice {os.nice(0)}" if hasattr(os, "nice") else UNKNOWN,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or UNKNOWN


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return UNKNOWN


def _os() -> str:
    name = UNKNOWN
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            name = line.split("=", 1)[1].strip().strip('"')
    return f"{name}, {platform.system()} {platform.release()} ({platform.machine()})"


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return UNKNOWN
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min; the machine is shared)"
