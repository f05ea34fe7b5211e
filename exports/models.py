from django.conf import settings
from django.db import models


class Snapshot(models.Model):
    """An immutable, numbered version of a project's gold set, with one stored file per format."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="snapshots")
    number = models.PositiveIntegerField()
    note = models.TextField(blank=True, default="")
    documents = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list, help_text="The project's labels when the snapshot was taken.")
    # {format: {"path": storage name, "sha256": hex, "size": bytes, "filename": str}}
    files = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="snapshot_unique_number")]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"

    @property
    def sha256(self) -> dict:
        return {name: info["sha256"] for name, info in self.files.items()}
