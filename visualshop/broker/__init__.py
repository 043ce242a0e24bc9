"""The Celery broker as the project's code uses it: sending tasks by name (sending) and
reading what the broker holds (holdings)."""
