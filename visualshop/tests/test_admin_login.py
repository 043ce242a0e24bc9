"""The staff login's lockout: django-axes as configured in visualshop/settings/admin_login.py,
the lockout page of visualshop/admin_login.py, against the real PostgreSQL."""

import importlib
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from fixtures.database_url import database_url_of_this_run
from visualshop.paths import BASE_DIR

LOGIN_URL = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"
ATTACKER = "203.0.113.7"
WRONG_PASSWORD_ERROR = "Please enter the correct username and password for a staff account."
LOCKOUT_MESSAGE = (
    "Too many failed login attempts for this username from your address. Logging in is locked "
    "for 15 minutes after the last failed attempt; try again later or ask an administrator to unlock it."
)


@pytest.fixture
def staff(db):
    user_model = get_user_model()
    return [
        user_model.objects.create_user(name, password=PASSWORD, is_staff=True, is_superuser=True)
        for name in ("alice", "bob")
    ]


def log_in(username, password, address=ATTACKER, **headers):
    """One login through the admin's form, from a fresh client (no session) at `address`."""
    return Client().post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def fail(times, username="alice", address=ATTACKER, **headers):
    return [log_in(username, f"wrong-{n}", address, **headers) for n in range(times)]


def assert_logged_in(response):
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert "sessionid" in response.cookies


def assert_locked_out(response):
    assert response.status_code == 429
    html = response.content.decode()
    assert f'<p class="errornote" role="alert" data-lockout-message>{LOCKOUT_MESSAGE}</p>' in html
    assert '<form action="/admin/login/?next=/admin/" method="post" id="login-form">' in html
    assert WRONG_PASSWORD_ERROR not in html
    assert "sessionid" not in response.cookies


def test_the_defaults_are_five_failures_and_fifteen_minutes_per_username_and_address(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_the_limit_and_cool_off_come_from_the_environment(monkeypatch):
    import visualshop.settings.admin_login as module

    monkeypatch.setenv("ADMIN_LOGIN_FAILURE_LIMIT", "3")
    monkeypatch.setenv("ADMIN_LOGIN_COOLOFF_MINUTES", "60")
    try:
        configured = importlib.reload(module)
        assert (3, timedelta(hours=1)) == (configured.AXES_FAILURE_LIMIT, configured.AXES_COOLOFF_TIME)
    finally:
        monkeypatch.undo()
        importlib.reload(module)


def test_after_the_limit_of_wrong_passwords_the_right_one_is_refused_with_the_lockout_message(staff):
    responses = fail(5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert all(WRONG_PASSWORD_ERROR in r.content.decode() for r in responses[:4])
    assert_locked_out(responses[4])

    assert_locked_out(log_in("alice", PASSWORD))
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == ("alice", ATTACKER, 6)


def test_one_failure_short_of_the_limit_the_right_password_logs_in_and_clears_the_count(staff):
    fail(4)
    assert_logged_in(log_in("alice", PASSWORD))
    assert AccessAttempt.objects.count() == 0
    assert [r.status_code for r in fail(4)] == [200] * 4  # counting starts again


def test_after_the_cool_off_the_right_password_logs_in(staff, settings):
    fail(5)
    assert_locked_out(log_in("alice", PASSWORD))
    # Time travel: the last failure was just over a cool-off ago.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert_logged_in(log_in("alice", PASSWORD))


def test_one_second_before_the_cool_off_ends_it_is_still_locked(staff, settings):
    fail(5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(seconds=5))
    assert_locked_out(log_in("alice", PASSWORD))


def test_the_lock_holds_only_that_username_from_that_address(staff):
    fail(5, "alice", ATTACKER)
    assert_logged_in(log_in("alice", PASSWORD, address="198.51.100.20"))  # alice elsewhere
    assert_logged_in(log_in("bob", PASSWORD, address=ATTACKER))  # a colleague behind the same address
    assert_locked_out(log_in("alice", PASSWORD, address=ATTACKER))


def test_a_client_sent_forwarded_for_does_not_change_the_address_without_a_proxy(staff, settings):
    settings.API_NUM_PROXIES = 0
    for n in range(5):
        log_in("alice", "wrong", ATTACKER, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert_locked_out(log_in("alice", PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="198.51.100.99"))
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw_as_the_rate_limits_count(staff, settings):
    settings.API_NUM_PROXIES = 1
    proxy = "10.0.0.2"
    # The client's own invented entry comes first; the proxy appends the real address.
    fail(5, "alice", proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    assert_locked_out(log_in("alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=f"5.6.7.8, {ATTACKER}"))
    assert_logged_in(log_in("alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.20"))
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


def test_axes_reset_username_unlocks_at_once(staff):
    fail(5)
    call_command("axes_reset_username", "alice", stdout=open(os.devnull, "w"))
    assert AccessAttempt.objects.count() == 0
    assert_logged_in(log_in("alice", PASSWORD))


def test_deleting_the_attempt_in_the_admin_unlocks(staff):
    fail(5)
    admin = Client()
    assert_logged_in(admin.post(LOGIN_URL, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="198.51.100.20"))
    attempt = AccessAttempt.objects.get(username="alice")
    response = admin.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}, REMOTE_ADDR="198.51.100.20"
    )
    assert response.status_code == 302
    assert_logged_in(log_in("alice", PASSWORD))


@pytest.mark.slow
def test_the_lock_is_in_the_database_so_another_process_sees_it(staff, transactional_db):
    """Another gunicorn worker, or the shop after a restart: a new process refuses the pair."""
    fail(5)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visualshop.settings.test",
        "DATABASE_URL": database_url_of_this_run(),
    }
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "def log_in(address):\n"
        f"    return Client().post({LOGIN_URL!r}, {{'username': 'alice', 'password': {PASSWORD!r}}}, REMOTE_ADDR=address).status_code\n"
        f"print(log_in({ATTACKER!r}), log_in('198.51.100.20'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["429", "302"]
