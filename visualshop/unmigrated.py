"""`manage.py` on a database that is not migrated yet (a fresh var/, a new DATABASE_URL, a pull
that brought a migration): one clear message naming the fix, instead of a traceback per row
('relation "catalog_product" does not exist').

manage.py asks `refusal(argv)` before it runs a command; commands that make or inspect the
schema, or need no database, are never refused.
"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

# Commands that must run on an unmigrated database, or that touch no table.
COMMANDS_WITHOUT_TABLES = frozenset(
    {
        "check",
        "collectstatic",
        "compilemessages",
        "dbshell",
        "diffsettings",
        "findstatic",
        "help",
        "inspectdb",
        "makemessages",
        "makemigrations",
        "migrate",
        "optimizemigration",
        "runserver",
        "sendtestemail",
        "shell",
        "showmigrations",
        "spectacular",
        "sqlmigrate",
        "squashmigrations",
        "startapp",
        "startproject",
        "test",
        "testserver",
        "version",
    }
)


def command_needs_tables(argv: list[str]) -> bool:
    command = argv[1] if len(argv) > 1 else "help"
    return not command.startswith("-") and command not in COMMANDS_WITHOUT_TABLES


def migrations_pending() -> tuple[list[str], bool]:
    """(migrations the database has not applied, in the order migrate would apply them;
    whether it has applied none at all)."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    missing = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    return missing, not executor.loader.applied_migrations


def refusal(argv: list[str]) -> str | None:
    """Why the command in argv cannot run on this database, or None when it can. Django must be
    set up."""
    if not command_needs_tables(argv):
        return None
    try:
        missing, fresh = migrations_pending()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"Cannot reach the database: {reason}. Check DATABASE_URL (unset: the embedded server under var/)."
    if not missing:
        return None
    state = "has no tables yet" if fresh else "is not up to date"
    return (
        f"The database {state}: {len(missing)} migration(s) not applied (first: {missing[0]}). "
        f"Run `python manage.py migrate` first (`make run` does it on every start), "
        f"then `manage.py {argv[1]}` again."
    )
