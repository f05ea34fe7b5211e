from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from exports.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    """Snapshots are immutable: listed and downloadable, never edited."""

    list_display = ["project", "number", "documents", "note", "created_by", "created"]
    list_filter = ["project"]
    readonly_fields = ["project", "number", "note", "documents", "labels", "created_by", "created", "downloads"]
    exclude = ["files"]

    @admin.display(description="Files (SHA-256)")
    def downloads(self, snapshot):
        return format_html_join(
            "", '<p><a href="{}?format={}">{}</a> <code>{}</code></p>',
            ((reverse("snapshot-export", args=[snapshot.pk]), fmt, info["filename"], info["sha256"])
             for fmt, info in snapshot.files.items()),
        ) or format_html("<p>none</p>")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
