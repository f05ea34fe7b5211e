"""What later apps may react to without this app importing them (the loop in ``pipelines.loop``)."""

from django.dispatch import Signal

# Sent once a save that submits an annotation (a person's, or gold), or an import that stored annotations,
# has committed, for projects with a model in the loop (``Project.retrain_every``); arguments: ``project``.
annotation_submitted = Signal()
