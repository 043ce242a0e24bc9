import logging
import os

from django.core.wsgi import get_wsgi_application

from visualshop.process_start import freeze_start_up_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visualshop.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Photo search embeds in this process: load the model before the first request (each
    gunicorn worker imports this module after forking, so each gets its own session)."""
    # Here, not at the top: Django is set up (get_wsgi_application) before this runs, not before the module loads.
    from django.conf import settings
    from django.db import DatabaseError, connection

    if not settings.SEARCH_WARM_AT_START:
        return
    from search.photo_search import warm_up_search
    from vision.embedders import ModelUnavailable

    log = logging.getLogger("visualshop.wsgi")
    try:
        log.info("photo search warm-up: %s", warm_up_search())
    except (DatabaseError, ModelUnavailable) as exc:  # the shop still serves; the first search loads it
        log.warning("photo search warm-up skipped: %s", exc)
    finally:
        connection.close()  # not one idle connection per worker held from start-up


_warm_up()
# Last: what the process keeps from now on is loaded (visualshop.process_start).
freeze_start_up_objects()
