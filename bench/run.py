"""`make bench`: run every benchmark module in bench/ and print its results.

Contract for a benchmark: a module `bench/bench_<name>.py` with a function `run() -> list[str]`
that measures something on this machine (loopback only, bounded in time: a few seconds to a
minute), prints nothing itself, and returns the lines to show, figures with their units. It
raises (any exception) when it cannot measure or when a result is wrong (errors seen, a bad
answer); the runner then reports the failure, goes on with the next module, and exits 1 at the
end. Modules run one after another, never in parallel, so they do not compete for the CPU; a
module may pin itself to one core (os.sched_setaffinity), the runner restores the CPU set
before the next one.

Usage: `.venv/bin/python bench/run.py [NAME ...]` runs the named modules only (`serve` for
bench_serve.py), all of them by default. The repository root is on sys.path, so modules can
import `injector` and `tests.support` (real server processes).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def modules(selected: list[str]) -> list[str]:
    names = sorted(path.stem for path in BENCH.glob("bench_*.py"))
    if not selected:
        return names
    wanted = [f"bench_{name.removeprefix('bench_')}" for name in selected]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise SystemExit(f"bench/run.py: no such benchmark: {', '.join(unknown)} (have {names})")
    return wanted


def main(argv: list[str]) -> int:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    failed = []
    cores = os.sched_getaffinity(0)
    for name in modules(argv):
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            lines = importlib.import_module(name).run()
        except Exception:
            failed.append(name)
            print(f"   FAILED:\n{traceback.format_exc()}", flush=True)
            continue
        finally:
            os.sched_setaffinity(0, cores)
        for line in lines:
            print(f"   {line}")
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    if failed:
        print(f"bench: failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
