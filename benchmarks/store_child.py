"""The store benchmark's child process: validate and build one data folder, report times and peak memory.

Run by ``large_store.measure_store`` as ``python benchmarks/store_child.py DATA OUT PROFILE TOP``; it
prints one JSON line. A separate process, so that its peak resident memory is the store stage's alone.
The store holds the data tables and the catalogue, built by ``store.build`` without the book's
forecast-rule check (``bookstore.CHECKS``): over a million synthetic prices the rules' evidence
outgrows the length a rule may record, and the check is a matter of the forecasts table, not of the
price volume. The file-size bound (``validation.MAX_CSV_BYTES``, 64 MiB) is lifted to the size of
the files here: a million price rows take about 120 MB.
"""
import cProfile
import json
import pstats
import resource
import sys
import time
from pathlib import Path


def peak_kb():
    """The process's own peak resident memory (VmHWM: unlike ``ru_maxrss``, not carried over from the
    parent across fork and exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

start = time.perf_counter()
from analysis.data import store, validation

imported = time.perf_counter() - start
import_peak = peak_kb()
data, out, profile = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
validation.MAX_CSV_BYTES = max([validation.MAX_CSV_BYTES, *(p.stat().st_size for p in data.glob("*.csv"))])
profiler = cProfile.Profile() if profile else None
if profiler:
    profiler.enable()
mark = time.perf_counter()
tables = validation.validate(data)
validate = time.perf_counter() - mark
mark = time.perf_counter()
store.build(tables, out)
build = time.perf_counter() - mark
top = []
if profiler:
    profiler.disable()
    stats = pstats.Stats(profiler)
    for (file, line, fn), (cc, nc, tt, ct, _) in sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:int(sys.argv[4])]:
        top.append({"function": f"{Path(file).name}:{line}({fn})", "calls": nc, "tottime_s": tt, "cumtime_s": ct})
print(json.dumps({"import_s": imported, "validate_s": validate, "build_s": build,
                  "table_rows": {k: t.rows for k, t in tables.items()},
                  "import_peak_kb": import_peak,
                  "maxrss_kb": peak_kb(), "profile": top}))
