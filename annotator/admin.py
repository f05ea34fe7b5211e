"""The project admin, composed from each app's part and registered here, above every app.

``projects`` gives the model admin (saves through its actions), ``exports`` the import and
export links and actions, ``pipelines`` pre-labelling; none of them imports another's admin.
"""

from django.contrib import admin

from exports.admin import ProjectDataAdminMixin
from pipelines.admin import PrelabelProjectAdminMixin
from projects.admin import ProjectAdmin
from projects.models import Project


@admin.register(Project)
class ComposedProjectAdmin(PrelabelProjectAdminMixin, ProjectDataAdminMixin, ProjectAdmin):
    actions = [*ProjectDataAdminMixin.actions, *PrelabelProjectAdminMixin.actions]
