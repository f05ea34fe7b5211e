"""Trained pipelines in storage: one tar archive per version, unpacked once per machine into a local cache.

A version is stored as ``models/<project id>/<name>/v<N>-<random>.tar`` (``projects.storage``: the local
filesystem or the bucket), its SHA-256 and size on its ``TrainedModel`` row, which is written only once the
archive is whole: a training that dies mid-upload leaves no row, so nothing lists it (on S3 a multipart
upload is not even visible before it completes), and the next training of that version deletes what it
left. A process that loads a version fetches it into ``MODEL_CACHE_DIR/<project id>/<name>/v<N>-<sha256
prefix>/``: streamed from storage through tar into a staging folder, checked against the row's SHA-256,
then renamed into place, so a folder in the cache is always whole and verified and is used again by every
later load on that machine. Folders of versions that no longer exist (deleted) are removed when their name
is next fetched.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage

from pipelines import conf
from pipelines.errors import LOAD_FAILED, PipelineError
from pipelines.models import TrainedModel
from projects.storage import open_stored, stored_file


@dataclass(frozen=True)
class StoredArchive:
    path: str  # the storage name
    sha256: str
    size: int


class _Hashing:
    """A binary file (read or write) that hashes every byte passing through it."""

    def __init__(self, inner):
        self.inner, self.digest, self.size = inner, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.inner.write(data)

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def archive_name(project_id: int, name: str, version: int) -> str:
    """A new archive's name: never one that a deleted version's archive, on its way out, still has."""
    return f"models/{project_id}/{name}/v{version}-{secrets.token_hex(4)}.tar"


def remove_leftovers(project_id: int, name: str, version: int) -> None:
    """Delete the archives of ``version`` of ``name``, which no row lists yet: left by a training that died
    between storing its archive and writing its row. Called with the project locked."""
    folder = f"models/{project_id}/{name}"
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in files:
        if file.startswith(f"v{version}-"):
            default_storage.delete(f"{folder}/{file}")


def store_pipeline(folder: Path, name: str) -> StoredArchive:
    """The pipeline ``folder`` as a tar archive stored as ``name``, streamed to storage as it is packed."""
    with stored_file(name) as out:
        hashed = _Hashing(out)
        with tarfile.open(fileobj=hashed, mode="w|") as tar:
            for child in sorted(folder.iterdir()):
                tar.add(child, arcname=child.name)
    return StoredArchive(out.name, hashed.digest.hexdigest(), hashed.size)


def cache_folder(trained: TrainedModel) -> Path:
    """Where this machine keeps ``trained`` unpacked: keyed by project, name, version and archive digest."""
    return conf.model_cache_dir() / str(trained.project_id) / trained.name / f"v{trained.version}-{trained.sha256[:16]}"


def fetch_pipeline(trained: TrainedModel) -> Path:
    """The folder of ``trained`` (a ``TrainedModel``) on this machine: from the cache, or fetched into it once."""
    final = cache_folder(trained)
    if final.is_dir():
        return final
    root = final.parent
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    try:
        try:
            with open_stored(trained.path) as raw:
                hashed = _Hashing(raw)
                with tarfile.open(fileobj=hashed, mode="r|") as tar:
                    tar.extractall(staging, filter="data")  # no member outside the folder, no links out of it
                while hashed.read(1 << 20):  # the archive's end padding, so the digest covers every byte
                    pass
        except (OSError, tarfile.TarError) as exc:
            raise PipelineError(f"could not fetch the trained model {trained.name!r} version {trained.version} "
                                f"from storage ({trained.path}): {exc}", code=LOAD_FAILED) from exc
        if hashed.digest.hexdigest() != trained.sha256:
            raise PipelineError(f"the stored archive of the trained model {trained.name!r} version {trained.version} "
                                f"({trained.path}) is damaged: its SHA-256 is {hashed.digest.hexdigest()}, not "
                                f"{trained.sha256}", code=LOAD_FAILED)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():  # else another thread or process on this machine put it there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    prune_cache(trained)
    return final


def prune_cache(trained: TrainedModel) -> None:
    """Remove the cached folders of ``trained``'s name whose version is gone (deleted, or stored anew)."""
    kept = {cache_folder(t).name for t in TrainedModel.objects.filter(project_id=trained.project_id,
                                                                      name=trained.name)}
    for folder in cache_folder(trained).parent.iterdir():
        if folder.name.startswith("v") and folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)
