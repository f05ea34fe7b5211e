"""The data model. Invariants live in the database as constraints, not only here."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from projects.roles import Role


class QueueOrder(models.TextChoices):
    SEQUENTIAL = "sequential", "Sequential (as stored)"
    RANDOM = "random", "Random (seeded, stable)"
    UNCERTAINTY = "uncertainty", "Uncertainty (the model's least sure first)"


class UncertaintySampling(models.TextChoices):
    PROPORTIONAL = "proportional", "In proportion to uncertainty (seeded, spread)"
    HIGHEST = "highest", "Highest uncertainty first"


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Annotation guidelines, in Markdown.")
    language = models.CharField(max_length=16, default="en", help_text="spaCy language code for tokenization.")
    allow_overlapping_spans = models.BooleanField(default=False)
    annotators_per_document = models.PositiveSmallIntegerField(default=1)
    # The fraction of documents that go to annotators_per_document annotators; the others go to one
    # (projects.overlap: an exact, stable, systematic sample). 1: every document.
    overlap_sample = models.FloatField(default=1.0)
    # The order in which the queue hands out open documents (projects.actions.assignments):
    # sequential (as stored), random (a stable shuffle seeded by split_seed) or uncertainty
    # (the latest model's uncertainty first, then unscored documents in stored order).
    queue_order = models.CharField(max_length=16, choices=QueueOrder.choices, default=QueueOrder.SEQUENTIAL)
    # How the uncertainty order follows the scores: ``highest`` first, or sampled ``proportional``ly to
    # them (seeded): mostly uncertain documents, but not a batch of near-copies of one question
    # (Document.queue_priority; the README's "Model in the loop" says why it is the default).
    uncertainty_sampling = models.CharField(max_length=16, choices=UncertaintySampling.choices,
                                            default=UncertaintySampling.PROPORTIONAL)
    # The model in the loop (pipelines.loop): after every ``retrain_every`` new gold documents (or, while
    # there are none, submitted ones) a worker trains the next version of ``retrain_model`` and
    # pre-labels and scores the open documents with it. 0: never on its own.
    retrain_every = models.PositiveIntegerField(default=0)
    retrain_model = models.CharField(max_length=64, default="loop")
    # Deterministic train/dev/test split by document (exports).
    split_train = models.FloatField(default=0.8)
    split_dev = models.FloatField(default=0.1)
    split_test = models.FloatField(default=0.1)
    split_seed = models.CharField(max_length=32, default="annotator")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(annotators_per_document__gte=1), name="project_k_at_least_one"),
            models.CheckConstraint(condition=Q(overlap_sample__gte=0, overlap_sample__lte=1),
                                   name="project_overlap_sample_fraction"),
            models.CheckConstraint(condition=Q(queue_order__in=["sequential", "random", "uncertainty"]),
                                   name="project_queue_order_valid"),
            models.CheckConstraint(condition=Q(uncertainty_sampling__in=["proportional", "highest"]),
                                   name="project_uncertainty_sampling_valid"),
            models.CheckConstraint(
                condition=Q(split_train__gte=0, split_dev__gte=0, split_test__gte=0), name="project_split_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["project", "role"], name="membership_project_role")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class Label(models.Model):
    class Kind(models.TextChoices):
        ENTITY = "entity", "Entity"
        RELATION = "relation", "Relation"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ENTITY)
    color = models.CharField(max_length=7, help_text="#rrggbb")
    shortcut = models.CharField(max_length=1, blank=True, default="", help_text="One key; empty for none.")

    class Meta:
        ordering = ["project_id", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "name"], name="label_unique_name_per_kind"),
            models.UniqueConstraint(
                fields=["project", "shortcut"], condition=~Q(shortcut=""), name="label_unique_shortcut"
            ),
            models.CheckConstraint(condition=Q(kind__in=["entity", "relation"]), name="label_kind_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="label_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Document(models.Model):
    class Status(models.TextChoices):
        UNLABELLED = "unlabelled", "Unlabelled"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        REVIEWED = "reviewed", "Reviewed"

    # No index of its own: document_queue and document_content_hash start with it (one index less to fill per
    # document imported).
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents", db_index=False)
    text = models.TextField()
    meta = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the text, to find duplicates.")
    # The text's tokens, packed when it is stored (projects.token_columns): the text never
    # changes, so exports and pages read them instead of tokenizing again. Null for documents
    # stored before there was this column; readers tokenize those.
    tokens = models.BinaryField(null=True, editable=False)
    # Kept in step with the annotations by projects.actions.annotations, so the
    # queue and the status filter read one indexed column.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNLABELLED)
    # How many annotators hold the document (rows in Assignment), kept in step by
    # projects.actions.assignments under the document's row lock: the queue hands a
    # document out while this is below the project's annotators_per_document.
    assignee_count = models.PositiveIntegerField(default=0)
    # 1 - mean pairwise span F1 of the submitted annotations (0 when they all agree),
    # refreshed when an annotation is submitted; the review queue sorts on it.
    disagreement = models.FloatField(default=0.0)
    # In the project's overlap sample: goes to its annotators_per_document annotators, else to one
    # (projects.overlap). Chosen when the document is stored, and again when the fraction changes.
    overlap = models.BooleanField(default=True)
    # How much an annotation would teach the project's model, in [0, 1], from the latest
    # scoring pass (DocumentScore keeps every pass); null until scored. The queue's
    # uncertainty order sorts on it.
    uncertainty = models.FloatField(null=True, blank=True)
    # The same pass's place in the proportional uncertainty order, highest first: log(uncertainty)
    # plus seeded Gumbel noise (projects.actions.assignments.sampling_priority); null until scored.
    queue_priority = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    OPEN = ("unlabelled", "in_progress")  # statuses the queue hands out

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["unlabelled", "in_progress", "submitted", "reviewed"]),
                                   name="document_status_valid"),
        ]
        indexes = [
            models.Index(fields=["project", "status", "id"], name="document_queue"),
            models.Index(fields=["project", "content_hash"], name="document_content_hash"),
            # The queue: open documents with a free slot, fullest first (see actions/assignments.py).
            models.Index(fields=["project", "-assignee_count", "id"], name="document_open_slots",
                         condition=Q(status__in=["unlabelled", "in_progress"])),
            # The same in uncertainty order (most uncertain first, unscored last): document_open_uncertain
            # and document_open_sampled (proportional), made by migrations 0011 and 0012 on PostgreSQL
            # only, as SQLite has no NULLS LAST in an index.
            # The review queue: submitted documents, most disagreement first.
            models.Index(fields=["project", "status", "-disagreement", "id"], name="document_review_queue"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.text[:60]}"

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @staticmethod
    def places(k: int):
        """How many annotators a document goes to, as a query expression: the project's ``k`` in the
        overlap sample, else one (``projects.overlap.wanted`` in Python)."""
        return Case(When(overlap=True, then=Value(k)), default=Value(1))


class Annotation(models.Model):
    """One person's labels on one document, or the document's gold labels.

    Gold (``is_gold``) is the reviewed annotation; it reuses spans and
    relations, with ``annotator`` naming who last saved it.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(  # no index of its own: annotation_by_annotator starts with it
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="annotations",
        db_index=False,
    )
    is_gold = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "annotator"], condition=Q(is_gold=False), name="annotation_unique_per_annotator"
            ),
            models.UniqueConstraint(fields=["document"], condition=Q(is_gold=True), name="annotation_unique_gold"),
            models.CheckConstraint(condition=Q(is_gold=True) | Q(annotator__isnull=False),
                                   name="annotation_has_annotator"),
            models.CheckConstraint(condition=Q(status__in=["in_progress", "submitted"]), name="annotation_status_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="annotation_version_positive"),
        ]
        indexes = [models.Index(fields=["annotator", "status", "document"], name="annotation_by_annotator")]

    def __str__(self) -> str:
        who = "gold" if self.is_gold else str(self.annotator)
        return f"{who} on document {self.document_id} (v{self.version})"


class Assignment(models.Model):
    """An annotator holds a document: the queue (or an admin) handed it to them.

    A document is handed to at most ``annotators_per_document`` people
    (``Document.assignee_count``). An assignment from the queue that is not
    submitted by ``expires_at`` returns to the pool; one an admin made
    (``assigned_by``) has no expiry. ``submitted_at`` is set while the
    holder's annotation is submitted.
    """

    # No index of their own: assignment_throughput starts with the project, assignment_unique_per_annotator
    # with the document.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The admin who assigned it; empty for the queue.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Back to the pool after this, unless submitted.")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "annotator"], name="assignment_unique_per_annotator"),
        ]
        indexes = [
            # Resume: an annotator's unsubmitted documents in a project, in document order.
            models.Index(fields=["project", "annotator", "document"], name="assignment_open",
                         condition=Q(submitted_at__isnull=True)),
            # Expiry: unsubmitted assignments of the queue by deadline.
            models.Index(fields=["project", "expires_at"], name="assignment_expiry",
                         condition=Q(submitted_at__isnull=True, expires_at__isnull=False)),
            # Throughput: submissions per annotator over time.
            models.Index(fields=["project", "annotator", "submitted_at"], name="assignment_throughput"),
        ]

    def __str__(self) -> str:
        return f"document {self.document_id} to {self.annotator}"


class GoldRevision(models.Model):
    """One save of a document's gold annotation: who, when, how, and what it then was.

    Written by projects.actions.gold in the same transaction as the gold itself,
    so the history and the gold never disagree.
    """

    class Action(models.TextChoices):
        EDIT = "edit", "Edited"
        ADOPT = "adopt", "Adopted an annotator's annotation"
        IMPORT = "import", "Imported as gold"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="gold_revisions")
    version = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.EDIT)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="Whose annotation was adopted.")
    spans = models.JSONField(default=list, help_text="The gold spans after this save: [{id, start, end, label}].")
    relations = models.JSONField(default=list, help_text="The gold relations after this save: [{head, tail, label}].")
    added = models.JSONField(default=list, help_text="Spans added by this save: [[start, end, label]].")
    removed = models.JSONField(default=list, help_text="Spans removed by this save: [[start, end, label]].")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["document", "version"], name="gold_revision_unique_version")]

    def __str__(self) -> str:
        return f"gold v{self.version} of document {self.document_id}"


class Reopening(models.Model):
    """A reviewer reopened a reviewed document: its annotators may change their annotations again.

    Once a document has gold, its annotators' annotations are read-only (the
    annotation save refuses them: 409 ``document_reviewed``). A reopening lifts
    that until the gold is saved again (an edit or an adoption), which closes it;
    the gold stays in place meanwhile. ``changed_at`` is when an annotation first
    changed after the reopening: from then the document is back in the review
    queue. Written by projects.actions.reopenings and the annotation save, under
    the document's row lock; the rows are the history of the document's locks.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="reopenings")
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reopened_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(null=True, blank=True,
                                      help_text="When an annotation first changed after the reopening.")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="Whose gold save locked the document again.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the document is open.")

    class Meta:
        ordering = ["document_id", "-reopened_at", "-id"]
        constraints = [
            # At most one open reopening per document (also the index the lock check reads).
            models.UniqueConstraint(fields=["document"], condition=Q(closed_at__isnull=True),
                                    name="reopening_one_open_per_document"),
            models.CheckConstraint(condition=Q(closed_at__isnull=False) | Q(closed_by__isnull=True),
                                   name="reopening_closed_by_only_when_closed"),
        ]

    def __str__(self) -> str:
        state = "closed" if self.closed_at else "open"
        return f"document {self.document_id} reopened by {self.reopened_by} ({state})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Span(models.Model):
    # No index of its own: span_unique_key starts with it (one index less to fill per span).
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="spans", db_index=False)
    # The client's id for the span, echoed back so relations and UI state stay stable.
    key = models.CharField(max_length=64)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.ForeignKey(Label, on_delete=models.RESTRICT, related_name="spans")

    class Meta:
        ordering = ["annotation_id", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="span_start_before_end"),
            models.CheckConstraint(condition=Q(start__gte=0), name="span_start_non_negative"),
            models.UniqueConstraint(fields=["annotation", "key"], name="span_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.start}-{self.end} {self.label.name}"


class Relation(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="relations")
    head = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="+")
    tail = models.ForeignKey(Span, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.RESTRICT, related_name="relations")

    class Meta:
        ordering = ["annotation_id", "id"]
        constraints = [models.CheckConstraint(condition=~Q(head=F("tail")), name="relation_head_not_tail")]

    def __str__(self) -> str:
        return f"{self.head_id} -{self.label.name}-> {self.tail_id}"


class Suggestion(models.Model):
    """A span proposed by a model, kept apart from every person's annotation."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="suggestions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="suggestions")
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=100, blank=True, default="")
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="suggestion_start_before_end"),
            models.UniqueConstraint(
                fields=["document", "model", "model_version", "start", "end", "label"], name="suggestion_unique"
            ),
        ]


class DocumentScore(models.Model):
    """One scoring pass's uncertainty for a document: how much a person's answer would teach
    that model version (pipelines.uncertainty says how it is computed). The latest pass is
    also kept on ``Document.uncertainty`` for the queue."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="scores")
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=100, blank=True, default="")
    uncertainty = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "model", "model_version"], name="document_score_unique"),
            models.CheckConstraint(condition=Q(uncertainty__gte=0, uncertainty__lte=1),
                                   name="document_score_in_unit_interval"),
        ]
        indexes = [models.Index(fields=["project", "model", "model_version"], name="document_score_model")]


class SuggestionRejection(models.Model):
    """An annotator's "no" to a suggested span, so it stays hidden for them across reloads.

    Keyed by what was claimed (offsets and label, in code points), not by the
    suggestion row: a model re-run that replaces its rows does not bring back
    a suggestion someone already rejected, and the rejections are negative
    examples for training.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="suggestion_rejections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="rejection_start_before_end"),
            models.UniqueConstraint(fields=["document", "user", "start", "end", "label"], name="rejection_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} rejected {self.start}-{self.end} {self.label_id} on document {self.document_id}"


class Job(models.Model):
    """The truth about long work: status, progress, error and result."""

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"
        PRELABEL = "prelabel", "Pre-label"
        TRAIN = "train", "Train"
        AGREEMENT = "agreement", "Agreement"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="What the job was asked to do.")
    error = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker running this job last said it was alive (every "
        "JOB_HEARTBEAT_SECONDS); a running job silent for JOB_HEARTBEAT_TIMEOUT lost its worker.")
    running_tasks = models.PositiveIntegerField(
        default=0, help_text="Tasks of this job that workers have started and not ended (a killed worker's stays "
        "counted until the job is swept); 0 while its tasks only wait in the queue.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One training per project at a time, whoever starts it (people, the loop) and however
            # often its message is delivered.
            models.UniqueConstraint(fields=["project"], condition=Q(kind="train", status__in=["pending", "running"]),
                                    name="job_one_training_per_project"),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="job_by_project"),
            models.Index(fields=["status"], name="job_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
