"""What a benchmark run ran on: the machine, the versions of Python and the packages, and the commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.build import offline


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, operating system and load when the run started."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "memory_bytes": memory,
            "os": platform.platform(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict[str, str]:
    """Python and the packages the measurements depend on, and Chromium."""
    out = {"python": platform.python_version()}
    for name in ("duckdb", "pandas", "numpy", "jupyter-book", "papermill", "nbclient", "sphinx", "playwright"):
        out[name] = _version(name)
    try:
        out["chromium"] = subprocess.run([offline.CHROMIUM, "--version"], capture_output=True, text=True,
                                         timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        out["chromium"] = "unknown"
    return out


def git() -> dict[str, Any]:
    """The commit checked out and whether tracked files have uncommitted changes."""
    def run(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True, timeout=30)
            return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}
