"""The reviewers' and admins' pages: the review page and the project dashboard.

The review page is the workspace's modules with a review panel; its data comes
from the REST API. The dashboard is drawn on the server from the same
functions the progress and agreement endpoints answer with.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from rest_framework.exceptions import NotFound, PermissionDenied

from projects.guidelines import render_guidelines
from curation import selectors
from curation.actions import agreement_for
from curation.charts import bar_chart_svg
from projects.access import access_project
from projects.errors import QueueUnavailable
from projects.models import Label
from projects.roles import Role
from projects.serializers import JobSerializer, project_for_page


def _reviewable(request, project_id):
    try:
        project, role = access_project(request.user, project_id, Role.REVIEWER)
    except NotFound:
        raise Http404("No such project.") from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.detail)) from None
    return project, role


@login_required
def review(request, project_id: int):
    project, _ = _reviewable(request, project_id)
    config = {"project": project.pk, "api": reverse("project-list").removesuffix("projects/"), "mode": "review",
              "initial": project_for_page(project, request)}
    return render(request, "curation/review.html", {
        "project": project,
        "config": config,
        "guidelines_html": mark_safe(render_guidelines(project.guidelines)),  # noqa: S308 - sanitised by nh3 (projects/guidelines.py)
    })


def dashboard_context(request, project_id: int) -> dict:
    """What the dashboard shows of this app; the page that composes the apps adds theirs
    (annotator.pages.dashboard: the models' learning curves)."""
    project, role = _reviewable(request, project_id)
    progress = selectors.project_progress(project)
    try:
        agreement, job = agreement_for(project, acting_user=request.user)
    except QueueUnavailable as exc:  # its job failed at once; the next visit tries again
        agreement, job, agreement_error = None, None, exc.detail
    else:
        agreement_error = ""
    colors = dict(Label.objects.filter(project=project, kind=Label.Kind.ENTITY).values_list("name", "color"))
    chart = None
    by_annotator, pairs = {}, []
    if agreement is not None:
        rows = [(label, figures["f1"], colors.get(label, "#8c959f"))
                for label, figures in agreement["spans"]["per_label"].items()]
        chart = mark_safe(bar_chart_svg(rows, title="Span F1 between annotators, per label",  # noqa: S308 - escaped
                                        empty="No document has two submitted annotations yet."))
        by_annotator = {row["annotator"]: row for row in agreement["per_annotator"]}
        kappas = {tuple(row["annotators"]): row["kappa"] for row in agreement["kappa"]}
        pairs = [{"annotators": pair["annotators"], "documents": pair["documents"], "f1": pair["f1"],
                  "kappa": kappas.get(tuple(pair["annotators"]))} for pair in agreement["spans"]["pairs"]]
    documents = progress["documents"]
    total = documents["total"] or 1
    statuses = [(status, label, documents[status], 100 * documents[status] / total)
                for status, label in (("unlabelled", "Unlabelled"), ("in_progress", "In progress"),
                                      ("submitted", "Submitted"), ("reviewed", "Reviewed"))]
    annotators = [{**row, "agreement": by_annotator.get(row["annotator"]),
                   "last_submitted": parse_datetime(row["last_submitted_at"]) if row["last_submitted_at"] else None}
                  for row in progress["annotators"]]
    computed_at = parse_datetime(agreement["computed_at"]) if agreement else None
    return {
        "project": project, "role": role, "progress": progress, "statuses": statuses, "annotators": annotators,
        "agreement": agreement, "computed_at": computed_at, "pairs": pairs, "agreement_job": JobSerializer(job).data if job else None, "agreement_error": agreement_error, "chart": chart,
        "jobs": selectors.last_jobs(project),
    }
