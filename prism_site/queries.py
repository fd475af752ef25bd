"""Small query helpers for hot paths."""

from django.db.models import QuerySet


def only_row(queryset: QuerySet):
    """The one row a lookup by a unique value finds, or None: `first()` without its ORDER BY
    (which costs Django more time to compile than the database to run on every API call)."""
    rows = list(queryset[:1])
    return rows[0] if rows else None
