"""REST endpoints: parse, authorise (access_*), call one action, serialise."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import (OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema,
                                   inline_serializer)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import selectors
from projects.access import access_document, access_job, access_project, access_suggestion, visible_projects
from projects.actions import annotations as annotation_actions
from projects.actions import assignments as assignment_actions
from projects.actions import documents as document_actions
from projects.actions import jobs as job_actions
from projects.actions import labels as label_actions
from projects.actions import members as member_actions
from projects.actions import projects as project_actions
from projects.actions import suggestions as suggestion_actions
from projects.actions.accounts import do_issue_token
from projects.errors import InvalidInput, LockedOut, over_limit
from projects.inputs import check_input
from projects.lockout import lockout_detail, lockout_seconds
from projects.models import Annotation, Document, Label, Membership, Project
from projects.pagination import PageNumberPagination
from projects.roles import Role
from projects.serializers import (
    AnnotationSerializer,
    AuthTokenRequestSerializer,
    DocumentSerializer,
    JobSerializer,
    LabelSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    ProjectSerializer,
    RelationInSerializer,
    SpanInSerializer,
    TokensSerializer,
    PageTokensField,
)
from projects.tokens import TOKEN_FORMATS, token_page


def annotation_fields() -> dict:
    """The fields of an annotation as the API shows it (fresh ones: a serializer class takes its fields)."""
    return {
        "spans": SpanInSerializer(many=True),
        "relations": RelationInSerializer(many=True),
        "status": serializers.ChoiceField(Annotation.Status.values),
        "version": serializers.IntegerField(help_text="0 before the first save."),
        # Before the first save there is no annotation yet: no annotator, no time.
        "annotator": serializers.CharField(allow_null=True, required=False, help_text="Absent before the first save."),
        "updated_at": serializers.DateTimeField(allow_null=True, required=False,
                                                help_text="Absent before the first save."),
    }


ANNOTATION_RESPONSE = inline_serializer("Annotation", annotation_fields())
# A save refused with 409 answers with the stored annotation, and why.
ANNOTATION_CONFLICT = inline_serializer("AnnotationConflict", {
    **annotation_fields(), "detail": serializers.CharField(), "code": serializers.CharField()})


def annotation_conflict(*codes: str) -> OpenApiResponse:
    return OpenApiResponse(ANNOTATION_CONFLICT, description="Conflict with what is stored (the body is the stored "
                           "annotation, with `detail` and `code`): " + ", ".join(f"`{c}`" for c in codes) + ".")


class AuthTokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    error_statuses = {"POST": (401, 429)}  # wrong credentials; too many failed attempts

    def get_authenticate_header(self, request):
        # Without authentication classes DRF would turn wrong credentials into a 403; they are a 401.
        return "Token"

    @extend_schema(request=AuthTokenRequestSerializer,
                   responses=inline_serializer("AuthToken", {"token": serializers.CharField()}))
    def post(self, request):
        data = AuthTokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # With the request, so the login lockout (django-axes) counts this attempt and refuses a locked-out one.
        user = authenticate(request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if getattr(request, "axes_locked_out", False):
            raise LockedOut(lockout_detail(), retry_after=lockout_seconds())
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        return Response({"token": do_issue_token(user)})


# Projects ---------------------------------------------------------------------------------------

class ProjectListView(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer
    queryset = Project.objects.none()  # for the schema; get_queryset() is what runs

    def get_queryset(self):
        user = self.request.user
        role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
        return visible_projects(user).annotate(user_role=Subquery(role)).order_by("id")

    def perform_create(self, serializer):
        project = project_actions.do_create_project(acting_user=self.request.user, **serializer.validated_data)
        project.user_role = Role.ADMIN
        serializer.instance = project


class ProjectDetailView(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = ProjectSerializer

    def get_object(self):
        need = Role.ANNOTATOR if self.request.method == "GET" else Role.ADMIN
        project, _ = access_project(self.request.user, self.kwargs["project_id"], need)
        return project

    def perform_update(self, serializer):
        project_actions.do_update_project(serializer.instance, acting_user=self.request.user,
                                          **serializer.validated_data)

    def perform_destroy(self, instance):
        project_actions.do_delete_project(instance, acting_user=self.request.user)


# Members ----------------------------------------------------------------------------------------

class MemberListView(generics.ListCreateAPIView):
    serializer_class = MemberSerializer
    queryset = Membership.objects.none()  # for the schema; get_queryset() is what runs

    def get_project(self):
        need = Role.ANNOTATOR if self.request.method == "GET" else Role.ADMIN
        return access_project(self.request.user, self.kwargs["project_id"], need)[0]

    def get_queryset(self):
        return Membership.objects.filter(project=self.get_project()).select_related("user").order_by("user__username")

    def perform_create(self, serializer):
        serializer.instance = member_actions.do_add_member(
            self.get_project(), serializer.validated_data["username"], serializer.validated_data["role"],
            acting_user=self.request.user,
        )


class MemberDetailView(generics.GenericAPIView):
    serializer_class = MemberRoleSerializer

    def get_membership(self, need):
        project, _ = access_project(self.request.user, self.kwargs["project_id"], need)
        check_input(self.kwargs["username"], "username")
        membership = Membership.objects.select_related("user").filter(
            project=project, user__username=self.kwargs["username"]).first()
        if membership is None:
            raise NotFound("No such member.")
        return membership

    @extend_schema(responses=MemberSerializer)
    def get(self, request, project_id, username):
        return Response(MemberSerializer(self.get_membership(Role.ANNOTATOR)).data)

    @extend_schema(responses=MemberSerializer)
    def patch(self, request, project_id, username):
        membership = self.get_membership(Role.ADMIN)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = member_actions.do_change_role(membership, data.validated_data["role"], acting_user=request.user)
        return Response(MemberSerializer(membership).data)

    def delete(self, request, project_id, username):
        member_actions.do_remove_member(self.get_membership(Role.ADMIN), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Labels -----------------------------------------------------------------------------------------

class LabelListView(generics.ListCreateAPIView):
    serializer_class = LabelSerializer
    queryset = Label.objects.none()  # for the schema; get_queryset() is what runs
    pagination_class = None  # a project has tens of labels, and pages need them all at once

    def get_project(self):
        need = Role.ANNOTATOR if self.request.method == "GET" else Role.ADMIN
        return access_project(self.request.user, self.kwargs["project_id"], need)[0]

    def get_queryset(self):
        return selectors.labels_of(self.get_project())

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data["shortcut"] = data.get("shortcut") or ""
        serializer.instance = label_actions.do_create_label(self.get_project(), acting_user=self.request.user, **data)


class LabelDetailView(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = LabelSerializer
    conflicts = {"PUT": ("label_in_use",), "PATCH": ("label_in_use",), "DELETE": ("label_in_use",)}

    def get_object(self):
        need = Role.ANNOTATOR if self.request.method == "GET" else Role.ADMIN
        project, _ = access_project(self.request.user, self.kwargs["project_id"], need)
        label = Label.objects.filter(project=project, pk=self.kwargs["label_id"]).first()
        if label is None:
            raise NotFound("No such label.")
        return label

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "shortcut" in data:
            data["shortcut"] = data["shortcut"] or ""
        label_actions.do_update_label(serializer.instance, acting_user=self.request.user, **data)

    def perform_destroy(self, instance):
        label_actions.do_delete_label(instance, acting_user=self.request.user)


# Documents --------------------------------------------------------------------------------------

# POST takes one document (and answers with it) or a list of them (and answers with the list).
ONE_OR_MANY_DOCUMENTS = PolymorphicProxySerializer(
    component_name="OneOrManyDocuments", serializers=[DocumentSerializer(), DocumentSerializer(many=True)],
    resource_type_field_name=None, many=False)


class DocumentListView(generics.ListCreateAPIView):
    serializer_class = DocumentSerializer
    queryset = Document.objects.none()  # for the schema; get_queryset() is what runs

    def get_project(self):
        need = Role.ANNOTATOR if self.request.method == "GET" else Role.ADMIN
        return access_project(self.request.user, self.kwargs["project_id"], need)[0]

    @extend_schema(parameters=[
        OpenApiParameter("status", enum=Document.Status.values),
        OpenApiParameter("q", description="Only documents whose text contains this (case-insensitive)."),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        documents = (Document.objects.filter(project=self.get_project())
                     .annotate(open_reopening=selectors.open_reopening_exists()).order_by("id"))
        status_filter = self.request.query_params.get("status")
        if status_filter:
            if status_filter not in Document.Status.values:
                raise serializers.ValidationError(
                    {"status": [f"must be one of {', '.join(Document.Status.values)}"]})
            documents = documents.filter(status=status_filter)
        query = self.request.query_params.get("q")
        if query:
            check_input(query, "q")
            documents = documents.filter(text__icontains=query)
        return documents

    @extend_schema(request=ONE_OR_MANY_DOCUMENTS, responses={201: ONE_OR_MANY_DOCUMENTS})
    def post(self, request, project_id):
        project = self.get_project()
        many = isinstance(request.data, list)
        if many and not request.data:
            raise serializers.ValidationError({"detail": "the list of documents is empty"})
        if many and len(request.data) > settings.DOCUMENTS_MAX_PER_POST:
            raise over_limit("DOCUMENTS_MAX_PER_POST", f"{len(request.data):,} documents in one POST; import a "
                             "file (POST .../imports/) for more", code="too_many_documents")
        data = DocumentSerializer(data=request.data, many=many)
        data.is_valid(raise_exception=True)
        items = data.validated_data if many else [data.validated_data]
        documents = document_actions.do_create_documents(project, items, acting_user=request.user)
        body = DocumentSerializer(documents, many=True).data
        return Response(body if many else body[0], status=status.HTTP_201_CREATED)


class DocumentDetailView(generics.RetrieveAPIView):
    serializer_class = DocumentSerializer

    def get_object(self):
        document, _ = access_document(self.request.user, self.kwargs["document_id"])
        if document.project_id != self.kwargs["project_id"]:
            raise NotFound("No such document.")
        return document


TOKEN_FORMAT_PARAMETER = OpenApiParameter("format", str, enum=list(TOKEN_FORMATS), description=(
    "`compact`: `tokens` as parallel arrays `{\"gap\", \"length\", \"ws\"}` rather than a token per object (about a "
    "sixth of the size): a token starts `gap` code points after the previous token of the page ends (the first "
    "token: after 0) and is `length` long; `ws` is 1 when one space follows it; its text is the document's "
    "`text[start:end]` and its index `offset` + its place in the page. `next` keeps the format."))


def parse_token_format(request) -> str | None:
    """``?format=compact`` (``projects.tokens.TokenPage``); None when absent; anything else is a 400 naming it."""
    value = request.query_params.get("format")
    if value is None or value == "":
        return None
    if value not in TOKEN_FORMATS:
        raise serializers.ValidationError({"format": [f"one of {', '.join(TOKEN_FORMATS)}, or none for a token per "
                                                      "object"]})
    return value


class DocumentTokensView(DocumentDetailView):
    """A page of the document's tokens: ``?offset=`` (default 0) and ``?limit=`` (default and at most
    ``TOKENS_PAGE_SIZE``, large enough that most documents come whole); ``next`` is the next page's URL."""

    serializer_class = TokensSerializer

    @extend_schema(parameters=[
        OpenApiParameter("offset", int, description="The index of the first token to give (default 0)."),
        OpenApiParameter("limit", int, description="How many tokens to give at most (default and maximum: the "
                                                   "server's TOKENS_PAGE_SIZE, 50,000 unless set)."),
        TOKEN_FORMAT_PARAMETER,
    ])
    def get(self, request, project_id, document_id):
        document = self.get_object()
        token_format = parse_token_format(request)
        offset = parse_count(request.query_params.get("offset"), "offset", default=0)
        limit = parse_count(request.query_params.get("limit"), "limit", default=settings.TOKENS_PAGE_SIZE)
        if limit < 1:
            raise serializers.ValidationError({"limit": ["at least 1"]})
        if limit > settings.TOKENS_PAGE_SIZE:
            raise over_limit("TOKENS_PAGE_SIZE", f"limit: {limit:,} tokens asked for", code="limit_too_large",
                             error=InvalidInput)
        page = token_page(document, offset, limit)
        given = "limit" in request.query_params
        following = (None if page.rest is None else request.build_absolute_uri(
            selectors.tokens_url(document, page.rest, limit if given else None, token_format)))
        return Response({"tokens": page.as_format(token_format), "count": page.count, "offset": offset,
                         "next": following})


# Annotating -------------------------------------------------------------------------------------

WORKSPACE_BUNDLE = inline_serializer("NextDocument", {
    "document": DocumentSerializer(), "tokens": PageTokensField(help_text="The first page of tokens."),
    "tokens_count": serializers.IntegerField(help_text="How many tokens the document has."),
    "tokens_next": serializers.CharField(allow_null=True, help_text="Where the rest of the tokens are (the "
                                         "tokens endpoint with ?offset=), or null when `tokens` has them all."),
    "annotation": ANNOTATION_RESPONSE, "suggestions": serializers.ListField(child=serializers.DictField()),
})


def workspace_bundle(document: Document, user, token_format: str | None) -> dict:
    """One document as the workspace shows it: the document, the first page of its tokens, the user's
    annotation and the suggestions they have not rejected (/next/, and a document opened by id)."""
    # Nobody has started an unlabelled document (its status is kept in step with its
    # annotations under its row lock), so there is no annotation of theirs to look up.
    mine = None if document.status == Document.Status.UNLABELLED else selectors.annotation_of(document, user)
    return {
        "document": DocumentSerializer(document).data,
        **selectors.bundle_tokens(document, token_format),  # "tokens" (the first page), "tokens_count", "tokens_next"
        "annotation": selectors.serialize_annotation(mine),
        "suggestions": selectors.suggestions_for(document, user),
    }


class NextDocumentView(APIView):
    @extend_schema(parameters=[
        OpenApiParameter("skip", description="Comma-separated document ids to pass over (documents left for later)."),
        TOKEN_FORMAT_PARAMETER,
    ], responses={200: WORKSPACE_BUNDLE, 204: None})
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id)
        skip = parse_id_list(request.query_params.get("skip", ""), "skip")
        token_format = parse_token_format(request)
        document = assignment_actions.do_take_next_document(project, request.user, skip=skip)
        if document is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        document.project = project
        return Response(workspace_bundle(document, request.user, token_format))


class DocumentBundleView(APIView):
    """One document as /next/ gives it (the document, its first page of tokens, your annotation, the
    suggestions you have not rejected), in one request and without taking it from the queue: what the
    workspace opens for Back and a ``#document=`` link."""

    @extend_schema(parameters=[TOKEN_FORMAT_PARAMETER], responses=WORKSPACE_BUNDLE)
    def get(self, request, project_id, document_id):
        document, _ = access_document(request.user, document_id)
        if document.project_id != project_id:
            raise NotFound("No such document.")
        token_format = parse_token_format(request)
        return Response(workspace_bundle(document, request.user, token_format))


class MyDocumentsView(APIView):
    """The requesting user's own view of a project: where they stand, and their documents to go back to."""

    pagination_class = PageNumberPagination

    @extend_schema(parameters=[OpenApiParameter("document", int, description="Also say this document's number "
                                                                                  "among yours (in `number`).")],
                   responses=inline_serializer("MyDocuments", {
        "number": serializers.IntegerField(allow_null=True, required=False,
                                           help_text="Only with ?document=: its number among yours."),
        "counts": inline_serializer("MyCounts", {
            "submitted": serializers.IntegerField(), "in_progress": serializers.IntegerField(),
            "reviewed": serializers.IntegerField(),
            "left": serializers.IntegerField(help_text="What the queue can still give you: your unsubmitted "
                                                        "documents and the free places on open documents."),
        }),
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": inline_serializer("MyDocument", {
            "id": serializers.IntegerField(),
            "number": serializers.IntegerField(help_text="Its place among your documents, in the order you got them."),
            "preview": serializers.CharField(), "status": serializers.ChoiceField(["in_progress", "submitted",
                                                                                    "reviewed"]),
            "locked": serializers.BooleanField(help_text="Reviewed and not reopened: your annotation is read-only."),
            "assigned": serializers.BooleanField(help_text="An admin assigned it to you."),
        }, many=True),
    }))
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id)
        paginator = self.pagination_class()
        rows = selectors.my_documents(project, request.user)
        page = paginator.paginate_queryset(rows, request, view=self)
        first = paginator.page.start_index()
        results = [selectors.my_document_row(first + i, row) for i, row in enumerate(page)]
        response = paginator.get_paginated_response(results)
        response.data = {"counts": selectors.my_counts(project, request.user), **response.data}
        if "document" in request.query_params:
            ids = parse_id_list(request.query_params["document"], "document")
            number = selectors.my_number(project, request.user, ids[0]) if ids else None
            response.data = {"number": number, **response.data}
        return response


def parse_count(value: str | None, name: str, *, default: int) -> int:
    """A query parameter that counts (0 or more); ``default`` when absent; else a 400 naming it."""
    if value is None or value == "":
        return default
    if not value.isdecimal() or not value.isascii():
        raise serializers.ValidationError({name: ["a whole number, 0 or more"]})
    return int(value)


def parse_id_list(value: str, name: str) -> list[int]:
    """``"12,15"`` -> ``[12, 15]``; anything else is a 400 naming the parameter."""
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise serializers.ValidationError({name: ["a comma-separated list of document ids, e.g. 12,15"]}) from None


def parse_score(value: str | None, name: str) -> float | None:
    """``"0.8"`` -> ``0.8``; None when absent; anything but a number from 0 to 1 is a 400 naming the parameter."""
    if value is None or value == "":
        return None
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 1:
        raise serializers.ValidationError({name: ["a number from 0 to 1, e.g. 0.8"]})
    return score


class AnnotationView(APIView):
    conflicts = {"PUT": ("version_conflict", "document_reviewed", "document_full")}

    @extend_schema(responses=ANNOTATION_RESPONSE)
    def get(self, request, document_id):
        document, _ = access_document(request.user, document_id)
        return Response(selectors.serialize_annotation(selectors.annotation_of(document, request.user)))

    @extend_schema(request=AnnotationSerializer,
                   responses={200: ANNOTATION_RESPONSE, 409: annotation_conflict(*conflicts["PUT"])})
    def put(self, request, document_id):
        document, _ = access_document(request.user, document_id)
        data = AnnotationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stored = annotation_actions.do_save_annotation(document, request.user, **data.to_records())
        return Response(stored)


SUGGESTION_FIELDS = {
    "id": serializers.IntegerField(), "start": serializers.IntegerField(), "end": serializers.IntegerField(),
    "label": serializers.CharField(), "model": serializers.CharField(), "model_version": serializers.CharField(),
    "score": serializers.FloatField(allow_null=True),
}


class DocumentSuggestionsView(APIView):
    """A document's suggestions for the requesting user (what /next/ gives, for any document)."""

    @extend_schema(responses=inline_serializer("Suggestions", {
        "suggestions": inline_serializer("Suggestion", SUGGESTION_FIELDS, many=True)}), parameters=[
        OpenApiParameter("min_score", float, description="Only suggestions whose score is at least this (0 to 1); "
                                                         "suggestions without a score are left out.")])
    def get(self, request, project_id, document_id):
        document, _ = access_document(request.user, document_id)
        if document.project_id != project_id:
            raise NotFound("No such document.")
        suggestions = selectors.suggestions_for(document, request.user)
        min_score = parse_score(request.query_params.get("min_score"), "min_score")
        if min_score is not None:
            suggestions = [s for s in suggestions if s["score"] is not None and s["score"] >= min_score]
        return Response({"suggestions": suggestions})


class SuggestionRejectionView(APIView):
    """PUT: the requesting user rejects a suggestion (it is hidden for them); DELETE takes that back."""

    @extend_schema(request=None, responses={204: None})
    def put(self, request, suggestion_id):
        suggestion = access_suggestion(request.user, suggestion_id)
        suggestion_actions.do_reject_suggestion(suggestion, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={204: None})
    def delete(self, request, suggestion_id):
        suggestion = access_suggestion(request.user, suggestion_id)
        suggestion_actions.do_unreject_suggestion(suggestion, acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentAnnotationsView(APIView):
    @extend_schema(responses=type(ANNOTATION_RESPONSE)(many=True))
    def get(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        return Response(selectors.annotations_of_document(document))


# Jobs -------------------------------------------------------------------------------------------

class JobDetailView(generics.RetrieveAPIView):
    serializer_class = JobSerializer

    def get_object(self):
        job_actions.sweep_lost_jobs()  # a job whose worker died reads as failed (or sent again), never as running
        return access_job(self.request.user, self.kwargs["job_id"])


class JobCancelView(APIView):
    conflicts = {"POST": ("job_finished",)}

    @extend_schema(request=None, responses=JobSerializer)
    def post(self, request, job_id):
        job = access_job(request.user, job_id, change=True)
        return Response(JobSerializer(job_actions.do_cancel_job(job, acting_user=request.user)).data)
