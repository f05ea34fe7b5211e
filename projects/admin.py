"""Django admin: a write path like any other. Every save and delete goes through the owner's actions
(projects.actions), so the API's rules hold here too; rows that other actions write are read-only."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.html import format_html_join

from projects import token_columns
from projects.actions.assignments import do_assign_documents
from projects.actions.documents import (
    check_document_fields,
    do_create_documents,
    do_delete_documents,
    do_update_document_meta,
)
from projects.actions.jobs import live_progress, sweep_lost_jobs
from projects.actions.labels import check_label_fields, do_create_label, do_delete_label, do_update_label
from projects.actions.members import do_add_member, do_change_role, do_remove_member
from projects.actions.projects import (
    EDITABLE_FIELDS,
    check_project_fields,
    check_project_update,
    do_create_project,
    do_delete_project,
    do_update_project,
)
from projects.errors import AnnotatorError
from projects.models import (
    Annotation, Assignment, Document, GoldRevision, Job, Label, Membership, Project, Relation, Reopening, Span,
    Suggestion, SuggestionRejection,
)
from projects.roles import Role


class ActionAdmin(admin.ModelAdmin):
    """A model admin whose writes go through the owner's actions.

    Forms run the actions' own checks (``check_*``), so their errors show on
    the form; should an action still refuse when it runs (a race with another
    writer), the whole save rolls back (Django admin saves in one transaction)
    and the page says why instead of answering 500.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AnnotatorError as exc:
            self.message_user(request, f"Nothing was saved: {exc.detail}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except AnnotatorError as exc:
            self.message_user(request, f"Nothing was deleted: {exc.detail}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_queryset(self, request, queryset):
        """The changelist's bulk delete: each row through ``delete_model`` (the owner's action)."""
        for obj in queryset:
            self.delete_model(request, obj)

    def get_deleted_objects(self, objs, request):
        """What goes with the row is the action's to decide (a document takes its annotations), so
        rows that are read-only here do not make the deletion need a permission to delete them."""
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return to_delete, model_count, set(), protected

    def changelist_view(self, request, extra_context=None):
        try:  # the bulk delete action
            return super().changelist_view(request, extra_context)
        except AnnotatorError as exc:
            self.message_user(request, f"Nothing was deleted: {exc.detail}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _form_errors(checks):
    """Run ``checks()`` (an action's checks); their InvalidInput becomes the form's error."""
    try:
        checks()
    except AnnotatorError as exc:
        raise forms.ValidationError(exc.detail, code=exc.code) from None


def _saved_as(obj, stored) -> None:
    """Make the admin's unsaved ``obj`` the row an action stored (inlines and the redirect use its pk)."""
    obj.pk = stored.pk
    obj._state.adding = False
    obj._state.db = stored._state.db


class ProjectAdminForm(forms.ModelForm):
    """The API's rules: field checks on a new project, and on a change everything do_update_project
    checks (the language of a project with spans, overlaps a project already has...)."""

    def clean(self):
        cleaned = super().clean()
        fields = {k: v for k, v in cleaned.items() if k in EDITABLE_FIELDS and v is not None}
        if self.instance.pk is None:
            _form_errors(lambda: check_project_fields(fields))
        else:
            stored = Project.objects.get(pk=self.instance.pk)
            _form_errors(lambda: check_project_update(stored, {k: fields[k] for k in self.changed_data if k in fields}))
        return cleaned


class LabelAdminForm(forms.ModelForm):
    """The API's rules (no whitespace in names, #rrggbb colours, one-key shortcuts no command uses)."""

    def clean(self):
        cleaned = super().clean()
        _form_errors(lambda: check_label_fields(
            {k: v for k, v in cleaned.items() if k in ("name", "kind", "color", "shortcut")}))
        return cleaned


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.forms:
            if form.instance.pk and "user" in form.changed_data:
                raise forms.ValidationError("a member row stays with its user: remove it and add another",
                                            code="member_user_changed")
        if self.instance.pk is None:
            return  # whoever creates the project is its admin
        roles = {form.instance.pk: form.cleaned_data.get("role") for form in self.forms
                 if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.pk}
        new_admins = [form for form in self.forms if form.cleaned_data and not form.instance.pk
                      and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("role") == Role.ADMIN]
        kept = Membership.objects.filter(project=self.instance).exclude(
            pk__in=[form.instance.pk for form in self.deleted_forms if form.instance.pk])
        if not new_admins and not any(roles.get(pk, role) == Role.ADMIN for pk, role in kept.values_list("pk", "role")):
            raise forms.ValidationError("a project needs at least one admin; make someone else admin first",
                                        code="last_admin")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "role"]


class LabelInline(admin.TabularInline):
    model = Label
    form = LabelAdminForm
    extra = 1
    fields = ["name", "kind", "color", "shortcut"]


class ProjectAdmin(ActionAdmin):
    """Projects, their members and labels, saved through projects.actions.

    Not registered here: annotator/admin.py registers it with the parts the
    later apps add (import and export links, pre-labelling), since projects
    imports none of them. Those parts add entries to ``data_links``.
    """

    form = ProjectAdminForm
    list_display = ["name", "language", "annotators_per_document", "allow_overlapping_spans", "created_at",
                    "links"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, LabelInline]
    fieldsets = [
        (None, {"fields": ["name", "description", "language", "allow_overlapping_spans", "annotators_per_document",
                           "overlap_sample"]}),
        ("Model in the loop", {"fields": ["queue_order", "uncertainty_sampling", "retrain_every", "retrain_model"]}),
        ("Guidelines", {"fields": ["guidelines"]}),
        ("Dataset split", {"fields": ["split_train", "split_dev", "split_test", "split_seed"],
                           "classes": ["collapse"]}),
    ]

    def data_links(self, project) -> list[tuple[str, str]]:
        """(text, url) links shown in the project list; the later apps' parts add theirs."""
        return []

    @admin.display(description="Data")
    def links(self, project):
        return format_html_join(" · ", '<a href="{}">{}</a>', ((url, text) for text, url in self.data_links(project)))

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.cleaned_data}
        if not change:
            _saved_as(obj, do_create_project(acting_user=request.user, **fields))
            return
        changed = {name: fields[name] for name in form.changed_data if name in fields}
        if changed:
            do_update_project(Project.objects.get(pk=obj.pk), acting_user=request.user, **changed)

    def save_formset(self, request, form, formset, change):
        """Each inline row through its action (what ``formset.save()`` would do by hand), recording
        what changed the way ``formset.save()`` does, for the admin's history message."""
        project = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and inline_form.instance.pk is None:
                continue  # an empty extra row
            stored = inline_form.instance if inline_form.instance.pk else None
            data = inline_form.cleaned_data
            if formset.model is Membership:
                self._save_member(request, project, stored, data, inline_form)
            elif formset.model is Label:
                self._save_label(request, project, stored, data, inline_form)
            if data.get("DELETE"):
                if stored is not None:
                    formset.deleted_objects.append(stored)
            elif stored is None:
                formset.new_objects.append(inline_form.instance)
            elif inline_form.changed_data:
                formset.changed_objects.append((stored, inline_form.changed_data))

    @staticmethod
    def _save_member(request, project, stored, data, inline_form):
        if stored is not None:
            membership = Membership.objects.get(pk=stored.pk)
            if data.get("DELETE"):
                do_remove_member(membership, acting_user=request.user)
            elif "role" in inline_form.changed_data:
                do_change_role(membership, data["role"], acting_user=request.user)
        elif not data.get("DELETE"):
            existing = Membership.objects.filter(project=project, user=data["user"]).first()
            if existing is not None:  # the creator, made admin by do_create_project
                do_change_role(existing, data["role"], acting_user=request.user)
            else:
                do_add_member(project, data["user"].username, data["role"], acting_user=request.user)

    @staticmethod
    def _save_label(request, project, stored, data, inline_form):
        fields = {k: data.get(k) or "" for k in ("name", "kind", "color", "shortcut")}
        if stored is None:
            if not data.get("DELETE"):
                do_create_label(project, acting_user=request.user, **fields)
        elif data.get("DELETE"):
            do_delete_label(Label.objects.get(pk=stored.pk), acting_user=request.user)
        elif inline_form.changed_data:
            do_update_label(Label.objects.get(pk=stored.pk), acting_user=request.user,
                            **{k: fields[k] for k in inline_form.changed_data if k in fields})

    def delete_model(self, request, obj):
        do_delete_project(obj, acting_user=request.user)


@admin.register(Membership)
class MembershipAdmin(ActionAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "project"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            do_change_role(Membership.objects.get(pk=obj.pk), obj.role, acting_user=request.user)
        else:
            _saved_as(obj, do_add_member(obj.project, obj.user.username, obj.role, acting_user=request.user))

    def delete_model(self, request, obj):
        do_remove_member(obj, acting_user=request.user)


@admin.register(Label)
class LabelAdmin(ActionAdmin):
    form = LabelAdminForm
    list_display = ["name", "kind", "project", "color", "shortcut"]
    list_filter = ["kind", "project"]
    search_fields = ["name"]
    fields = ["project", "name", "kind", "color", "shortcut"]

    def get_readonly_fields(self, request, obj=None):
        return ["project"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        fields = {k: form.cleaned_data.get(k) or "" for k in ("name", "kind", "color", "shortcut")}
        if change:
            do_update_label(Label.objects.get(pk=obj.pk), acting_user=request.user,
                            **{k: fields[k] for k in form.changed_data if k in fields})
        else:
            _saved_as(obj, do_create_label(obj.project, acting_user=request.user, **fields))

    def delete_model(self, request, obj):
        do_delete_label(obj, acting_user=request.user)


class AssignmentInline(admin.TabularInline):
    """Who holds the document. Read-only: assignments change through actions, which keep the counts."""

    model = Assignment
    extra = 0
    fields = ["annotator", "assigned_by", "created_at", "expires_at", "submitted_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
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

    def has_change_permission(self, request, obj=None):
        return False


class ReopeningInline(admin.TabularInline):
    """The document's review locks: who reopened it for its annotators and when, and whose gold save closed it."""

    model = Reopening
    extra = 0
    fields = ["reopened_by", "reopened_at", "changed_at", "closed_by", "closed_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-reopened_at", "-id"]
    verbose_name_plural = "Reopenings (review locks lifted)"

    def has_add_permission(self, request, obj=None):
        return False  # reopened by reviewers (API, review page), closed by gold saves


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


class DocumentAdminForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["project", "text", "meta"]

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("text", self.instance.text)
        _form_errors(lambda: check_document_fields(None, text, cleaned.get("meta"), stored=bool(self.instance.pk)))
        return cleaned


@admin.register(Document)
class DocumentAdmin(ActionAdmin):
    """A document's text, project and tokens never change once stored (delete it and import again);
    its status and counts follow its annotations. Only meta is edited here; new documents are stored
    with their tokens by do_create_documents, deletions go through do_delete_documents."""

    form = DocumentAdminForm
    # Few, narrow columns beside the text, which takes the room they leave and ends in "…" (admin_documents.css):
    # at 1400 px, next to the sidebar and the filters, status and counts stay in view.
    list_display = ["id", "short_text", "project", "status", "annotators", "disagreement"]
    list_filter = ["status", "project"]
    search_fields = ["text"]
    list_select_related = ["project"]
    show_full_result_count = False  # counting a large table on every page is slow
    inlines = [AssignmentInline, GoldRevisionInline, ReopeningInline]
    actions = ["assign_documents"]
    DERIVED = ["content_hash", "status", "assignee_count", "disagreement", "tokens_from", "created_at"]

    def get_fields(self, request, obj=None):
        return ["project", "text", "meta"] + (self.DERIVED if obj is not None else [])

    def get_readonly_fields(self, request, obj=None):
        return ["project", "text", *self.DERIVED] if obj is not None else []

    class Media:
        css = {"all": ["projects/admin_documents.css"]}

    @admin.display(description="Text")
    def short_text(self, document):
        return document.text[:300]

    @admin.display(description="Annotators", ordering="assignee_count")
    def annotators(self, document):
        return document.assignee_count

    @admin.display(description="Tokens")
    def tokens_from(self, document):
        if document.tokens is None:
            return "not stored (tokenized when read)"
        if token_columns.file_columns(document.tokens, document.text) is not None:
            return "the file's own"
        key = bytes(document.tokens[:32]).partition(b"\n")[0].decode("ascii", "replace")
        return f"the {key} tokenizer's"

    def save_model(self, request, obj, form, change):
        if change:
            do_update_document_meta(Document.objects.get(pk=obj.pk), form.cleaned_data.get("meta"),
                                    acting_user=request.user)
        else:
            [stored] = do_create_documents(obj.project, [{"text": obj.text, "meta": obj.meta}],
                                           acting_user=request.user)
            _saved_as(obj, stored)

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # read-only inlines

    def delete_model(self, request, obj):
        do_delete_documents(obj.project, [obj.pk], acting_user=request.user)

    def delete_queryset(self, request, queryset):
        by_project = defaultdict(list)
        for project_id, pk in queryset.values_list("project_id", "pk"):
            by_project[project_id].append(pk)
        for project in Project.objects.filter(pk__in=by_project):
            do_delete_documents(project, by_project[project.pk], acting_user=request.user)

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that their own actions write (annotations through the annotation save, suggestions by
    pre-labelling, rejections in the workspace, jobs by the job pipeline, gold history with the gold):
    shown, never typed in or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
class GoldRevisionAdmin(ReadOnlyAdmin):
    list_display = ["document", "version", "editor", "action", "from_user", "changes", "created_at"]
    list_filter = ["action", "document__project"]
    search_fields = ["editor__username", "document__text"]
    list_select_related = ["document", "editor", "from_user"]

    @admin.display(description="Spans added / removed")
    def changes(self, revision):
        return f"+{len(revision.added)} / -{len(revision.removed)}"


class SpanInline(ReadOnlyInline):
    model = Span
    fields = ["key", "start", "end", "label", "covered_text"]
    readonly_fields = fields

    @admin.display(description="Text")
    def covered_text(self, span):
        return span.annotation.document.text[span.start:span.end] if span.pk else ""


class RelationInline(ReadOnlyInline):
    model = Relation
    fk_name = "annotation"
    fields = ["head", "tail", "label"]
    readonly_fields = fields


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    """Annotations change in the workspace and through the API (versioned, checked against the tokens)."""

    list_display = ["id", "document", "annotator", "is_gold", "status", "version", "updated_at"]
    list_filter = ["status", "is_gold", "document__project"]
    search_fields = ["annotator__username", "document__text"]
    list_select_related = ["document", "annotator"]
    inlines = [SpanInline, RelationInline]


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdmin):
    list_display = ["document", "start", "end", "label", "model", "model_version", "score"]
    list_filter = ["model"]


@admin.register(SuggestionRejection)
class SuggestionRejectionAdmin(ReadOnlyAdmin):
    list_display = ["document", "user", "start", "end", "label", "created_at"]
    list_filter = ["label__project"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "project", "status", "progress", "created_by", "created_at", "heartbeat_at",
                    "finished_at", "error"]
    list_filter = ["kind", "status", "project"]

    def changelist_view(self, request, extra_context=None):
        sweep_lost_jobs()  # a job whose worker died is listed failed (code worker_lost), not running
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        sweep_lost_jobs()
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Progress")
    def progress(self, job):
        done, total = live_progress(job)
        return f"{done} / {total}" if total else str(done)
