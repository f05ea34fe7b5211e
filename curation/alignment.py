"""Several people's annotations of one document, aligned for a reviewer. Pure functions.

A span is ``(start, end, label)`` in code points, end exclusive; a relation is
``(head span, tail span, label)``. What every annotator said is *agreed* (the
review page starts from it); anything else is a *conflict*, with who said it.
Overlapping conflicting spans form a *region*: for each annotator, what they
said there (an empty list: nothing).

    >>> align({"ann": {"spans": [(0, 4, "GPE")]}, "bob": {"spans": [(0, 4, "LOC")]}})["regions"]
    [{'start': 0, 'end': 4, 'readings': {'ann': [{'start': 0, 'end': 4, 'label': 'GPE'}], 'bob': [{'start': 0, 'end': 4, 'label': 'LOC'}]}}]
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

    regions = []
    for span in conflicts:  # sorted by start: a region grows while the next conflict overlaps it
        if regions and span[0] < regions[-1]["end"]:
            regions[-1]["end"] = max(regions[-1]["end"], span[1])
            regions[-1]["spans"].append(span)
        else:
            regions.append({"start": span[0], "end": span[1], "spans": [span]})
    shaped_regions = []
    for region in regions:
        inside = {name: sorted(s for s in spans[name] if s[0] < region["end"] and region["start"] < s[1])
                  for name in names}
        shaped_regions.append({"start": region["start"], "end": region["end"],
                               "readings": {name: [_span(s) for s in inside[name]] for name in names}})

    relations_said: dict[tuple, list[str]] = {}
    for name in names:
        for head, tail, label in set(annotations[name].get("relations", ())):
            relations_said.setdefault((tuple(head), tuple(tail), label), []).append(name)

    def relation(key, who=None):
        head, tail, label = key
        shaped = {"head": _span(head), "tail": _span(tail), "label": label}
        return shaped if who is None else {**shaped, "annotators": who}

    return {
        "annotators": names,
        "agreed": [_span(s) for s in agreed],
        "conflicts": [{**_span(s), "annotators": said[s]} for s in conflicts],
        "regions": shaped_regions,
        "relations": {
            "agreed": [relation(k) for k, who in sorted(relations_said.items()) if len(who) == len(names)],
            "conflicts": [relation(k, who) for k, who in sorted(relations_said.items()) if len(who) < len(names)],
        },
    }
