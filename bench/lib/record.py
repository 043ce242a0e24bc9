"""Run one benchmark at full size and keep what it printed: `make bench` calls this for each
bench/*.py, writing bench/results/<name>.json ({"measured_on", "machine", "result"}).

The figures README.md and docs/ quote come from these files, and
visualshop/tests/test_docs_figures.py checks each quoted figure against them, so a figure in
the docs is one a benchmark printed on the date its file says, never one copied by hand.

    python -m bench.lib.record bench/ingest.py [benchmark options]
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def record(script: Path, options: list[str]) -> Path:
    completed = subprocess.run(
        [sys.executable, str(script), *options], stdout=subprocess.PIPE, text=True, check=True
    )  # stderr (progress) passes through
    result = json.loads(completed.stdout)
    if not isinstance(result, dict):
        raise SystemExit(f"{script} printed {type(result).__name__}, not one JSON object")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{script.stem}.json"
    kept = {
        "measured_on": datetime.date.today().isoformat(),
        "machine": machine(),
        "options": options,
        "result": result,
    }
    path.write_text(json.dumps(kept, indent=1) + "\n")
    return path


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    script = Path(sys.argv[1])
    path = record(script, sys.argv[2:])
    print(f"# {script}: kept in {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
