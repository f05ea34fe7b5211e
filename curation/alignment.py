"""Several people's annotations of one document, aligned for a reviewer. Pure functions.

A span is ``(start, end, label)`` in code points, end exclusive; a relation is
``(head span, tail span, label)``. What every annotator said is *agreed* (the
review page starts from it); anything else is a *conflict*, with who said it.
Overlapping conflicts form a *region* (a relation covers its head and tail
span and what lies between): for each annotator, what they said there, spans
in ``readings`` and relations in ``relation_readings`` (an empty list: nothing).

    >>> align({"ann": {"spans": [(0, 4, "GPE")]}, "bob": {"spans": [(0, 4, "LOC")]}})["regions"]
    [{'start': 0, 'end': 4, 'readings': {'ann': [{'start': 0, 'end': 4, 'label': 'GPE'}], 'bob': [{'start': 0, 'end': 4, 'label': 'LOC'}]}, 'relation_readings': {'ann': [], 'bob': []}}]
"""

from __future__ import annotations

from collections.abc import Mapping

Span = tuple[int, int, str]


def _span(span: Span) -> dict:
    return {"start": span[0], "end": span[1], "label": span[2]}


def align(annotations: Mapping[str, Mapping]) -> dict:
    """``{annotator: {"spans": [(start, end, label)], "relations": [((s, e, l), (s, e, l), label)]}}`` -> alignment."""
    names = sorted(annotations)
    spans = {name: set(annotations[name].get("spans", ())) for name in names}
    said: dict[Span, list[str]] = {}
    for name in names:
        for span in spans[name]:
            said.setdefault(span, []).append(name)
    agreed = sorted(span for span, who in said.items() if len(who) == len(names))
    conflicts = sorted(span for span, who in said.items() if len(who) < len(names))

    relations = {name: {(tuple(head), tuple(tail), label) for head, tail, label in annotations[name].get("relations", ())}
                 for name in names}
    relations_said: dict[tuple, list[str]] = {}
    for name in names:
        for key in relations[name]:
            relations_said.setdefault(key, []).append(name)
    relation_conflicts = sorted(key for key, who in relations_said.items() if len(who) < len(names))

    def relation(key, who=None):
        head, tail, label = key
        shaped = {"head": _span(head), "tail": _span(tail), "label": label}
        return shaped if who is None else {**shaped, "annotators": who}

    def extent(key) -> tuple[int, int]:
        """What a relation covers: its head and tail spans and what lies between."""
        return min(key[0][0], key[1][0]), max(key[0][1], key[1][1])

    # Conflicts by start: a region grows while the next conflict overlaps it.
    regions: list[list[int]] = []
    for start, end in sorted([span[:2] for span in conflicts] + [extent(key) for key in relation_conflicts]):
        if regions and start < regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    shaped_regions = []
    for start, end in regions:
        shaped_regions.append({
            "start": start, "end": end,
            "readings": {name: [_span(s) for s in sorted(spans[name]) if s[0] < end and start < s[1]]
                         for name in names},
            "relation_readings": {name: [relation(key) for key in sorted(relations[name])
                                         if extent(key)[0] < end and start < extent(key)[1]] for name in names},
        })

    return {
        "annotators": names,
        "agreed": [_span(s) for s in agreed],
        "conflicts": [{**_span(s), "annotators": said[s]} for s in conflicts],
        "regions": shaped_regions,
        "relations": {
            "agreed": [relation(k) for k, who in sorted(relations_said.items()) if len(who) == len(names)],
            "conflicts": [relation(k, who) for k in relation_conflicts for who in [relations_said[k]]],
        },
    }
