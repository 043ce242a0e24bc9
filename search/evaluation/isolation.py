"""`evaluate` kept away from the shop: in a child process connected to a throw-away database
on the shop's server (visualshop.throwaway), with its own media folder and an in-memory
Celery broker, so the shop's database, media, queue and metrics are never touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from search.evaluation.dataset import DatasetError, EvaluationSet
from search.evaluation.progress import say
from search.evaluation.report import evaluate
from visualshop.celery import app
from visualshop.paths import BASE_DIR
from visualshop.throwaway import MEMORY_BROKER, database_url, throwaway_database, throwaway_environment

# Throw-away databases are named after this and the parent's pid, so parallel runs never meet.
DATABASE_PREFIX = "visualshop_evaluate_"


class EvaluationFailed(RuntimeError):
    """The child process stopped without a result (its messages are on stderr)."""


# Settings are read from the environment, so the child is set up by the environment alone.
CHILD_CODE = (
    "import sys, django; django.setup(); from search.evaluation.isolation import child_main; "
    "sys.exit(child_main(sys.argv[1]))"
)


def evaluate_in_throwaway_database(
    dataset: EvaluationSet,
    *,
    workers: int | None = None,
    keep_db: bool = False,
    held_out: Sequence[Sequence[str]] | None = None,
    hybrid: bool = False,
    log: Callable[[str], None] = say,
) -> dict:
    """`evaluate` in a new database on the shop's server, dropped afterwards (unless keep_db)."""
    name = f"{DATABASE_PREFIX}{os.getpid()}"
    log(f"creating the throw-away database {name}")
    admin_url = database_url(connection.settings_dict, "postgres")
    with throwaway_database(name, prefix="visualshop-evaluate-", admin_url=admin_url, keep=keep_db) as (workdir, url):
        spec = workdir / "spec.json"
        result_file = workdir / "result.json"
        spec.write_text(
            json.dumps(
                {
                    "database": name,
                    "dataset": dataset.to_json(),
                    "workers": workers or os.cpu_count() or 1,
                    "workdir": str(workdir),
                    "result": str(result_file),
                    "held_out": None if held_out is None else [list(group) for group in held_out],
                    "hybrid": hybrid,
                }
            )
        )
        child = None
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD_CODE, str(spec)],
                cwd=BASE_DIR,
                env=throwaway_environment(workdir, url, settings_module=settings.SETTINGS_MODULE),
            )
            code = child.wait()
            if code != 0 or not result_file.exists():
                raise EvaluationFailed(f"the evaluation process stopped with exit code {code} (its messages are above)")
            result = json.loads(result_file.read_text())
        finally:
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait()
            if keep_db:
                log(f"kept database {name} (DATABASE_URL={url}) and its media in {workdir / 'media'}")
    if "error" in result:
        raise DatasetError(result["error"])
    return {**result, "database": name if keep_db else None}


def child_main(spec_path: str) -> int:
    """The child process: migrate the throw-away database, evaluate, write the result file."""
    spec = json.loads(Path(spec_path).read_text())
    name = connection.settings_dict["NAME"]
    if name != spec["database"] or not name.startswith(DATABASE_PREFIX):
        say(f"refusing to fill database {name!r}: not the throw-away database {spec['database']!r}")
        return 2
    # Settings that pin a broker (the test settings do) must not get the import's
    # processing messages: they stay in this process's memory and die with it.
    app.conf.update(broker_url=MEMORY_BROKER, result_backend="cache+memory://")
    say("migrating")
    call_command("migrate", verbosity=0)
    try:
        result = evaluate(
            EvaluationSet.from_json(spec["dataset"]),
            Path(spec["workdir"]),
            workers=spec["workers"],
            held_out=spec.get("held_out"),
            hybrid=spec.get("hybrid", False),
        )
    except DatasetError as exc:
        result = {"error": str(exc)}
    Path(spec["result"]).write_text(json.dumps(result))
    return 0
