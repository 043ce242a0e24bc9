"""Brute-force protection of the staff login (/admin/login/) with django-axes.

Failed logins are counted per (username, client address) pair in PostgreSQL (axes'
database handler): the count is shared by every gunicorn worker and survives a restart.
After ADMIN_LOGIN_FAILURE_LIMIT failures within the cool-off, that pair is refused, even
with the right password, until ADMIN_LOGIN_COOLOFF_MINUTES have passed since its last
failure (a failure while locked restarts the cool-off). `manage.py axes_reset_username
<name>` (or axes_reset, axes_reset_ip) unlocks at once; so does deleting the row under
Admin > Axes > Access attempts.

Why the pair and not the username alone: locking a username everywhere would let anyone
on the internet lock every staff member out by guessing wrong on purpose. Not the address
alone either: colleagues behind one office NAT would lock each other out. The cost of the
pair: one address can still try ADMIN_LOGIN_FAILURE_LIMIT passwords for each username per
cool-off, and many addresses multiply that; strong staff passwords stay necessary.
"""

from datetime import timedelta

from visualshop.env import env_int

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out pair is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A successful login forgets that pair's earlier failures (a typo today does not count
# towards a lockout next week).
AXES_RESET_ON_SUCCESS = True
# The client address the search rate limits count (API_NUM_PROXIES), so a client-sent
# X-Forwarded-For cannot dodge the lockout.
AXES_CLIENT_IP_CALLABLE = "visualshop.rate_limits.client_address"
# The admin login page again, with the reason and the wait, status 429.
AXES_LOCKOUT_CALLABLE = "visualshop.admin_login.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
