"""The evaluation's progress messages, on stderr (stdout is the command's report)."""

import sys


def say(message: str) -> None:
    print(f"[evaluate_search] {message}", file=sys.stderr, flush=True)
