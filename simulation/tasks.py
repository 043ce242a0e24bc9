"""Celery tasks of the simulator; thin: the work is in simulation.shoppers."""

from celery import shared_task

from simulation import shoppers


@shared_task(bind=True, acks_late=True, max_retries=60, default_retry_delay=15)
def simulate_demo_traffic(self) -> int:
    """Queued by `make run` after it loaded the demo into an empty shop: simulated shoppers'
    traffic, so the analytics page has something to show, once the worker has processed the
    demo's pictures (retried every 15 s for up to 15 minutes until then). Nothing if the shop
    already has events: safe to retry or run twice. Returns the visitors simulated."""
    try:
        report = shoppers.demo_traffic_simulate()
    except shoppers.CatalogueNotReady as waiting:
        raise self.retry(exc=waiting) from None
    return report.visitors if report else 0
