"""Names for hand-written SQL, taken from the models: no query spells out a table or column a model knows.

Every module that writes SQL by hand (the ``access_*`` loaders, token look-up, ``COPY`` in
``projects.bulk``, exports' batch reads) quotes its tables and columns through these::

    f"SELECT {columns(Span, ['id', 'start'], 's')} FROM {table(Span)} s WHERE {column(Span, 'annotation', 's')} = %s"
    # SELECT s."id", s."start" FROM "projects_span" s WHERE s."annotation_id" = %s

A field is named as in the model (``"annotation"``; its attname ``"annotation_id"`` and ``"pk"``
work too). ``db`` is the connection (Django's wrapper) whose quoting to use, by default
``django.db.connection``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection as default_connection


def quote(name: str, db=None) -> str:
    return (db or default_connection).ops.quote_name(name)


def table(model, db=None) -> str:
    """The model's table, quoted."""
    return quote(model._meta.db_table, db)


def column(model, field: str, alias: str | None = None, db=None) -> str:
    """The column of ``model``'s field ``field``, quoted, after ``alias.`` when given."""
    meta = model._meta
    name = quote((meta.pk if field == "pk" else meta.get_field(field)).column, db)
    return f"{alias}.{name}" if alias else name


def columns(model, fields: Iterable[str] | None = None, alias: str | None = None, db=None) -> str:
    """The columns of ``fields`` (default: every concrete field, in the model's order), comma-separated."""
    if fields is None:
        fields = [field.name for field in model._meta.concrete_fields]
    return ", ".join(column(model, field, alias, db) for field in fields)
