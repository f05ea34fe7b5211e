"""The annotators' HTML pages. Data comes from the REST API; pages only frame it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import render

from projects.access import visible_projects
from projects.models import Annotation, Membership


@login_required
def home(request):
    user = request.user
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    projects = (
        visible_projects(user)
        .annotate(
            user_role=Subquery(role),
            document_count=Count("documents", distinct=True),
        )
        .order_by("name")
    )
    done = dict(
        Annotation.objects.filter(annotator=user, is_gold=False, status=Annotation.Status.SUBMITTED)
        .values_list("document__project").annotate(n=Count("id")).values_list("document__project", "n")
    )
    rows = [{"project": p, "done": done.get(p.pk, 0)} for p in projects]
    return render(request, "annotator/home.html", {"rows": rows})


