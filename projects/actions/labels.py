from __future__ import annotations

import colorsys
import re

from django.db import IntegrityError, transaction

from projects.errors import Conflict, InvalidInput
from projects.models import Label, Project
from projects.shortcuts import RESERVED_SHORTCUTS, describe_reserved
from projects.sql import column, table

# Distinct, readable highlight colours; after these, hues by the golden angle.
PALETTE = [
    "#7aa6ff", "#ffb347", "#77dd77", "#ff6961", "#c3a6ff", "#fdfd96", "#84d8d8", "#f49ac2",
    "#b39eb5", "#cfcfc4", "#ffd1dc", "#aec6cf", "#e5c07b", "#98c379", "#d19a66", "#61afef",
]
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def pick_color(used: set[str]) -> str:
    used = {c.lower() for c in used}
    for color in PALETTE:
        if color not in used:
            return color
    n = len(used)
    while True:
        hue = (n * 0.618033988749895) % 1.0
        r, g, b = colorsys.hls_to_rgb(hue, 0.75, 0.7)
        color = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
        if color not in used:
            return color
        n += 1


def check_label_fields(fields: dict) -> None:
    if "name" in fields:
        name = fields["name"]
        if not name or name != name.strip() or any(ch.isspace() for ch in name):
            # Labels become CoNLL tags, which cannot hold whitespace.
            raise InvalidInput("name: a label name is non-empty and has no whitespace", code="invalid_label_name")
    if "kind" in fields and fields["kind"] not in Label.Kind.values:
        raise InvalidInput(f"kind: must be one of {', '.join(Label.Kind.values)}", code="invalid_kind")
    if fields.get("color") and not COLOR_RE.match(fields["color"]):
        raise InvalidInput("color: must look like #rrggbb", code="invalid_color")
    shortcut = fields.get("shortcut")
    if shortcut and (len(shortcut) != 1 or shortcut.isspace()):
        raise InvalidInput("shortcut: one key (a single character), or empty", code="invalid_shortcut")
    if shortcut in RESERVED_SHORTCUTS:
        raise InvalidInput(f"shortcut: {shortcut!r} is a workspace command key; the reserved keys are "
                           f"{describe_reserved()}", code="reserved_shortcut",
                           extra={"reserved": list(RESERVED_SHORTCUTS)})


def _explain_integrity(project: Project, fields: dict, exclude_id=None) -> InvalidInput:
    others = Label.objects.filter(project=project).exclude(pk=exclude_id)
    if fields.get("shortcut") and others.filter(shortcut=fields["shortcut"]).exists():
        return InvalidInput(f"shortcut: {fields['shortcut']!r} is already used by another label", code="shortcut_taken")
    kind = fields.get("kind", "entity")
    article = "an" if kind[:1] in "aeiou" else "a"
    return InvalidInput(f"name: {article} {kind} label {fields.get('name')!r} already exists", code="label_exists")


@transaction.atomic
def do_create_label(project: Project, *, acting_user=None, name: str, kind: str = "entity",
                    color: str = "", shortcut: str = "") -> Label:
    fields = {"name": name, "kind": kind, "color": color, "shortcut": shortcut or ""}
    check_label_fields(fields)
    if not color:
        fields["color"] = pick_color(set(Label.objects.filter(project=project).values_list("color", flat=True)))
    try:
        with transaction.atomic():
            return Label.objects.create(project=project, **fields)
    except IntegrityError:
        raise _explain_integrity(project, fields) from None


@transaction.atomic
def do_create_missing_labels(project: Project, names: set[str], kind: str) -> list[Label]:
    """Create the labels of ``kind`` among ``names`` that the project lacks (imports with create_labels)."""
    existing = set(Label.objects.filter(project=project, kind=kind, name__in=names).values_list("name", flat=True))
    used = set(Label.objects.filter(project=project).values_list("color", flat=True))
    created = []
    for name in sorted(names - existing):
        check_label_fields({"name": name})
        color = pick_color(used)
        used.add(color)
        created.append(Label(project=project, name=name, kind=kind, color=color))
    return Label.objects.bulk_create(created)


@transaction.atomic
def do_update_label(label: Label, *, acting_user=None, **fields) -> Label:
    check_label_fields(fields)
    if "kind" in fields and fields["kind"] != label.kind and (label.spans.exists() or label.relations.exists()):
        raise Conflict("kind: the label is in use, so its kind cannot change", code="label_in_use")
    for key, value in fields.items():
        setattr(label, key, value if value is not None else "")
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise _explain_integrity(label.project, {"kind": label.kind, "name": label.name, **fields},
                                 exclude_id=label.pk) from None
    return label


@transaction.atomic
def do_delete_label(label: Label, *, acting_user=None) -> None:
    """Refuse to delete a label that annotations use: deleting it would silently drop their spans."""
    spans = label.spans.count()
    relations = label.relations.count()
    if spans or relations:
        raise Conflict(
            f"label {label.name!r} is used by {spans} spans and {relations} relations; relabel or delete those first",
            code="label_in_use",
        )
    label.suggestions.all().delete()
    label.delete()


def labels_by_name(project: Project) -> tuple[dict[str, Label], dict[str, Label]]:
    """(entity name -> Label, relation name -> Label) for a project, in one query.

    Every annotation save reads this: as ``raw`` SQL it costs a third of the ORM's compile.
    """
    entity, relation = {}, {}
    query = f"SELECT * FROM {table(Label)} WHERE {column(Label, 'project')} = %s"
    for label in Label.objects.raw(query, [project.pk]):
        (entity if label.kind == Label.Kind.ENTITY else relation)[label.name] = label
    return entity, relation
