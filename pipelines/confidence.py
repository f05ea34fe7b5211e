"""How sure a pipeline is: a probability for each entity it finds, and each document's uncertainty.

spaCy's entity recognizer (``ner``, and ``beam_ner``, the same component trained
another way) is a transition-based parser. Decoded greedily it keeps one analysis
and gives no probability. Decoded with a beam it keeps the ``width`` best
analyses of the whole document; their scores, normalised over the beam, are a
distribution over analyses, so

- an entity's score is the probability mass of the analyses that contain it
  (``EntityRecognizer.scored_ents``, what Prodigy's ``ner.teach`` shows), and
- a document's uncertainty is ``1 - P(the most probable analysis)``: the chance
  that a person's answer differs from the model's best guess, whether the model
  is unsure of an entity it found or of the ones it did not find (most real
  documents have no entity, and "is there really none here?" is then the
  question an annotator answers). It is least-confidence sampling over whole
  analyses (Culotta & McCallum 2005; Settles & Craven 2008).

Any recognizer can be decoded with a beam, so the models a project trains (a
greedy ``ner``: faster to train and, on ner_drugs, more accurate than
``beam_ner``; see the README's "Model in the loop") and registered pipelines with
a ``ner`` or ``beam_ner`` component all give scores. Entity rulers' matches score
1; an entity set by any other component has no score. ``PRELABEL_BEAM_WIDTH`` = 1
decodes greedily, without scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from pipelines.loading import RULERS, entity_components

NER_FACTORIES = ("ner", "beam_ner")
BEAM_DENSITY = 0.0001  # drop analyses below this fraction of the best one's score (Prodigy's ner.teach value)


@dataclass
class ScoredDoc:
    doc: Doc
    # (start token, end token, label) of each entity in doc.ents -> probability, for those that have one.
    scores: dict = field(default_factory=dict)
    uncertainty: float | None = None  # 1 - P(best analysis); None when the pipeline gives no probabilities


def scoring_component(nlp: Language) -> str | None:
    """The first enabled entity recognizer, whose beam gives the probabilities."""
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory in NER_FACTORIES:
            return name
    return None


def rules_only(nlp: Language) -> bool:
    """Whether every component that sets entities is a ruler: its matches are certain."""
    names = entity_components(nlp)
    return bool(names) and all(nlp.get_pipe_meta(name).factory in RULERS for name in names)


def can_score(nlp: Language, beam_width: int) -> bool:
    return rules_only(nlp) or (beam_width > 1 and scoring_component(nlp) is not None)


def scored_pipe(nlp: Language, inputs: Iterable[str | Doc], *, batch_size: int, beam_width: int) -> Iterator[ScoredDoc]:
    """``nlp.pipe(inputs)`` with probabilities: the recognizer decoded with a beam of ``beam_width``.

    The components run in order on each batch, as ``nlp.pipe`` runs them; only the
    recognizer's step differs. ``doc.ents`` is the beam's best analysis.
    """
    recognizer = scoring_component(nlp)
    if beam_width <= 1 or recognizer is None:
        certain = rules_only(nlp)
        for doc in nlp.pipe(inputs, batch_size=batch_size):
            scores = {(e.start, e.end, e.label_): 1.0 for e in doc.ents} if certain else {}
            yield ScoredDoc(doc, scores, 0.0 if certain else None)
        return
    rulers = any(nlp.get_pipe_meta(name).factory in RULERS for name in entity_components(nlp))
    steps = [(name, nlp.get_pipe(name)) for name in nlp.pipe_names]
    for batch in minibatch(inputs, size=batch_size):
        docs = [item if isinstance(item, Doc) else nlp.make_doc(item) for item in batch]
        analyses: dict[int, tuple[dict, float]] = {}
        for name, component in steps:
            if name == recognizer:
                analyses = _beam_decode(component, docs, beam_width)
            elif hasattr(component, "pipe"):
                docs = list(component.pipe(docs))
            else:
                docs = [component(doc) for doc in docs]
        for i, doc in enumerate(docs):
            entity_scores, uncertainty = analyses.get(i, ({}, 0.0))
            scores = {}
            for ent in doc.ents:
                key = (ent.start, ent.end, ent.label_)
                if key in entity_scores:
                    scores[key] = entity_scores[key]
                elif rulers:  # added by a ruler after the recognizer
                    scores[key] = 1.0
            yield ScoredDoc(doc, scores, uncertainty)


def _beam_decode(recognizer, docs: list[Doc], beam_width: int) -> dict[int, tuple[dict, float]]:
    """Decode ``docs`` (in place: their entities) with a beam; for each non-empty doc's index, its entities'
    probabilities and its uncertainty."""
    nonempty = [i for i, doc in enumerate(docs) if len(doc)]
    if not nonempty:
        return {}
    batch = [docs[i] for i in nonempty]
    beams = recognizer.beam_parse(batch, beam_width=beam_width, beam_density=BEAM_DENSITY)
    entity_scores = recognizer.scored_ents(beams)
    recognizer.set_annotations(batch, beams)
    found = {}
    for i, beam, scores in zip(nonempty, beams, entity_scores):
        analyses: dict[frozenset, float] = defaultdict(float)
        for probability, entities in recognizer.moves.get_beam_parses(beam):
            analyses[frozenset(entities)] += probability
        best = max(analyses.values(), default=1.0)
        found[i] = ({key: _unit(value) for key, value in scores.items()}, _unit(1.0 - best))
    return found


def _unit(value: float) -> float:
    """A probability summed in floating point, put back in [0, 1] and rounded for storage."""
    return round(min(1.0, max(0.0, float(value))), 6)
