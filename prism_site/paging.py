"""Keyset pages for every list: a page is the rows after (or before) a signed position in a fixed
order, so reading page 1,000 costs what reading page 1 does, and no total is counted."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

# Past this a list says "more than" instead of a total: a count reads every matching row.
COUNT_LIMIT = 10_000
# Longer than any cursor this module writes (a sort key holding a 254-character email makes one
# of about 420): a longer one is refused before it is unsigned.
MAX_CURSOR_LENGTH = 1000
RESTARTED = "That page link is out of date or was changed, so the list starts again here."

_AFTER = "n"  # the rows after the position: the next page
_BEFORE = "p"  # the rows before the position: the previous page


@dataclass(frozen=True)
class Page:
    rows: list
    # The query parameter that carries this list's cursor.
    param: str
    # The cursor this page was read from, to come back to it (None: the first page).
    cursor: str | None
    next_cursor: str | None
    # Where "previous" leads; None while has_previous means the first page.
    previous_cursor: str | None
    has_previous: bool
    # The request's cursor could not be used (altered, cut, from another list): first page.
    restarted: bool = False

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def is_first(self) -> bool:
        return not self.has_previous

    # For `{% querystring request.GET page.next_query %}`: the other parameters stay; None drops
    # the cursor (the first page).
    @property
    def next_query(self) -> dict:
        return {self.param: self.next_cursor}

    @property
    def previous_query(self) -> dict:
        return {self.param: self.previous_cursor}

    @property
    def first_query(self) -> dict:
        return {self.param: None}

    @property
    def restarted_message(self) -> str:
        return RESTARTED if self.restarted else ""


@dataclass(frozen=True)
class Keyset:
    """One list's order: fields as `order_by` takes them, the last one unique (the id), none of
    them null. An index on the filter columns followed by these fields serves every page."""

    name: str
    ordering: tuple[str, ...]
    # The query parameter of the list's pages (two lists on one page need two names).
    param: str = "cursor"

    def page(self, queryset: QuerySet, cursor: str | None, *, size: int) -> Page:
        position = self._read(cursor) if cursor else None
        if position is None:
            return self._first(queryset, size, restarted=bool(cursor))
        direction, values = position
        if direction == _AFTER:
            rows = list(self._from(queryset, values, forward=True)[: size + 1])
            return Page(
                rows=rows[:size],
                param=self.param,
                cursor=cursor,
                next_cursor=self._cursor(rows[size - 1], _AFTER) if len(rows) > size else None,
                previous_cursor=self._cursor(rows[0], _BEFORE) if rows else None,
                has_previous=True,
            )
        rows = list(self._from(queryset, values, forward=False)[: size + 1])
        if len(rows) < size:
            # Rows before this one were removed: the first page is the previous page now.
            return self._first(queryset, size)
        has_previous = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows=rows,
            param=self.param,
            cursor=cursor,
            next_cursor=self._cursor(rows[-1], _AFTER),
            previous_cursor=self._cursor(rows[0], _BEFORE) if has_previous else None,
            has_previous=has_previous,
        )

    def cursor_after(self, row) -> str:
        """The cursor of the page that starts after this row (for links made elsewhere)."""
        return self._cursor(row, _AFTER)

    def accepts(self, cursor: str | None) -> bool:
        """Whether a cursor is one this list wrote (worth carrying on to a later request)."""
        return bool(cursor) and self._read(cursor) is not None

    def _first(self, queryset: QuerySet, size: int, *, restarted: bool = False) -> Page:
        rows = list(queryset.order_by(*self.ordering)[: size + 1])
        return Page(
            rows=rows[:size],
            param=self.param,
            cursor=None,
            next_cursor=self._cursor(rows[size - 1], _AFTER) if len(rows) > size else None,
            previous_cursor=None,
            has_previous=False,
            restarted=restarted,
        )

    def _from(self, queryset: QuerySet, values: list, *, forward: bool) -> QuerySet:
        """The rows strictly after (forward) or before the position, nearest first.

        The first field's bound is repeated outside the OR so that the database reads the index
        from the position on, instead of from the list's start filtering rows out.
        """
        names = [field.lstrip("-") for field in self.ordering]
        greater = [field.startswith("-") != forward for field in self.ordering]
        past = Q()
        for index, name in enumerate(names):
            op = "gt" if greater[index] else "lt"
            ties = dict(zip(names[:index], values[:index], strict=True))
            past |= Q(**ties, **{f"{name}__{op}": values[index]})
        bound = Q(**{f"{names[0]}__{'gte' if greater[0] else 'lte'}": values[0]})
        ordering = self.ordering if forward else [_reverse(field) for field in self.ordering]
        return queryset.filter(bound & past).order_by(*ordering)

    def _cursor(self, row, direction: str) -> str:
        values = [_plain(getattr(row, field.lstrip("-"))) for field in self.ordering]
        return self._signer.sign_object([direction, *values])

    def _read(self, cursor: str) -> tuple[str, list] | None:
        """The position a cursor names, or None when it is not one this list wrote."""
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            return None
        try:
            direction, *values = self._signer.unsign_object(cursor)
            values = [_typed(value) for value in values]
        except (signing.BadSignature, ValueError, TypeError, KeyError, UnicodeError):
            return None
        if direction not in (_AFTER, _BEFORE) or len(values) != len(self.ordering):
            return None
        return direction, values

    @property
    def _signer(self) -> signing.Signer:
        # "~" needs no escaping in a query string, unlike the default ":".
        return signing.Signer(salt=f"prism.paging.{self.name}", sep="~")


def count_up_to(queryset: QuerySet, limit: int = COUNT_LIMIT) -> int | None:
    """How many rows there are, or None when more than `limit` (the count stops reading there)."""
    count = queryset.order_by()[: limit + 1].count()
    return None if count > limit else count


def _reverse(field: str) -> str:
    return field[1:] if field.startswith("-") else f"-{field}"


def _plain(value: Any):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _typed(value: Any):
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    return value
