"""The bulk writers (projects.bulk): COPY and bulk_create store the same rows from the same input, columns the
rows do not give get their fields' defaults, and a model run's suggestions replace its own."""

from __future__ import annotations

from contextlib import contextmanager
from typing import NamedTuple

import pytest
from django.db import connection, models
from django.utils import timezone

from projects import bulk
from projects.actions.labels import do_create_label, labels_by_name
from projects.actions.projects import do_create_project
from projects.actions.suggestions import do_replace_suggestions
from projects.bulk import FIELDS, CopyDocumentWriter, DocumentWriter, NewDocument
from projects.models import Annotation, Assignment, Document, GoldRevision, Label, Project, Relation, Span, Suggestion

pytestmark = pytest.mark.django_db

TEXT = "Omar Haddad flew to Beirut."


def news_project(admin, name: str) -> Project:
    project = do_create_project(acting_user=admin, name=name)
    for label in ("PERSON", "GPE"):
        do_create_label(project, acting_user=admin, name=label, kind="entity")
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    return project


class NewSpan(NamedTuple):
    start: int
    end: int
    label: str


class NewRelation(NamedTuple):
    head: int
    tail: int
    label: str


def new_document(text: str, *, spans=None, relations=(), meta=None, tokens=None) -> NewDocument:
    """A checked document; ``spans`` as ``(start, end, label)``, ``relations`` as ``(head, tail, label)``."""
    return NewDocument(text=text, content_hash=Document.hash_text(text), meta=meta or {}, tokens=tokens,
                       spans=None if spans is None else [NewSpan(*s) for s in spans],
                       relations=[NewRelation(*r) for r in relations])


def batches() -> list[list[NewDocument]]:
    """Two batches: the first has relations (the spans' ids are taken first), the second none (left to the
    sequence); annotated documents with and without entities, and one nobody annotated."""
    return [
        [new_document(TEXT, spans=[(0, 11, "PERSON"), (20, 26, "GPE")], relations=[(0, 1, "located_in")],
                      meta={"n": 1, "source": "Agence 🇱🇧 é"}, tokens=b"\x01\x02\x00packed"),
         new_document("Nothing to see.", spans=[], meta={"n": 2})],
        [new_document("Not annotated at all.", meta={"n": 3}),
         new_document("Beirut again.", spans=[(0, 6, "GPE")], meta={"n": 4})],
    ]


def write(writer_class, project: Project, user, *, as_gold: bool) -> dict:
    entity_labels, relation_labels = labels_by_name(project)
    with writer_class(project, acting_user=user, as_gold=as_gold) as writer:
        for batch in batches():
            writer.write(batch, entity_labels, relation_labels)
    return writer.counts


def stored(project: Project) -> dict[str, list[dict]]:
    """Every row the writers filled for ``project``, in id order, comparable across projects: a reference to
    a document, annotation or span is its position among them, a label its name, a time whether it is set."""
    querysets = {
        Document: Document.objects.filter(project=project),
        Annotation: Annotation.objects.filter(document__project=project),
        Assignment: Assignment.objects.filter(project=project),
        GoldRevision: GoldRevision.objects.filter(document__project=project),
        Span: Span.objects.filter(annotation__document__project=project),
        Relation: Relation.objects.filter(annotation__document__project=project),
    }
    assert set(querysets) == set(bulk.DOCUMENT_TABLES)
    position, labels, out = {}, dict(Label.objects.values_list("pk", "name")), {}
    for model, queryset in querysets.items():
        objects = list(queryset.order_by("pk"))
        position.update({(model, obj.pk): i for i, obj in enumerate(objects)})
        rows = []
        for obj in objects:
            row = {}
            for field in model._meta.concrete_fields:
                value = getattr(obj, field.attname)
                if field.primary_key or field.related_model is Project:
                    continue
                if field.related_model is Label:
                    value = labels[value]
                elif field.is_relation and (field.related_model, value) in position:
                    value = ("position", position[field.related_model, value])
                elif isinstance(field, models.DateTimeField):
                    value = value is not None
                elif isinstance(value, memoryview):
                    value = bytes(value)
                row[field.name] = value
            rows.append(row)
        out[model.__name__] = rows
    return out


@contextmanager
def field_added(model, name: str, field):
    """``field`` added to ``model`` as a migration would add it (the column keeps no database default), for
    the test's transaction: a field someone adds later, which the bulk writers must fill without being told."""
    field.contribute_to_class(model, name)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign key checks may block ALTER TABLE
        with connection.schema_editor() as editor:
            editor.add_field(model, field)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield
    finally:  # the column goes with the test's transaction
        model._meta.local_fields.remove(field)
        model._meta._expire_cache()
        delattr(model, name)


def test_every_column_has_a_value_from_the_rows_or_a_default():
    """Columns the rows do not give come from field defaults; a field without one must be given."""
    for model, fields in FIELDS.items():
        bulk.defaults(model, fields, timezone.now(), connection)


def test_a_field_without_a_default_must_be_given():
    with pytest.raises(TypeError, match="Span.label has no default"):
        bulk.defaults(Span, [name for name in FIELDS[Span] if name != "label"], timezone.now(), connection)


@pytest.mark.parametrize("as_gold", [False, True], ids=["submitted", "gold"])
def test_copy_and_bulk_create_store_the_same_rows(people, postgres, as_gold):
    admin = people["admin"]
    by_orm, by_copy = news_project(admin, "ORM"), news_project(admin, "COPY")
    new_fields = {Document: ("origin", models.CharField(max_length=20, default="fresh")),
                  Annotation: ("extra", models.JSONField(default=dict)),
                  Span: ("weight", models.IntegerField(default=7))}
    with field_added(Document, *new_fields[Document]), field_added(Annotation, *new_fields[Annotation]), \
            field_added(Span, *new_fields[Span]):
        counts = write(DocumentWriter, by_orm, admin, as_gold=as_gold)
        assert write(CopyDocumentWriter, by_copy, admin, as_gold=as_gold) == counts
        orm_rows, copy_rows = stored(by_orm), stored(by_copy)
    assert counts == {"documents": 4, "annotations": 3, "spans": 3, "relations": 1}
    assert copy_rows == orm_rows
    assert [d["origin"] for d in copy_rows["Document"]] == ["fresh"] * 4
    assert [a["extra"] for a in copy_rows["Annotation"]] == [{}] * 3
    assert [s["weight"] for s in copy_rows["Span"]] == [7] * 3
    documents = copy_rows["Document"]
    assert [d["status"] for d in documents] == (["reviewed", "reviewed", "unlabelled", "reviewed"] if as_gold else
                                                ["submitted", "submitted", "unlabelled", "submitted"])
    assert documents[0]["meta"] == {"n": 1, "source": "Agence 🇱🇧 é"} and documents[0]["tokens"] == b"\x01\x02\x00packed"
    assert [s["key"] for s in copy_rows["Span"]] == ["0", "1", "0"]  # a span's index in its document
    assert copy_rows["Relation"] == [{"annotation": ("position", 0), "head": ("position", 0),
                                      "tail": ("position", 1), "label": "located_in"}]
    if as_gold:
        assert not copy_rows["Assignment"]
        assert copy_rows["GoldRevision"][0]["spans"] == [{"id": 0, "start": 0, "end": 11, "label": "PERSON"},
                                                         {"id": 1, "start": 20, "end": 26, "label": "GPE"}]
        assert [r["action"] for r in copy_rows["GoldRevision"]] == ["import"] * 3
    else:
        assert not copy_rows["GoldRevision"]
        assert [a["document"] for a in copy_rows["Assignment"]] == [("position", i) for i in (0, 1, 3)]


def test_copied_rows_get_the_same_defaults_as_the_orm_gives(people, postgres):
    project = news_project(people["admin"], "Defaults")
    write(CopyDocumentWriter, project, people["admin"], as_gold=False)
    document = Document.objects.get(project=project, text=TEXT)
    annotation = Annotation.objects.get(document=document)
    rows = {Document: document, Annotation: annotation, Span: Span.objects.filter(annotation=annotation).first(),
            Relation: Relation.objects.get(annotation=annotation)}
    for model in rows:
        fresh = model()
        for field in model._meta.concrete_fields:
            if field.name in FIELDS[model] or field.primary_key:
                continue
            stored_value = getattr(rows[model], field.attname)
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                assert stored_value is not None, f"{model.__name__}.{field.name}"
            else:
                assert stored_value == getattr(fresh, field.attname), f"{model.__name__}.{field.name}"
    assert (annotation.is_gold, annotation.version, annotation.status) == (False, 1, "submitted")


# ------------------------------------------------------------------------------------------ suggestions


def suggestion_rows(project: Project) -> list[tuple]:
    return list(Suggestion.objects.filter(document__project=project).order_by("document_id", "start", "model", "model_version")
                .values_list("document_id", "start", "end", "label__name", "model", "model_version", "score"))


def test_suggestions_replaced_twice_are_stored_once(project):
    documents = list(Document.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    gpe = Label.objects.get(project=project, name="GPE").pk
    rows = [(documents[0], 25, 31, gpe, 0.75), (documents[2], 4, 8, gpe, None)]
    assert do_replace_suggestions(documents, [(documents[0], 0, 6, gpe, 1.0)], model="other", version="1") == 1
    for _ in range(2):
        assert do_replace_suggestions(documents, rows, model="ner", version="2") == 2
    assert suggestion_rows(project) == [
        (documents[0], 0, 6, "GPE", "other", "1", 1.0),
        (documents[0], 25, 31, "GPE", "ner", "2", 0.75),
        (documents[2], 4, 8, "GPE", "ner", "2", None),
    ]
    do_replace_suggestions(documents[2:], [], model="ner", version="2")  # a run that found nothing there
    assert [row[:2] for row in suggestion_rows(project)] == [(documents[0], 0), (documents[0], 25)]


def test_copied_suggestions_are_those_bulk_create_stores(project, postgres):
    documents = list(Document.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    gpe = Label.objects.get(project=project, name="GPE").pk
    rows = [(documents[0], 25, 31, gpe, 0.5, "ner", "1")]
    bulk.insert(Suggestion, rows)  # COPY on PostgreSQL
    bulk.create_rows(Suggestion, [row[:5] + ("ner", "2") for row in rows])
    copied, created = Suggestion.objects.filter(document__project=project).order_by("model_version")
    assert copied.created_at is not None and created.created_at is not None
    assert suggestion_rows(project) == [(documents[0], 25, 31, "GPE", "ner", version, 0.5) for version in "12"]
