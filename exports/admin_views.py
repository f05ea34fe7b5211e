"""Admin pages for imports and exports, wrapped by admin.site.admin_view."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from exports.actions import do_start_import, spooled_export
from exports.collect import SOURCES
from exports.formats import EXPORT_FORMATS, IMPORT_FORMATS, check_reader_options
from exports.splits import SPLITS
from exports.views import file_response
from projects.errors import QueueUnavailable, TooLarge
from projects.models import Project


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=[(name, name) for name in IMPORT_FORMATS], initial="jsonl")
    create_labels = forms.BooleanField(required=False, help_text="Create labels the file names but the project lacks.")
    skip_duplicates = forms.BooleanField(required=False, initial=True,
                                         help_text="Skip documents whose text is already in the project.")
    annotations_as = forms.ChoiceField(choices=[("submitted", "my submitted annotation"), ("gold", "reviewed gold")],
                                       initial="submitted", help_text="What the file's spans become.")
    documents = forms.ChoiceField(
        choices=[("", "auto: at -DOCSTART- lines if the file has any, else one per sentence"),
                 ("docstart", "at each -DOCSTART- line"), ("sentence", "one per sentence")],
        required=False, label="Documents", help_text="CoNLL files only: where a document starts.")

    def clean(self):
        data = super().clean()
        if not data.get("documents"):
            data.pop("documents", None)  # not given: the reader's default (auto)
        elif data.get("format"):
            for name, message in check_reader_options(data["format"], ["documents"]).items():
                self.add_error(name, message)
        return data


def admin_import(request, project_id):
    project = get_object_or_404(Project, pk=project_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        options = dict(form.cleaned_data)
        try:
            job = do_start_import(project, options.pop("file"), fmt=options.pop("format"), acting_user=request.user,
                                  **options)
        except (QueueUnavailable, TooLarge) as exc:  # the job has failed at once, or the file is too large
            form.add_error(None, exc.detail)
        else:
            messages.info(request, f"Import job #{job.pk} started.")
            return redirect(reverse("admin:projects_job_change", args=[job.pk]))
    context = {**admin.site.each_context(request), "title": f"Import into {project}", "project": project,
               "form": form, "opts": Project._meta}
    return render(request, "admin/exports/import.html", context)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(name, name) for name in EXPORT_FORMATS], initial="spacy")
    source = forms.ChoiceField(choices=[(name, name) for name in SOURCES], initial="gold")
    split = forms.ChoiceField(choices=[("", "all")] + [(name, name) for name in SPLITS], required=False)
    scheme = forms.ChoiceField(choices=[("iob2", "IOB2"), ("biluo", "BILUO")], initial="iob2",
                               help_text="CoNLL tag scheme.")


def admin_export(request, project_id):
    """Download an export straight from admin (large projects too: the file is spooled to disk)."""
    project = get_object_or_404(Project, pk=project_id)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        spool, info = spooled_export(project, fmt=data["format"], source=data["source"],
                                     split=data["split"] or None, scheme=data["scheme"])
        return file_response(spool, filename=info.filename, fmt=info.format, sha256=info.sha256)
    context = {**admin.site.each_context(request), "title": f"Export {project}", "project": project,
               "form": form, "opts": Project._meta}
    return render(request, "admin/exports/export.html", context)
