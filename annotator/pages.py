"""The annotators' HTML pages. Data comes from the REST API; pages only frame it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from rest_framework.exceptions import NotFound

from curation import pages as curation_pages
from curation.charts import line_chart_svg
from pipelines.models import learning_curves
from projects.guidelines import render_guidelines
from projects.access import access_project, visible_projects
from projects.models import Annotation, Membership
from projects.roles import Role
from projects.serializers import project_for_page


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
    curating = {Role.REVIEWER, Role.ADMIN}
    rows = [{"project": p, "done": done.get(p.pk, 0), "curates": user.is_staff or p.user_role in curating}
            for p in projects]
    return render(request, "annotator/home.html", {"rows": rows})


@login_required
def annotate(request, project_id: int):
    """The annotation workspace. Its script reads and writes everything through the REST API."""
    try:
        project, _ = access_project(request.user, project_id)
    except NotFound:
        raise Http404("No such project.") from None
    config = {"project": project.pk, "api": reverse("project-list").removesuffix("projects/"),
              # /next/ says 204 when nothing is left and when there is nothing at all: this tells them apart.
              "empty": not project.documents.exists(), "initial": project_for_page(project, request)}
    return render(request, "annotator/annotate.html", {
        "project": project,
        "config": config,
        "guidelines_html": mark_safe(render_guidelines(project.guidelines)),  # noqa: S308 - sanitised by nh3 (projects/guidelines.py)
    })


CURVE_COLORS = ("#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#57606a")


@login_required
def dashboard(request, project_id: int):
    """The curation dashboard with the models' learning curves (pipelines) below the agreement."""
    context = curation_pages.dashboard_context(request, project_id)
    chart = learning_curve_chart(learning_curves(context["project"]))
    return render(request, "annotator/dashboard.html", {**context, "learning_curve_chart": mark_safe(chart)})  # noqa: S308 - escaped


def learning_curve_chart(curves: dict[str, list[dict]]) -> str:
    """The SVG of the models' learning curves (``pipelines.models.learning_curves``), a line per model name."""
    series = [(name, CURVE_COLORS[i % len(CURVE_COLORS)],
               [(point["documents"], point["f"], f"v{point['version']}") for point in points])
              for i, (name, points) in enumerate(sorted(curves.items()))]
    return line_chart_svg(series, title="Learning curves: dev F1 per model version", x_label="documents trained on",
                          y_label="F1", empty="No model trained yet.")
