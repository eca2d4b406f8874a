"""The floor's child process: DuckDB alone checks one data folder (``floor.check_folder``); one JSON line.

Run by ``large_store.measure_store`` as ``python -m benchmarks.floor_child DATA`` from the root of the
repository. A process of its own, so that its peak resident memory is the floor's alone.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from benchmarks.floor import check_folder


def peak_kb() -> int:
    """The process's own peak resident memory (VmHWM: unlike ``ru_maxrss``, not carried over from the
    parent across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(data: Path) -> dict[str, object]:
    mark = time.perf_counter()
    refused = check_folder(data)
    seconds = time.perf_counter() - mark
    return {"floor_s": seconds, "refused": refused, "maxrss_kb": peak_kb()}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
