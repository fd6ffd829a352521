"""The admin area (``/admin``): its views and blueprint in ``routes``, the log's chart and CSV."""
