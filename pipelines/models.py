"""Pre-labelling settings per project, trained models, and the chunks of pre-labelling jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Job, Project


class PipelineSettings(models.Model):
    """A project's pattern rules and label mapping; edited in Django admin.

    Kept beside ``Project`` (one to one) so the projects app stays unaware of spaCy.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True,
                                   related_name="pipeline_settings")
    patterns = models.TextField(
        blank=True, default="",
        help_text='Entity ruler patterns, one JSON object a line (spaCy/Prodigy format): '
                  '{"label": "GPE", "pattern": "Homs"} or {"label": "ORG", "pattern": [{"LOWER": "hts"}]}. '
                  'With patterns, the model "rules" is available for pre-labelling.')
    label_map = models.JSONField(
        default=dict, blank=True,
        help_text='Model label to project label, or null to drop it: {"LOC": "GPE", "DATE": null}. '
                  "Labels not listed keep their name when the project has a label of that name, "
                  "and are dropped otherwise.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "pre-labelling settings"
        verbose_name_plural = "pre-labelling settings"

    def __str__(self) -> str:
        return f"Pre-labelling settings of {self.project}"


class TrainedModel(models.Model):
    """One version of a spaCy pipeline trained by a project, stored as one archive (``pipelines.archives``).

    The row is written once the archive is stored whole, so a version that is listed can always be fetched."""

    class Source(models.TextChoices):
        GOLD = "gold", "Gold (reviewed)"
        SUBMITTED = "submitted", "Submitted annotations"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="trained_models")
    name = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="The pipeline's tar archive: its name in storage.")
    sha256 = models.CharField(max_length=64, blank=True, default="",
                              help_text="The archive's SHA-256 (hex), checked when a worker fetches it.")
    size = models.BigIntegerField(default=0, help_text="The archive's size in bytes.")
    components = models.JSONField(default=list, blank=True, help_text="The pipeline's components, in order.")
    base = models.CharField(max_length=200, blank=True, default="",
                            help_text="The pipeline training started from; empty for a blank one.")
    language = models.CharField(max_length=16)
    labels = models.JSONField(default=list, blank=True)
    scores = models.JSONField(default=dict, blank=True,
                              help_text="Precision, recall and F1 on the dev split, overall and per label.")
    trained_on = models.CharField(max_length=16, choices=Source.choices)
    documents = models.JSONField(default=dict, blank=True, help_text="Documents per split.")
    details = models.JSONField(default=dict, blank=True,
                               help_text="How it was trained: epochs, base version, spans left out.")
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="trained_model")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name", "version"], name="trained_model_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="trained_model_version_positive"),
            models.CheckConstraint(condition=Q(trained_on__in=["gold", "submitted"]),
                                   name="trained_model_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.project})"

    @property
    def curve_point(self) -> dict:
        """This version on its name's learning curve: F1 on the dev split against the documents trained on."""
        return {"version": str(self.version), "documents": self.documents.get("train", 0),
                "f": self.scores.get("f"), "trained_on": self.trained_on}


class JobChunk(models.Model):
    """A finished chunk of a pre-labelling job.

    Written in the same transaction as the chunk's suggestions and progress, and
    unique on (job, index): a chunk delivered twice writes once and counts once.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    documents = models.PositiveIntegerField()
    stats = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="job_chunk_unique")]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id}"


def learning_curves(project: Project) -> dict[str, list[dict]]:
    """Each trained model name's learning curve: one point per version, oldest first."""
    curves: dict[str, list[dict]] = {}
    for trained in TrainedModel.objects.filter(project=project).order_by("name", "version"):
        curves.setdefault(trained.name, []).append(trained.curve_point)
    return curves
