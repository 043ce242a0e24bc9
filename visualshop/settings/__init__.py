"""VisualShop settings: one module per integration, all read from the environment.

DJANGO_SETTINGS_MODULE=visualshop.settings for running the shop,
visualshop.settings.test for the test suite.
"""

# ruff: noqa: I001 -- order matters: a later module may extend an earlier one
# (api.py extends base.REST_FRAMEWORK; the star import of base must come first).
from .base import *  # noqa: F401,F403
from .database import *  # noqa: F401,F403
from .celery import *  # noqa: F401,F403
from .cache import *  # noqa: F401,F403
from .storage import *  # noqa: F401,F403
from .logging import *  # noqa: F401,F403
from .catalog import *  # noqa: F401,F403
from .images import *  # noqa: F401,F403
from .photo_search import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
from .admin_login import *  # noqa: F401,F403
from .csp import *  # noqa: F401,F403
from .api import *  # noqa: F401,F403
from .tracking import *  # noqa: F401,F403
from .mixpanel import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .mlflow import *  # noqa: F401,F403
