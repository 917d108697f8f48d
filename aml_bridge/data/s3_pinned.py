"""S3 objects pinned when they were listed (path, size, ETag, and VersionId on a versioned bucket),
and read or fetched later only if they are still that object.

A parallel step lists its input once, when it is prepared, and its workers read the objects
minutes or hours later: every read names the listed ETag (`If-Match`) and version, so an object
that changed in between fails loudly (`ObjectChangedError`) instead of feeding different data to
the step. Reads go through the backend's client and `RangeReader`; no copy of a listing is held.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ._common import normalize_path
from .s3_backend import S3Backend, S3TransferError, _md5
from .s3_streams import RangeReader

_COPY_CHUNK = 8 << 20
_MB = 1 << 20


class ObjectChangedError(S3TransferError):
    """An object is no longer the one that was listed (its ETag or version differs)."""


@dataclass(frozen=True)
class PinnedObject:
    """One object as listed: datastore-relative path, size, ETag (no quotes), VersionId or None."""

    path: str
    size: int
    etag: str
    version: str | None = None


def iter_pinned(backend: S3Backend, prefix: str = "") -> Iterator[PinnedObject]:
    """The objects at or under `prefix`, page by page in key order; with VersionIds when the bucket
    is versioned (one `list_object_versions` listing instead of `list_objects_v2`)."""
    if not backend._is_versioned():
        for obj in backend.iter_objects(prefix):
            yield PinnedObject(obj.path, obj.size, obj.etag)
        return
    base = backend._key(normalize_path(prefix))
    paginator = backend.client.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=backend.settings.bucket, Prefix=base):
            for item in page.get("Versions", []):
                key = item["Key"]
                if not item.get("IsLatest") or key.endswith("/") or (
                        base and key != base and not key.startswith(base + "/")):
                    continue  # older versions; a deleted object's latest entry is a delete marker
                yield PinnedObject(backend._rel(key), int(item["Size"]), item["ETag"].strip('"'), item["VersionId"])
    except Exception as exc:  # botocore errors, after retries
        raise backend._fail("listing", prefix, exc) from exc


class PinnedReader(RangeReader):
    """`RangeReader` on a listed object: no HEAD, and a changed object raises `ObjectChangedError`."""

    def __init__(self, backend: S3Backend, obj: PinnedObject) -> None:
        super().__init__(backend, obj.path, size=obj.size, etag=obj.etag, version_id=obj.version)
        self._obj = obj

    def readinto(self, buffer: Any) -> int:
        try:
            return super().readinto(buffer)
        except S3TransferError as exc:
            raise _changed(self._backend, self._obj, exc) from exc.__cause__


def open_pinned(backend: S3Backend, obj: PinnedObject, buffer_size: int = 1 << 20) -> IO[bytes]:
    """A seekable stream of the listed object; `buffer_size` 0 gives the raw reader (one GET per read)."""
    raw = PinnedReader(backend, obj)
    return io.BufferedReader(raw, buffer_size=buffer_size) if buffer_size else raw  # type: ignore[return-value]


def fetch_pinned(backend: S3Backend, obj: PinnedObject, dest: str) -> str:
    """Copy the listed object to `dest` (renamed into place when complete, MD5 checked against a
    single-part ETag; from `multipart_threshold_mb` on, in parallel parts); `ObjectChangedError` if
    it changed since it was listed."""
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    if obj.size == 0:  # no byte range to GET: ask whether it is still the same empty object
        _still_there(backend, obj)
    partial = f"{dest}.aml-part"
    check_md5 = backend._md5_checkable(obj.etag)
    try:
        md5 = _fetch(backend, obj, partial, check_md5)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    written = os.path.getsize(partial)
    if written != obj.size or (check_md5 and md5 != obj.etag):
        os.remove(partial)
        raise S3TransferError(f"S3 datastore {backend.name!r}: download of {backend.uri(obj.path)} is incomplete "
                              f"or corrupt ({written} of {obj.size} bytes, or its MD5 differs from the ETag)")
    os.replace(partial, dest)
    return dest


def _fetch(backend: S3Backend, obj: PinnedObject, partial: str, check_md5: bool) -> str:
    """Write the object to `partial`; returns its MD5 (the ETag itself when not checked)."""
    if obj.size >= backend.settings.multipart_threshold_mb * _MB:
        _fetch_parts(backend, obj, partial)
        return _md5(partial) if check_md5 else obj.etag
    digest = hashlib.md5(usedforsecurity=False)
    with PinnedReader(backend, obj) as src, open(partial, "wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _fetch_parts(backend: S3Backend, obj: PinnedObject, partial: str) -> None:
    """A large object as parallel ranged GETs of `multipart_chunksize_mb`, each pinned like the rest,
    written at their offsets."""
    from concurrent.futures import ThreadPoolExecutor

    part = max(1, backend.settings.multipart_chunksize_mb) * _MB
    with open(partial, "wb") as out:
        out.truncate(obj.size)
    fd = os.open(partial, os.O_WRONLY)

    def one(start: int) -> None:
        want = min(part, obj.size - start)
        with PinnedReader(backend, obj) as src:
            src.seek(start)
            data = src.read(want)
        if data is None or len(data) != want:
            raise S3TransferError(f"S3 datastore {backend.name!r}: a part of {backend.uri(obj.path)} came back short")
        os.pwrite(fd, data, start)

    try:
        with ThreadPoolExecutor(max(1, backend.settings.max_concurrency), thread_name_prefix="aml-s3-part") as pool:
            list(pool.map(one, range(0, obj.size, part)))
    finally:
        os.close(fd)


def download_pinned(backend: S3Backend, pairs: list[tuple[PinnedObject, str]]) -> list[str]:
    """Fetch (object, destination) pairs in parallel on the backend's concurrency; the first failure
    cancels the rest and is raised."""
    from concurrent.futures import ThreadPoolExecutor

    if not pairs:
        return []
    workers = max(1, min(len(pairs), backend.settings.max_concurrency))
    with ThreadPoolExecutor(workers, thread_name_prefix="aml-s3-fetch") as pool:
        futures = [pool.submit(fetch_pinned, backend, obj, dest) for obj, dest in pairs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _still_there(backend: S3Backend, obj: PinnedObject) -> None:
    extra = {"VersionId": obj.version} if obj.version else {}
    try:
        backend.client.head_object(Bucket=backend.settings.bucket, Key=backend._key(obj.path),
                                   IfMatch=f'"{obj.etag}"', **extra)
    except Exception as exc:
        raise _changed(backend, obj, backend._fail("reading", obj.path, exc)) from exc


def _changed(backend: S3Backend, obj: PinnedObject, error: S3TransferError) -> S3TransferError:
    """The clear error for a failed precondition (HTTP 412); other failures stay as they were."""
    cause = error.__cause__
    response = getattr(cause, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code not in ("PreconditionFailed", "412") and status != 412:
        return error
    pinned = f"ETag {obj.etag}" + (f", version {obj.version}" if obj.version else "")
    return ObjectChangedError(f"S3 datastore {backend.name!r}: {backend.uri(obj.path)} changed after the step "
                              f"listed it ({pinned}); the mini-batch is not run on different data. Rerun the "
                              "step to read the new content.")


__all__ = ["ObjectChangedError", "PinnedObject", "PinnedReader", "download_pinned", "fetch_pinned", "iter_pinned",
           "open_pinned"]
