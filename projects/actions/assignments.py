"""Who holds which document: the queue with overlap k, expiry, and admins' explicit assignments.

The invariant: a document is held by at most ``project.annotators_per_document``
(k) annotators through the queue, and ``Document.assignee_count`` is always the
number of its Assignment rows. Every change to both happens here, with the
document's row locked, so two annotators asking at the same instant can never
take the same slot:

    SELECT ... FROM document
     WHERE project = p AND status IN (unlabelled, in_progress) AND assignee_count < k
       AND id NOT IN (skip) AND NOT EXISTS (an assignment of mine)
     ORDER BY assignee_count DESC, <the project's queue order> LIMIT 1
       FOR UPDATE SKIP LOCKED

A row another request is claiming is skipped rather than waited for, and
PostgreSQL re-checks ``assignee_count < k`` on the row it locks. SQLite has no
row locks but serialises writers, which gives the same result.

Fullest first: a document that one annotator holds goes to the next annotator
before a fresh one is opened, so documents reach k (and the reviewers) soon
and few are half done; work is balanced because every annotator pulls from
the one pool at their own pace.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Mod
from django.utils import timezone

from projects.actions.reopenings import do_reopen_document, locked_documents
from projects.errors import Conflict, InvalidInput
from projects.models import Annotation, Assignment, Document, Membership, Project, QueueOrder, UncertaintySampling
from projects.overlap import wanted

FIBONACCI_MULTIPLIER = 2654435761  # round(2**32 / golden ratio): consecutive ids land far apart
RELEASE_BATCH = 500
RELEASE_EVERY_SECONDS = 10  # expired assignments are looked for at most this often per project


def assignment_timeout() -> timedelta:
    return timedelta(seconds=settings.ASSIGNMENT_TIMEOUT_SECONDS)


def do_take_next_document(project: Project, user, skip: Collection[int] = ()) -> Document | None:
    """The next document for ``user``, who then holds it; None when nothing is left for them.

    First what an admin assigned them and they have not submitted, whatever the
    document's status (a submitted one gets their own annotation too); then
    their own unsubmitted documents from the queue (their deadline moves on);
    then a free slot in the pool. Documents in ``skip`` (left for later) are passed over.
    """
    skip = list(skip)
    document = _resume(project, user, skip)
    if document is not None:
        return document
    return _claim(project, user, skip)


def _resume(project: Project, user, skip: list[int]) -> Document | None:
    mine = Assignment.objects.filter(project=project, annotator=user, submitted_at__isnull=True)
    if skip:  # (an empty NOT IN still costs the ORM a compile on every /next/)
        mine = mine.exclude(document_id__in=skip)
    # An admin's assignment first, whatever the document's status; then the queue's, of open documents.
    held = (mine.filter(Q(expires_at__isnull=True) | Q(document__status__in=Document.OPEN))
            .order_by(F("expires_at").asc(nulls_first=True), "document_id")
            .values_list("pk", "document_id", "expires_at").first())
    if held is None:
        return None
    pk, document_id, expires_at = held
    if expires_at is not None:
        # Another request may have released it meanwhile: then it is not ours any more.
        if not Assignment.objects.filter(pk=pk).update(expires_at=timezone.now() + assignment_timeout()):
            return None
    return Document.objects.get(pk=document_id)


def _claim(project: Project, user, skip: list[int]) -> Document | None:
    mine = Assignment.objects.filter(document=OuterRef("pk"), annotator=user)
    for _ in range(3):
        try:
            with transaction.atomic():
                if cache.add(f"assignments:released:{project.pk}", True, RELEASE_EVERY_SECONDS):
                    release_expired(project)
                free = (
                    Document.objects.select_for_update(skip_locked=True)
                    .filter(project=project, status__in=Document.OPEN,
                            assignee_count__lt=Document.places(project.annotators_per_document))
                    .filter(~Exists(mine))
                )
                if skip:
                    free = free.exclude(pk__in=skip)
                document = free.order_by("-assignee_count", *queue_order(project)).first()
                if document is None:
                    return None
                Assignment.objects.create(project=project, document=document, annotator=user,
                                          expires_at=timezone.now() + assignment_timeout())
                Document.objects.filter(pk=document.pk).update(assignee_count=F("assignee_count") + 1)
                document.assignee_count += 1
                return document
        except IntegrityError:
            # The same user claimed it in a parallel request that committed after our snapshot.
            continue
    return None


def queue_order(project: Project) -> tuple:
    """How open documents with a free slot follow each other in the project's queue order, after
    fullest first. Random is a stable shuffle: Fibonacci hashing of the id mixed with the project's
    seed, so any run of the queue is spread evenly over the documents in the order they were stored
    and a document's place never changes. Uncertainty: the latest scoring pass's most uncertain
    first, documents not scored yet after them in stored order."""
    if project.queue_order == QueueOrder.RANDOM:
        digest = hashlib.sha256(f"queue:{project.pk}:{project.split_seed}".encode()).digest()
        offset = int.from_bytes(digest[:4], "big")
        # An offset alone only rotates the circle (every seed the same cycle); the seed's bits mixed into the
        # id first make another seed another order. Below 2**24 the product stays inside a bigint.
        mask = int.from_bytes(digest[4:7], "big")
        return (Mod(F("id").bitxor(Value(mask)) * Value(FIBONACCI_MULTIPLIER) + Value(offset), Value(2 ** 32)).asc(),
                "id")
    if project.queue_order == QueueOrder.UNCERTAINTY:
        by = "uncertainty" if project.uncertainty_sampling == UncertaintySampling.HIGHEST else "queue_priority"
        return (F(by).desc(nulls_last=True), "id")
    return ("id",)


LEAST_UNCERTAINTY = 1e-6  # a document the model is sure of still has a (tiny) chance: the order stays total


def sampling_priority(uncertainty: float, *, key: str) -> float:
    """A scored document's place in the proportional uncertainty order (highest first).

    ``log(uncertainty) + G``, with G a Gumbel variable seeded by ``key``: taking documents
    highest first is then drawing them without replacement, each with a chance in proportion
    to its uncertainty (the Gumbel-top-k trick; Prodigy's ``prefer_uncertain`` samples the
    same way). Highest-uncertainty-first hands out a round's worth of the most uncertain
    documents from one model, often near-copies of one question (the same ambiguous name in
    fifty comments); drawing in proportion keeps the picks uncertain but spread, which
    "stochastic batch acquisition" (Kirsch et al., TMLR 2023) found at least as good, and
    bench/active_learning.py measures here. The same key gives the same number: a scoring
    pass stored again changes nothing.
    """
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    uniform = (digest + 0.5) / 2 ** 64  # in (0, 1)
    return math.log(max(uncertainty, LEAST_UNCERTAINTY)) - math.log(-math.log(uniform))


def release_expired(project: Project, now=None) -> int:
    """Return to the pool the queue's assignments whose deadline passed unsubmitted; how many.

    Runs lazily on /next/, at most every RELEASE_EVERY_SECONDS per project (one
    indexed query when there is nothing to release), inside the claim's transaction.
    The annotator's unfinished annotation stays: if the document comes back to
    them, they carry on where they were.
    """
    now = now or timezone.now()
    expired = Assignment.objects.filter(project=project, submitted_at__isnull=True, expires_at__lt=now)
    document_ids = list(expired.values_list("document_id", flat=True).distinct()[:RELEASE_BATCH])
    if not document_ids:
        return 0
    with transaction.atomic(savepoint=False):
        # Documents first, then their assignments: the lock order of every action here.
        locked = list(Document.objects.select_for_update(skip_locked=True).filter(pk__in=document_ids)
                      .order_by("pk").values_list("pk", flat=True))
        gone = list(expired.filter(document_id__in=locked).values_list("pk", "document_id"))
        if not gone:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in gone]).delete()
        _change_counts(Counter(document_id for _, document_id in gone), sign=-1)
    return len(gone)


def _change_counts(by_document: Counter, sign: int) -> None:
    by_amount: dict[int, list[int]] = {}
    for document_id, n in by_document.items():
        by_amount.setdefault(n, []).append(document_id)
    for n, document_ids in by_amount.items():
        Document.objects.filter(pk__in=sorted(document_ids)).update(assignee_count=F("assignee_count") + sign * n)


DOCUMENT_FULL = "document_full"


def record_annotation_saved(document: Document, user, status: str, *, k: int) -> None:
    """Called inside the annotation save, under the document's row lock: the saver holds the document;
    submitted or not.

    A member may save an annotation of a document the queue did not hand them
    (an API script, or a document that came back to the pool): that takes one of
    the document's k places like any assignment, and is refused with a 409
    ``document_full`` when they are all taken (the save rolls back). Lowering k
    takes nobody's place away: whoever holds one keeps saving.
    """
    now = timezone.now()
    submitted_at = now if status == Annotation.Status.SUBMITTED else None
    mine = Assignment.objects.filter(document=document, annotator=user)
    # The queue's assignment (one query on the hot path) gets a new deadline; an admin's keeps none.
    if mine.filter(expires_at__isnull=False).update(submitted_at=submitted_at, expires_at=now + assignment_timeout()):
        return
    if mine.update(submitted_at=submitted_at):
        return
    if not Document.objects.filter(pk=document.pk, assignee_count__lt=k).update(assignee_count=F("assignee_count") + 1):
        raise Conflict(f"document {document.pk} already has its {k} annotator{'s' if k != 1 else ''}, and you "
                       "are not one of them: nothing was saved; an admin can assign it to you", code=DOCUMENT_FULL)
    Assignment.objects.create(project_id=document.project_id, document=document, annotator=user,
                              expires_at=now + assignment_timeout(), submitted_at=submitted_at)


@transaction.atomic
def do_assign_documents(project: Project, document_ids: Sequence[int], *, acting_user, annotator: str | None = None,
                        from_user: str | None = None) -> list[Assignment]:
    """An admin hands documents to ``annotator`` explicitly (no expiry), or moves them from ``from_user``.

    - ``annotator`` alone: each document must have a free slot (fewer than k holders).
    - ``annotator`` and ``from_user``: ``from_user``'s unsubmitted assignment of each
      document moves to ``annotator`` (the count stays).
    - ``from_user`` alone: their unsubmitted assignments are withdrawn (back to the pool).

    All or nothing: one document that cannot be assigned refuses the whole request.
    Returns the assignments made (empty when only withdrawing).
    """
    if not annotator and not from_user:
        raise InvalidInput("annotator: say who gets the documents (or from_user, to withdraw them)",
                           code="nobody_to_assign")
    document_ids = sorted(set(document_ids))
    if not document_ids:
        raise InvalidInput("documents: list at least one document id", code="no_documents")
    target = _member(project, annotator, "annotator") if annotator else None
    source = _user(from_user, "from_user") if from_user else None
    if target is not None and source is not None and target.pk == source.pk:
        raise InvalidInput("from_user: the documents are already theirs", code="same_user")

    documents = {d.pk: d for d in Document.objects.select_for_update().filter(project=project, pk__in=document_ids)
                 .order_by("pk")}
    missing = [pk for pk in document_ids if pk not in documents]
    if missing:
        raise InvalidInput(f"documents: no document {_list(missing)} in this project", code="unknown_documents")
    holders: dict[int, dict[int, Assignment]] = {}
    for assignment in Assignment.objects.select_for_update().filter(document_id__in=document_ids):
        holders.setdefault(assignment.document_id, {})[assignment.annotator_id] = assignment

    if source is not None:
        not_held = [pk for pk in document_ids if source.pk not in holders.get(pk, {})]
        if not_held:
            raise Conflict(f"from_user: {source.username} does not hold document {_list(not_held)}",
                           code="not_assigned")
        done = [pk for pk in document_ids if holders[pk][source.pk].submitted_at is not None]
        if done:
            raise Conflict(f"from_user: {source.username} already submitted document {_list(done)}; "
                           "submitted work is not reassigned", code="already_submitted")
    elif target is not None:
        k = project.annotators_per_document
        full = [pk for pk in document_ids if target.pk not in holders.get(pk, {})
                and documents[pk].assignee_count >= wanted(k, documents[pk].overlap)]
        if full:
            raise Conflict(f"document {_list(full)} already has all its annotators ({k}, or one outside the "
                           f"overlap sample); pass from_user to reassign, or raise k", code="document_full")

    delta: Counter = Counter()
    if source is not None:
        Assignment.objects.filter(pk__in=[holders[pk][source.pk].pk for pk in document_ids]).delete()
        delta.update({pk: -1 for pk in document_ids})
    made = []
    if target is not None:
        # A reviewed document handed to someone is reopened for them (recorded), so they can annotate it;
        # their change brings it back to the review queue.
        locked = locked_documents(document_ids)
        for pk in locked:
            do_reopen_document(documents[pk], acting_user=acting_user)
        existing = [holders.get(pk, {}).get(target.pk) for pk in document_ids]
        keep = [a for a in existing if a is not None]
        Assignment.objects.filter(pk__in=[a.pk for a in keep]).update(assigned_by=acting_user, expires_at=None)
        new = [Assignment(project=project, document_id=pk, annotator=target, assigned_by=acting_user)
               for pk, a in zip(document_ids, existing, strict=True) if a is None]
        made = Assignment.objects.bulk_create(new)
        delta.update({a.document_id: 1 for a in new})
        made = sorted(keep + made, key=lambda a: a.document_id)
    _change_counts(Counter({pk: n for pk, n in delta.items() if n > 0}), sign=1)
    _change_counts(Counter({pk: -n for pk, n in delta.items() if n < 0}), sign=-1)
    return made


def _user(username: str, field: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"{field}: no user is called {username!r}", code="unknown_user")
    return user


def _member(project: Project, username: str, field: str):
    user = _user(username, field)
    if not Membership.objects.filter(project=project, user=user).exists():
        raise InvalidInput(f"{field}: {username!r} is not a member of this project", code="not_a_member")
    return user


def _list(ids: Sequence[int]) -> str:
    shown = ", ".join(str(pk) for pk in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")

