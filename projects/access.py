"""Load-and-authorise in one call.

What a user may not even see (a project they are not in, and everything in it)
is a 404, exactly like a missing object; what they see but may not change is
a 403. Staff act as admins of every project.
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from rest_framework.exceptions import NotFound, PermissionDenied

from projects.models import Document, Job, Membership, Project, Suggestion
from projects.roles import Role


def _with_role(queryset, user):
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return queryset.annotate(user_role=Subquery(role))


def visible_projects(user):
    projects = Project.objects.all()
    if user.is_staff:
        return projects
    return projects.filter(memberships__user=user)


def role_in(project: Project, user) -> Role | None:
    if user.is_staff:
        return Role.ADMIN
    role = getattr(project, "user_role", None)
    if role is None:
        role = Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    return Role(role) if role else None


def check_role(role: Role | None, need: Role, what: str = "project") -> Role:
    if role is None:
        raise NotFound(f"No such {what}.")
    if not role.includes(need):
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role in the project; you are {role.label.lower()}.")
    return role


def access_project(user, project_id, need: Role = Role.ANNOTATOR) -> tuple[Project, Role]:
    project = _with_role(Project.objects.filter(pk=project_id), user).first()
    if project is None:
        raise NotFound("No such project.")
    return project, check_role(role_in(project, user), need)


def access_document(user, document_id, need: Role = Role.ANNOTATOR) -> tuple[Document, Role]:
    role = Membership.objects.filter(project=OuterRef("project_id"), user=user).values("role")[:1]
    document = (
        Document.objects.select_related("project").filter(pk=document_id).annotate(user_role=Subquery(role)).first()
    )
    if document is None:
        raise NotFound("No such document.")
    document.project.user_role = document.user_role
    return document, check_role(role_in(document.project, user), need, what="document")


def access_suggestion(user, suggestion_id, need: Role = Role.ANNOTATOR) -> Suggestion:
    """A suggestion is visible to the members of its document's project."""
    role = Membership.objects.filter(project=OuterRef("document__project_id"), user=user).values("role")[:1]
    suggestion = (
        Suggestion.objects.select_related("document__project", "label").filter(pk=suggestion_id)
        .annotate(user_role=Subquery(role)).first()
    )
    if suggestion is None:
        raise NotFound("No such suggestion.")
    suggestion.document.project.user_role = suggestion.user_role
    check_role(role_in(suggestion.document.project, user), need, what="suggestion")
    return suggestion


def access_job(user, job_id, *, change: bool = False) -> Job:
    """A job is visible to whoever started it and to the reviewers and admins of its project."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    if user.is_staff or job.created_by_id == user.id:
        return job
    role = role_in(job.project, user) if job.project else None
    need = Role.ADMIN if change else Role.REVIEWER
    if role is None or not role.includes(Role.REVIEWER):
        raise NotFound("No such job.")
    check_role(role, need, what="job")
    return job
