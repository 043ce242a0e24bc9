"""manage.py on an unmigrated database: one clear message and exit 1, never a traceback per row."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from visualshop.paths import BASE_DIR
from visualshop.throwaway import database_url, throwaway_database
from visualshop.unmigrated import command_needs_tables, refusal


def manage(database: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "visualshop.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def empty_database():
    admin_url = database_url(connection.settings_dict, "postgres")
    with throwaway_database("test_vs_unmigrated", prefix="vs-unmigrated-", admin_url=admin_url) as (_tmp, url):
        yield url


@pytest.mark.slow
def test_a_command_on_a_fresh_database_says_once_to_migrate_and_exits_1(empty_database, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,title,price\nA-1,Shirt,10\nA-2,Dress,20\n")
    result = manage(empty_database, "import_catalog", str(feed))
    every_migration = len(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (
        1,
        f"The database has no tables yet: {every_migration} migration(s) not applied (first: "
        "contenttypes.0001_initial). Run `python manage.py migrate` first (`make run` does it on every "
        "start), then `manage.py import_catalog` again.",
    )
    assert "Traceback" not in result.stderr and "does not exist" not in result.stderr
    # The commands that make or show the schema still run.
    shown = manage(empty_database, "showmigrations", "catalog")
    assert (shown.returncode, shown.stdout.splitlines()[:2]) == (0, ["catalog", " [ ] 0001_extensions"])


def test_commands_that_need_no_tables_are_never_refused():
    assert [command_needs_tables(["manage.py", *argv]) for argv in ([], ["help"], ["migrate"], ["--version"])] == [
        False,
        False,
        False,
        False,
    ]
    assert refusal(["manage.py", "migrate"]) is None
    assert command_needs_tables(["manage.py", "import_catalog", "feed.csv"]) is True


@pytest.mark.django_db
def test_the_migrated_test_database_is_not_refused():
    assert refusal(["manage.py", "import_catalog", "feed.csv"]) is None
