"""Admin: pattern rules and label mapping per project, trained models, and a *Pre-label* page for projects.

The project admin gains a *Pre-label* action, its page (which links to the
project's pre-labelling settings) and a link in the project list: a mixin that
annotator/admin.py composes into the project admin (``projects`` imports no
later app).
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from pipelines.actions import do_delete_trained_model, do_save_pipeline_settings, do_start_prelabel
from pipelines.errors import PipelineError
from pipelines.models import PipelineSettings, TrainedModel
from pipelines.prelabel import check_label_map
from pipelines.registry import available_models
from pipelines.rules import parse_patterns
from projects.errors import AnnotatorError
from projects.models import Label, Project


class PipelineSettingsForm(forms.ModelForm):
    """The same checks as pre-labelling makes: patterns line by line, mapping onto entity labels."""

    class Meta:
        model = PipelineSettings
        fields = ["patterns", "label_map"]
        widgets = {"patterns": forms.Textarea(attrs={"rows": 8, "cols": 100, "style": "font-family: monospace"})}

    def clean_patterns(self):
        patterns = self.cleaned_data.get("patterns") or ""
        try:
            parse_patterns(patterns)
        except PipelineError as exc:
            raise forms.ValidationError(exc.detail, code=exc.code) from None
        return patterns

    def clean_label_map(self):
        label_map = self.cleaned_data.get("label_map")
        if label_map in (None, ""):
            return {}
        project_id = getattr(self.instance, "project_id", None)
        labels = (Label.objects.filter(project_id=project_id, kind=Label.Kind.ENTITY).values_list("name", flat=True)
                  if project_id else None)
        try:
            check_label_map(label_map, labels if labels is not None else [])
        except PipelineError as exc:
            if labels is not None:
                raise forms.ValidationError(exc.detail, code=exc.code) from None
            if not isinstance(label_map, dict):  # a new project has no labels yet: check the shape only
                raise forms.ValidationError(exc.detail, code=exc.code) from None
        return label_map


@admin.register(PipelineSettings)
class PipelineSettingsAdmin(admin.ModelAdmin):
    form = PipelineSettingsForm
    list_display = ["project", "pattern_count", "label_map", "updated_at"]
    search_fields = ["project__name"]
    autocomplete_fields = ["project"]

    def get_fields(self, request, obj=None):
        return ["project", "patterns", "label_map"] if obj is None else ["patterns", "label_map"]

    def save_model(self, request, obj, form, change):
        stored = do_save_pipeline_settings(obj.project, patterns=form.cleaned_data.get("patterns") or "",
                                           label_map=form.cleaned_data.get("label_map") or {},
                                           acting_user=request.user)
        obj.pk = stored.pk
        obj._state.adding = False

    @admin.display(description="Patterns")
    def pattern_count(self, settings):
        return sum(1 for line in settings.patterns.splitlines() if line.strip())


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    """Trained versions are written by training jobs; here they are read, and deleted with their archive."""

    list_display = ["name", "version", "project", "trained_on", "f_score", "base", "created_by", "created"]
    list_filter = ["project", "trained_on"]
    search_fields = ["name", "project__name"]
    readonly_fields = ["project", "name", "version", "path", "sha256", "size", "components", "base", "language",
                       "labels", "scores", "trained_on", "documents", "details", "job", "created_by", "created"]

    @admin.display(description="F1 (dev)")
    def f_score(self, trained):
        return (trained.scores or {}).get("f")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        do_delete_trained_model(obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for trained in queryset:
            do_delete_trained_model(trained, acting_user=request.user)


# ------------------------------------------------------------------------------ the project admin, extended

class PrelabelForm(forms.Form):
    model = forms.ChoiceField(help_text="Models with an entity recognizer or rules.")
    documents = forms.CharField(required=False, help_text="Document ids, separated by commas or spaces; "
                                                          "all documents when empty.")

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [
            (info.name, f"{info.name} ({info.source}, version {info.version}; {', '.join(info.labels) or 'no labels'})")
            for info in available_models(project) if info.has_ner
        ]

    def clean_documents(self):
        value = self.cleaned_data.get("documents", "").strip()
        if not value:
            return None
        parts = [p for p in re.split(r"[\s,]+", value) if p]
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError("document ids are whole numbers, separated by commas or spaces")
        return [int(p) for p in parts]


def admin_prelabel(request, project_id):
    project = get_object_or_404(Project, pk=project_id)
    form = PrelabelForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            job = do_start_prelabel(project, model=form.cleaned_data["model"],
                                    documents=form.cleaned_data["documents"], acting_user=request.user)
        except AnnotatorError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.info(request, f"Pre-labelling job #{job.pk} started.")
            return redirect(reverse("admin:projects_job_change", args=[job.pk]))
    if PipelineSettings.objects.filter(project=project).exists():
        settings_url = reverse("admin:pipelines_pipelinesettings_change", args=[project.pk])
    else:
        settings_url = reverse("admin:pipelines_pipelinesettings_add") + f"?project={project.pk}"
    context = {**admin.site.each_context(request), "title": f"Pre-label {project}", "project": project,
               "form": form, "opts": Project._meta, "settings_url": settings_url}
    return render(request, "admin/pipelines/prelabel.html", context)


class PrelabelProjectAdminMixin:
    """The project admin's *Pre-label* action, page and link (annotator/admin.py composes it).

    No inline for the pipeline settings: it would make every post of the project form (scripts
    included) carry its formset; the Pre-label page links to them instead.
    """

    actions = ["prelabel"]

    def get_urls(self):
        extra = [path("<int:project_id>/prelabel/", self.admin_site.admin_view(admin_prelabel),
                      name="projects_project_prelabel")]
        return extra + super().get_urls()

    def data_links(self, project):
        return [*super().data_links(project), ("Pre-label", reverse("admin:projects_project_prelabel",
                                                                    args=[project.pk]))]

    @admin.action(description="Pre-label the selected project with a model")
    def prelabel(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one project to pre-label.", level="error")
            return None
        return HttpResponseRedirect(reverse("admin:projects_project_prelabel", args=[queryset.get().pk]))
