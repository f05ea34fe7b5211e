"""Admin pages for imports (and, later, exports), wrapped by admin.site.admin_view."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from exports.formats import IMPORT_FORMATS
from exports.views import start_import
from projects.models import Project


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=[(name, name) for name in IMPORT_FORMATS], initial="jsonl")
    create_labels = forms.BooleanField(required=False, help_text="Create labels the file names but the project lacks.")
    skip_duplicates = forms.BooleanField(required=False, initial=True,
                                         help_text="Skip documents whose text is already in the project.")


def admin_import(request, project_id):
    project = get_object_or_404(Project, pk=project_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = start_import(
            project, form.cleaned_data["file"], fmt=form.cleaned_data["format"],
            create_labels=form.cleaned_data["create_labels"], skip_duplicates=form.cleaned_data["skip_duplicates"],
            acting_user=request.user,
        )
        messages.info(request, f"Import job #{job.pk} started.")
        return redirect(reverse("admin:projects_job_change", args=[job.pk]))
    context = {**admin.site.each_context(request), "title": f"Import into {project}", "project": project,
               "form": form, "opts": Project._meta}
    return render(request, "admin/exports/import.html", context)
