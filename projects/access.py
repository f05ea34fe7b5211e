"""Load-and-authorise in one call.

What a user may not even see (a project they are not in, and everything in it)
is a 404, exactly like a missing object; what they see but may not change is
a 403. Staff act as admins of every project.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import OuterRef, Subquery
from rest_framework.exceptions import NotFound, PermissionDenied

from projects.models import Document, Job, Membership, Project, Suggestion
from projects.roles import Role
from projects.sql import column, columns, table


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
    row = _fetch_one(_sql()["project"], [user.pk, _id(project_id)])
    if row is None:
        raise NotFound("No such project.")
    project = _load(Project, row)
    project.user_role = row[-1]
    return project, check_role(role_in(project, user), need)


def access_document(user, document_id, need: Role = Role.ANNOTATOR) -> tuple[Document, Role]:
    row = _fetch_one(_sql()["document"], [user.pk, _id(document_id)])
    if row is None:
        raise NotFound("No such document.")
    document = _load(Document, row)
    document.project = project = _load(Project, row[len(Document._meta.concrete_fields):])
    project.user_role = row[-1]
    return document, check_role(role_in(project, user), need, what="document")


# The two loaders every annotating request runs, as SQL that SQLite and PostgreSQL both read: the ORM
# spends over a millisecond of CPU compiling their join and role subquery on each request, this a tenth
# of it. Rows become model instances with the converters the ORM would apply (_load).

@cache
def _sql() -> dict[str, str]:
    project_id, document_id = column(Project, "pk", "p"), column(Document, "pk", "d")
    role = (f"(SELECT {column(Membership, 'role', 'm')} FROM {table(Membership)} m "
            f"WHERE {column(Membership, 'project', 'm')} = {project_id} AND {column(Membership, 'user', 'm')} = %s)")
    return {
        "project": f"SELECT {columns(Project, alias='p')}, {role} FROM {table(Project)} p WHERE {project_id} = %s",
        "document": f"SELECT {columns(Document, alias='d')}, {columns(Project, alias='p')}, {role} "
                    f"FROM {table(Document)} d INNER JOIN {table(Project)} p ON {project_id} = "
                    f"{column(Document, 'project', 'd')} WHERE {document_id} = %s",
    }


@cache
def _converters(model) -> list[tuple[str, object, list]]:
    """Per concrete field: its attribute name, its column expression and the ORM's converters for it."""
    out = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        out.append((field.attname, col,
                    connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return out


def _load(model, row):
    names, values = [], []
    for (name, col, converters), value in zip(_converters(model), row, strict=False):
        for converter in converters:
            value = converter(value, col, connection)
        names.append(name)
        values.append(value)
    return model.from_db(connection.alias, names, values)


def _fetch_one(sql: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # the role subquery's user first, then the id
        return cursor.fetchone()


def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound("No such object.") from None


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
