"""Every foreign key column of the tables an import fills can be looked up by an index, and none has two
indexes where one does: a column left without its own index leads another (migration 0013), on
PostgreSQL and SQLite alike."""

from __future__ import annotations

import pytest
from django.db import connection

from projects.models import Annotation, Assignment, Document, Span

pytestmark = pytest.mark.django_db

# Foreign key columns that have no index of their own, and an index that starts with each.
COVERED = {
    (Document, "project_id"): "document_queue",
    (Annotation, "annotator_id"): "annotation_by_annotator",
    (Assignment, "project_id"): "assignment_throughput",
    (Assignment, "document_id"): "assignment_unique_per_annotator",
    (Span, "annotation_id"): "span_unique_key",
}


def indexes(model) -> dict[str, list[str]]:
    """Index name: its columns, in order (unique constraints' indexes too)."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info["columns"] for name, info in found.items() if info["index"] or info["unique"]}


@pytest.mark.parametrize(("model", "column"), list(COVERED))
def test_a_covered_foreign_key_has_one_index_that_leads_with_it(model, column):
    found = indexes(model)
    assert not [name for name, columns in found.items() if columns == [column]]  # no index of its own
    covering = COVERED[model, column]
    # SQLite names a unique constraint's index its own way: found by its columns there.
    assert any(columns[0] == column and len(columns) > 1 and (name == covering or connection.vendor == "sqlite")
               for name, columns in found.items())


@pytest.mark.parametrize("model", [Document, Annotation, Assignment, Span])
def test_every_foreign_key_of_the_imported_tables_can_be_looked_up_by_an_index(model):
    leading = {columns[0] for columns in indexes(model).values() if columns}
    for field in model._meta.concrete_fields:
        if field.is_relation:
            assert field.column in leading, f"{model.__name__}.{field.name}"
