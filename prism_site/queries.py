"""Small query helpers for hot paths: the lookups every admin API call makes."""

from functools import cached_property

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet


def only_row(queryset: QuerySet):
    """The one row a lookup by a unique value finds, or None: `first()` without its ORDER BY
    (which costs Django more time to compile than the database to run on every API call)."""
    rows = list(queryset[:1])
    return rows[0] if rows else None


def prepared_row(sql: str, params: list) -> tuple | None:
    """The first row of a hand-written SELECT, run as a prepared statement on PostgreSQL: the
    server plans it once per connection instead of on every call (DATABASE_PREPARED_LOOKUPS).
    Through Django's cursor wrapper all the same, so query logging and counting see it."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_LOOKUPS:
        from django.db.backends.postgresql.base import ServerBindingCursor

        connection.ensure_connection()
        bound = ServerBindingCursor(connection.connection)
        cursor = (
            connection.make_debug_cursor(bound)
            if connection.queries_logged
            else connection.make_cursor(bound)
        )
    else:
        cursor = connection.cursor()
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


class ModelColumns:
    """One model's columns under a table alias in a hand-written SELECT, and its instance back
    from the row.

    For the few lookups every admin API call makes (its credential, the caller's membership):
    building and compiling a queryset costs Django about half a millisecond of Python a query,
    more than the database takes to run it. The SQL is written once; the values still go
    through each field's and the database backend's converters, as the ORM's would.
    """

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.alias = alias
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]

    @property
    def table(self) -> str:
        """`table alias`, for FROM and JOIN."""
        return f"{self._quote(self.model._meta.db_table)} {self.alias}"

    @property
    def select(self) -> str:
        return ", ".join(f"{self.alias}.{self._quote(field.column)}" for field in self.fields)

    def column(self, name: str) -> str:
        """`alias."column"` of the field `name`, for ON and WHERE."""
        return f"{self.alias}.{self._quote(self.model._meta.get_field(name).column)}"

    def instance(self, row, start: int) -> Model | None:
        """The model instance of `row[start:start + len(fields)]`; None where an outer join found
        no row (its primary key is NULL)."""
        values = row[start : start + len(self.fields)]
        if values[self._pk_index] is None:
            return None
        converted = [
            self._convert(converters, value)
            for converters, value in zip(self._converters, values, strict=True)
        ]
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, converted)

    def __len__(self) -> int:
        return len(self.fields)

    @cached_property
    def _pk_index(self) -> int:
        return self.attnames.index(self.model._meta.pk.attname)

    @cached_property
    def _converters(self) -> list[list]:
        connection = connections[DEFAULT_DB_ALIAS]
        return [
            [
                (converter, column)
                for converter in connection.ops.get_db_converters(column)
                + field.get_db_converters(connection)
            ]
            for field in self.fields
            for column in [field.get_col(self.alias)]
        ]

    @staticmethod
    def _convert(converters, value):
        connection = connections[DEFAULT_DB_ALIAS]
        for converter, column in converters:
            value = converter(value, column, connection)
        return value

    @staticmethod
    def _quote(name: str) -> str:
        return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)
