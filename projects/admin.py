from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from projects.actions.labels import check_label_fields
from projects.actions.projects import EDITABLE_FIELDS, check_project_fields
from projects.errors import InvalidInput
from projects.models import (
    Annotation, Document, Job, Label, Membership, Project, Relation, Span, Suggestion, SuggestionRejection,
)


class ProjectAdminForm(forms.ModelForm):
    """The same field rules as the API (a spaCy language code, splits adding up to 1)."""

    def clean(self):
        cleaned = super().clean()
        try:
            check_project_fields({k: v for k, v in cleaned.items() if k in EDITABLE_FIELDS and v is not None})
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None
        return cleaned


class LabelAdminForm(forms.ModelForm):
    """The same field rules as the API (no whitespace in names, #rrggbb colours, one-key shortcuts)."""

    def clean(self):
        cleaned = super().clean()
        try:
            check_label_fields({k: v for k, v in cleaned.items() if k in ("name", "kind", "color", "shortcut")})
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None
        return cleaned


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class LabelInline(admin.TabularInline):
    model = Label
    form = LabelAdminForm
    extra = 1
    fields = ["name", "kind", "color", "shortcut"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["name", "language", "annotators_per_document", "allow_overlapping_spans", "created_at",
                    "import_link"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, LabelInline]
    actions = ["import_file", "export_project"]
    fieldsets = [
        (None, {"fields": ["name", "description", "language", "allow_overlapping_spans", "annotators_per_document"]}),
        ("Guidelines", {"fields": ["guidelines"]}),
        ("Dataset split", {"fields": ["split_train", "split_dev", "split_test", "split_seed"],
                           "classes": ["collapse"]}),
    ]

    @admin.display(description="Data")
    def import_link(self, project):
        return format_html('<a href="{}">Import a file</a> · <a href="{}">Export</a>',
                           reverse("admin-project-import", args=[project.pk]),
                           reverse("admin-project-export", args=[project.pk]))

    @admin.action(description="Import a file into the selected project")
    def import_file(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one project to import into.", level="error")
            return None
        return HttpResponseRedirect(reverse("admin-project-import", args=[queryset.get().pk]))

    @admin.action(description="Export the selected project")
    def export_project(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one project to export.", level="error")
            return None
        return HttpResponseRedirect(reverse("admin-project-export", args=[queryset.get().pk]))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    form = LabelAdminForm
    list_display = ["name", "kind", "project", "color", "shortcut"]
    list_filter = ["kind", "project"]
    search_fields = ["name"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "short_text", "status", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["text"]
    list_select_related = ["project"]
    readonly_fields = ["content_hash", "created_at"]
    show_full_result_count = False  # counting a large table on every page is slow

    @admin.display(description="Text")
    def short_text(self, document):
        return document.text[:100]


class SpanInline(admin.TabularInline):
    model = Span
    extra = 0
    fields = ["key", "start", "end", "label", "covered_text"]
    readonly_fields = ["covered_text"]

    @admin.display(description="Text")
    def covered_text(self, span):
        return span.annotation.document.text[span.start:span.end] if span.pk else ""


class RelationInline(admin.TabularInline):
    model = Relation
    extra = 0
    fk_name = "annotation"
    raw_id_fields = ["head", "tail"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "annotator", "is_gold", "status", "version", "updated_at"]
    list_filter = ["status", "is_gold", "document__project"]
    search_fields = ["annotator__username", "document__text"]
    raw_id_fields = ["document"]
    list_select_related = ["document", "annotator"]
    inlines = [SpanInline, RelationInline]


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["document", "start", "end", "label", "model", "model_version", "score"]
    list_filter = ["model"]
    raw_id_fields = ["document"]


@admin.register(SuggestionRejection)
class SuggestionRejectionAdmin(admin.ModelAdmin):
    list_display = ["document", "user", "start", "end", "label", "created_at"]
    list_filter = ["label__project"]
    raw_id_fields = ["document", "user"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "status", "progress", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status", "project"]
    readonly_fields = ["kind", "project", "status", "progress_done", "progress_total", "params", "error", "result",
                       "created_by", "created_at", "started_at", "finished_at"]

    @admin.display(description="Progress")
    def progress(self, job):
        from projects.actions.jobs import live_progress

        done, total = live_progress(job)
        return f"{done} / {total}" if total else str(done)

    def has_add_permission(self, request):
        return False  # jobs are started by actions, never typed in
