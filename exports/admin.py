"""Admin: snapshots (read-only), and the project admin's import and export part."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from exports.models import Snapshot


class ProjectDataAdminMixin:
    """The project admin's *Import a file* and *Export* actions and links (annotator/admin.py composes it)."""

    actions = ["import_file", "export_project"]

    def data_links(self, project):
        return [*super().data_links(project),
                ("Import a file", reverse("admin-project-import", args=[project.pk])),
                ("Export", reverse("admin-project-export", args=[project.pk]))]

    @admin.action(description="Import a file into the selected project")
    def import_file(self, request, queryset):
        return self._one_project(request, queryset, "import into", "admin-project-import")

    @admin.action(description="Export the selected project")
    def export_project(self, request, queryset):
        return self._one_project(request, queryset, "export", "admin-project-export")

    def _one_project(self, request, queryset, what: str, url_name: str):
        if queryset.count() != 1:
            self.message_user(request, f"Select exactly one project to {what}.", level="error")
            return None
        return HttpResponseRedirect(reverse(url_name, args=[queryset.get().pk]))


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

    def has_delete_permission(self, request, obj=None):
        return False  # a snapshot's bytes are promised forever
