"""What a project can pre-label with, and where each model comes from.

Four sources, looked up in this order when a name is resolved:

- ``rules``: the project's pattern rules (an entity ruler), when it has patterns;
- models trained by the project (``TrainedModel``), the latest version unless one is named (described by
  their rows; ``pipelines.archives`` fetches one from storage when it is loaded);
- folders under ``SPACY_MODEL_DIRS`` whose subfolders are spaCy pipelines, named by folder name;
- pipeline packages installed in the environment, from spaCy's own registry
  (``spacy.util.get_installed_models()``).

Listing reads each pipeline's ``meta.json`` and ``config.cfg``, never its weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.util import load_config, load_meta

from pipelines import conf
from pipelines.errors import UNKNOWN_MODEL, PipelineError
from pipelines.models import PipelineSettings, TrainedModel
from pipelines.rules import parse_patterns, pattern_labels, patterns_version
from projects.models import Project

logger = logging.getLogger(__name__)

RULES = "rules"
# Factories whose components set doc.ents.
NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler", "future_entity_ruler"})


class Source:
    RULES = "rules"
    TRAINED = "trained"
    DIRECTORY = "directory"
    PACKAGE = "package"


@dataclass(frozen=True)
class ModelInfo:
    """One model as the registry sees it; ``location`` is a package name, a folder, a trained version's archive
    in storage, or the rules' hash."""

    name: str
    source: str
    version: str
    language: str
    labels: tuple[str, ...]
    has_ner: bool
    components: tuple[str, ...] = ()
    location: str = ""
    stamp: int = 0  # a folder's config.cfg mtime, so a replaced pipeline is loaded afresh
    digest: str = ""  # a trained version's archive SHA-256, so a version stored anew is loaded afresh
    patterns: tuple = field(default=(), compare=False, repr=False)
    trained: TrainedModel | None = field(default=None, compare=False, repr=False)
    versions: tuple = field(default=(), compare=False, repr=False)  # every TrainedModel of this name

    @property
    def cache_key(self) -> tuple:
        return (self.source, self.location, self.version, self.stamp, self.digest)


# ------------------------------------------------------------------------------ reading pipelines

def describe_folder(path: Path) -> tuple[str, str, tuple[str, ...], bool, tuple[str, ...]]:
    """``(version, language, entity labels, has_ner, components)`` of a saved pipeline folder."""
    config = path / "config.cfg"
    return _describe_cached(str(path), config.stat().st_mtime_ns if config.exists() else 0)


@lru_cache(maxsize=256)
def _describe_cached(path: str, _mtime: int):
    folder = Path(path)
    meta = load_meta(folder / "meta.json") if (folder / "meta.json").exists() else {}
    factories: dict[str, str] = {}
    pipeline = list(meta.get("pipeline") or [])
    if (folder / "config.cfg").exists():
        config = load_config(folder / "config.cfg", interpolate=False)
        pipeline = list(config.get("nlp", {}).get("pipeline", pipeline))
        for name, component in config.get("components", {}).items():
            # A sourced component has no factory; its source component's name usually says it ("ner").
            factories[name] = component.get("factory") or component.get("component") or name
    entity_components = [name for name in pipeline if factories.get(name, name) in NER_FACTORIES]
    labels = sorted({label for name in entity_components for label in (meta.get("labels") or {}).get(name, [])})
    return (str(meta.get("version") or "0.0.0"), str(meta.get("lang") or ""), tuple(labels),
            bool(entity_components), tuple(pipeline))


def is_pipeline_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.cfg").is_file() and (path / "meta.json").is_file()


def directory_models() -> list[ModelInfo]:
    models = []
    for root in conf.spacy_model_dirs():
        if not root.is_dir():
            logger.warning("SPACY_MODEL_DIRS names %s, which is not a folder", root)
            continue
        for folder in sorted(root.iterdir()):
            if not is_pipeline_folder(folder):
                continue
            try:
                version, language, labels, has_ner, components = describe_folder(folder)
            except Exception:  # a broken folder must not hide the others
                logger.exception("cannot read the pipeline in %s", folder)
                continue
            models.append(ModelInfo(folder.name, Source.DIRECTORY, version, language, labels, has_ner, components,
                                    location=str(folder.resolve()),
                                    stamp=(folder / "config.cfg").stat().st_mtime_ns))
    return models


def package_folder(name: str) -> Path:
    """The data folder of an installed pipeline package (``<package>/<name>-<version>/``), or the package itself."""
    package = spacy.util.get_package_path(name)
    for candidate in sorted(package.glob(f"{name}-*"), reverse=True):
        if is_pipeline_folder(candidate):
            return candidate
    return package


def package_models() -> list[ModelInfo]:
    models = []
    for name in sorted(spacy.util.get_installed_models()):
        try:
            version, language, labels, has_ner, components = describe_folder(package_folder(name))
            # The package's own meta.json (what its load() uses) names the version it was packaged as.
            package_meta = spacy.util.get_package_path(name) / "meta.json"
            if package_meta.exists():
                version = str(load_meta(package_meta).get("version") or version)
        except Exception:
            logger.exception("cannot read the installed pipeline package %s", name)
            continue
        version = spacy.util.get_package_version(name) or version
        models.append(ModelInfo(name, Source.PACKAGE, version, language, labels, has_ner, components,
                                location=name))
    return models


def trained_models(project: Project) -> list[ModelInfo]:
    """One entry per trained name (its latest version), each with all its versions."""
    by_name: dict[str, list[TrainedModel]] = {}
    trained_rows = TrainedModel.objects.filter(project=project).select_related("created_by")
    for trained in trained_rows.order_by("name", "version"):
        by_name.setdefault(trained.name, []).append(trained)
    return [trained_info(versions[-1], versions) for versions in by_name.values()]


def trained_info(trained: TrainedModel, versions=()) -> ModelInfo:
    """A trained version as the registry sees it, from its row alone (its archive is fetched when loaded)."""
    return ModelInfo(trained.name, Source.TRAINED, str(trained.version), trained.language, tuple(trained.labels),
                     True, tuple(trained.components) or ("ner",), location=trained.path, digest=trained.sha256,
                     trained=trained, versions=tuple(versions))


def project_patterns(project: Project) -> list[dict]:
    text = PipelineSettings.objects.filter(project=project).values_list("patterns", flat=True).first() or ""
    return parse_patterns(text)


def label_map_of(project: Project) -> dict:
    return PipelineSettings.objects.filter(project=project).values_list("label_map", flat=True).first() or {}


def rules_model(project: Project) -> ModelInfo | None:
    patterns = project_patterns(project)
    if not patterns:
        return None
    version = patterns_version(patterns)
    return ModelInfo(RULES, Source.RULES, version, project.language, tuple(pattern_labels(patterns)), True,
                     ("entity_ruler",), location=f"{project.pk}:{version}", patterns=tuple(patterns))


# ------------------------------------------------------------------------------ the registry

def available_models(project: Project) -> list[ModelInfo]:
    """Every model the project can use, each name once (the first source in lookup order wins)."""
    seen: set[str] = set()
    models = []
    try:
        rules = rules_model(project)
    except PipelineError:  # broken patterns are reported when someone uses them, not here
        rules = None
    for info in [*([rules] if rules else []), *trained_models(project), *directory_models(), *package_models()]:
        if info.name not in seen:
            seen.add(info.name)
            models.append(info)
    return models


def external_model_names() -> set[str]:
    """Names taken by registered folders and installed packages (a trained model may not reuse them)."""
    return {info.name for info in directory_models()} | set(spacy.util.get_installed_models())


def resolve_model(project: Project, name: str, version: str | None = None) -> ModelInfo:
    """The model ``name`` (at ``version`` if given) as the project sees it; PipelineError ``unknown_model`` if none."""
    version = str(version) if version not in (None, "") else None
    if name == RULES:
        rules = rules_model(project)
        if rules is None:
            raise PipelineError("the model 'rules' needs pattern rules, and this project has none "
                                "(add them in Django admin: Pre-labelling settings)", code=UNKNOWN_MODEL)
        return _check_version(rules, version)
    trained = list(TrainedModel.objects.filter(project=project, name=name).select_related("created_by")
                   .order_by("version"))
    if trained:
        if version is None:
            return trained_info(trained[-1], trained)
        for candidate in trained:
            if str(candidate.version) == version.removeprefix("v"):
                return trained_info(candidate, trained)
        raise PipelineError(f"the model {name!r} has no version {version!r}; it has "
                            f"{', '.join(str(t.version) for t in trained)}", code=UNKNOWN_MODEL)
    for info in directory_models():
        if info.name == name:
            return _check_version(info, version)
    if name in spacy.util.get_installed_models():
        for info in package_models():
            if info.name == name:
                return _check_version(info, version)
    names = [info.name for info in available_models(project)]
    raise PipelineError(
        f"unknown model {name!r}: it is not an installed spaCy pipeline package, a pipeline folder under "
        f"SPACY_MODEL_DIRS, a model trained by this project, or 'rules'. Available: "
        f"{', '.join(names) if names else 'none'}", code=UNKNOWN_MODEL)


def _check_version(info: ModelInfo, version: str | None) -> ModelInfo:
    if version is not None and version != info.version:
        raise PipelineError(f"the model {info.name!r} is version {info.version!r}, not {version!r}",
                            code=UNKNOWN_MODEL)
    return info
