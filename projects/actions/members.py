from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from projects.errors import InvalidInput
from projects.models import Membership, Project
from projects.roles import Role


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"username: no user is called {username!r}", code="unknown_user")
    return user


def _check_role(role: str) -> Role:
    if role not in Role.values:
        raise InvalidInput(f"role: {role!r} is not one of {', '.join(Role.values)}", code="invalid_role")
    return Role(role)


@transaction.atomic
def do_add_member(project: Project, username: str, role: str, *, acting_user) -> Membership:
    role = _check_role(role)
    user = _user(username)
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError:
        raise InvalidInput(f"username: {username!r} is already a member; PATCH the member to change the role",
                           code="already_member") from None


def _check_not_last_admin(membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(project_id=membership.project_id, role=Role.ADMIN)
    if len(admins) <= 1:
        raise InvalidInput("a project needs at least one admin; make someone else admin first", code="last_admin")


@transaction.atomic
def do_change_role(membership: Membership, role: str, *, acting_user) -> Membership:
    role = _check_role(role)
    if role != Role.ADMIN:
        _check_not_last_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def do_remove_member(membership: Membership, *, acting_user) -> None:
    _check_not_last_admin(membership)
    membership.delete()
