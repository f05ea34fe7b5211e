from collections import defaultdict

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html

from projects.actions.labels import check_label_fields
from projects.actions.projects import EDITABLE_FIELDS, check_project_fields
from projects.actions.assignments import do_assign_documents
from projects.errors import AnnotatorError, InvalidInput
from projects.models import (
    Annotation, Assignment, Document, GoldRevision, Job, Label, Membership, Project, Relation, Span, Suggestion,
    SuggestionRejection,
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


class AssignmentInline(admin.TabularInline):
    """Who holds the document. Read-only: assignments change through actions, which keep the counts."""

    model = Assignment
    extra = 0
    fields = ["annotator", "assigned_by", "created_at", "expires_at", "submitted_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class GoldRevisionInline(admin.TabularInline):
    """The gold's history: who saved which version, when, adopted from whom, spans added and removed."""

    model = GoldRevision
    extra = 0
    fields = ["version", "editor", "action", "from_user", "added", "removed", "created_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False


class AssignForm(forms.Form):
    """The admin action's form: the selected documents go to an annotator, or move from one."""

    annotator = forms.ModelChoiceField(queryset=None, required=False, help_text="Who gets the documents.")
    from_user = forms.ModelChoiceField(
        queryset=None, required=False,
        help_text="Reassign: move this person's unsubmitted assignments. Alone (no annotator): withdraw them.")

    def __init__(self, project, *args, **kwargs):
        super().__init__(*args, **kwargs)
        members = get_user_model().objects.filter(memberships__project=project).order_by("username")
        self.fields["annotator"].queryset = members
        self.fields["from_user"].queryset = get_user_model().objects.filter(
            assignments__project=project).distinct().order_by("username")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("annotator") and not cleaned.get("from_user"):
            raise forms.ValidationError("Choose an annotator, or the person to withdraw the documents from.")
        return cleaned


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "short_text", "status", "assignee_count", "disagreement", "created_at"]
    list_filter = ["status", "project"]
    search_fields = ["text"]
    list_select_related = ["project"]
    readonly_fields = ["content_hash", "created_at", "assignee_count", "disagreement"]
    show_full_result_count = False  # counting a large table on every page is slow
    inlines = [AssignmentInline, GoldRevisionInline]
    actions = ["assign_documents"]

    @admin.display(description="Text")
    def short_text(self, document):
        return document.text[:100]

    @admin.action(description="Assign the selected documents to an annotator…")
    def assign_documents(self, request, queryset):
        projects = list(Project.objects.filter(documents__in=queryset).distinct()[:2])
        if len(projects) != 1:
            self.message_user(request, "Select documents of one project to assign them.", level="error")
            return None
        project = projects[0]
        ids = sorted(queryset.values_list("pk", flat=True))
        form = AssignForm(project, request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            annotator, source = form.cleaned_data["annotator"], form.cleaned_data["from_user"]
            try:
                do_assign_documents(project, ids, acting_user=request.user,
                                    annotator=annotator.username if annotator else None,
                                    from_user=source.username if source else None)
            except AnnotatorError as exc:
                self.message_user(request, exc.detail, level="error")
                return None
            what = f"to {annotator.username}" if annotator else "back to the pool"
            if annotator and source:
                what = f"from {source.username} to {annotator.username}"
            self.message_user(request, f"{len(ids)} document{'s' if len(ids) != 1 else ''} assigned {what}.")
            return None
        return render(request, "projects/admin/assign_documents.html", {
            **self.admin_site.each_context(request), "title": "Assign documents", "form": form,
            "project": project, "ids": ids, "opts": self.model._meta,
        })


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["document", "annotator", "project", "assigned_by", "created_at", "expires_at", "submitted_at"]
    list_filter = ["project", ("submitted_at", admin.EmptyFieldListFilter)]
    search_fields = ["annotator__username"]
    list_select_related = ["document", "annotator", "project", "assigned_by"]
    raw_id_fields = ["document"]
    actions = ["withdraw"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # through the document action or the API, which keep the counts

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # withdrawing (below) keeps Document.assignee_count in step

    @admin.action(description="Withdraw the selected assignments (back to the pool)")
    def withdraw(self, request, queryset):
        groups = defaultdict(list)
        for project_id, username, document_id in queryset.values_list("project_id", "annotator__username",
                                                                      "document_id"):
            groups[project_id, username].append(document_id)
        try:
            for (project_id, username), ids in groups.items():
                do_assign_documents(Project.objects.get(pk=project_id), ids, acting_user=request.user,
                                    from_user=username)
        except AnnotatorError as exc:
            self.message_user(request, exc.detail, level="error")
            return
        self.message_user(request, f"{queryset.count()} assignments withdrawn.")


@admin.register(GoldRevision)
class GoldRevisionAdmin(admin.ModelAdmin):
    list_display = ["document", "version", "editor", "action", "from_user", "changes", "created_at"]
    list_filter = ["action", "document__project"]
    search_fields = ["editor__username", "document__text"]
    list_select_related = ["document", "editor", "from_user"]
    readonly_fields = ["document", "version", "editor", "action", "from_user", "spans", "relations", "added",
                       "removed", "created_at"]

    @admin.display(description="Spans added / removed")
    def changes(self, revision):
        return f"+{len(revision.added)} / -{len(revision.removed)}"

    def has_add_permission(self, request):
        return False  # history is written by the gold actions, never typed in

    def has_change_permission(self, request, obj=None):
        return False


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
