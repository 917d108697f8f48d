"""`S3Backend`: a datastore in an S3 bucket/prefix, through boto3 (imported on first use only).

Transfers run in parallel: small files as single requests on a thread pool, large ones through
s3transfer's `TransferManager` (boto3 `TransferConfig`: parallel multipart parts; a download is at
most `max_concurrency` ranges, see `S3Backend`). Content is checked
by botocore's flexible checksums (a CRC32 on every upload request, which S3 verifies; the object's
checksum validated on every whole-object GET); only what botocore cannot check gets our own MD5
against a single-part ETag. Sizes are checked against the bucket listing, and a failed batch upload
removes what it wrote (best effort). Retries are botocore's `standard` mode, so 500s, SlowDown and
dropped connections are retried with backoff. Reads are streamed with ranged GETs (seekable, so Parquet works too).
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ..errors import UserErrorException
from ..settings import WorkspaceConfig
from ._common import join_path, normalize_path
from .s3_credentials import session_kwargs
from .s3_streams import KnownObject, RangeReader, Writer

_MB = 1 << 20
_READ_BUFFER = 8 * _MB
_Item = tuple[str, str, int, str]  # (local file, key, size, listed ETag or "" for uploads)


class S3TransferError(UserErrorException):
    """An S3 operation failed after botocore's retries; names the datastore location, never credentials."""


@dataclass(frozen=True)
class S3Object:
    """One listed object: datastore-relative path, size, ETag (quotes stripped)."""

    path: str
    size: int
    etag: str


@dataclass(frozen=True)
class S3Settings:
    """What the workspace config / `Datastore.register_s3` says about an S3 datastore (no secrets)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    max_attempts: int = 8
    max_concurrency: int = 16
    multipart_threshold_mb: int = 16
    multipart_chunksize_mb: int = 8
    verify_etag: bool = True

    @staticmethod
    def from_spec(name: str, spec: dict[str, Any]) -> S3Settings:
        if not spec.get("bucket"):
            raise UserErrorException(f"S3 datastore {name!r} needs a 'bucket'")
        known = {k: spec[k] for k in S3Settings.__dataclass_fields__ if k in spec}
        known["prefix"] = normalize_path(known.get("prefix"))
        return S3Settings(**known)


class S3Backend:
    """A datastore under `s3://bucket/prefix`; "mount" is download-before / upload-after.

    Part sizes: an upload's parts are `multipart_chunksize_mb`; a large download's ranged GETs are
    `download_part_size(size)` = max(multipart_chunksize_mb, ceil(size / max_concurrency)), rounded
    up to a whole MB: one object is at most `max_concurrency` ranges (one per thread), not
    size / chunksize of them: the same parallelism, fewer GET requests (S3 bills per request).
    """

    def __init__(self, name: str, settings: S3Settings, workspace: WorkspaceConfig, spec: dict[str, Any]) -> None:
        self.name = name
        self.settings = settings
        self._workspace = workspace
        self._spec = spec
        self._client: Any = None
        self._lock = threading.Lock()
        self._versioned: bool | None = None

    def __repr__(self) -> str:
        return f"S3Backend({self.uri()!r})"

    # --- plumbing -----------------------------------------------------------------------

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                kwargs = session_kwargs(self._workspace, self._spec)
                endpoint = self.settings.endpoint_url or kwargs.pop("endpoint_url", None)
                kwargs.pop("endpoint_url", None)
                session = boto3.Session(**kwargs)
                # Checksums pinned on (not left to AWS_*_CHECKSUM_* env): they are the content check.
                config = Config(retries={"mode": "standard", "max_attempts": self.settings.max_attempts},
                                max_pool_connections=max(10, self.settings.max_concurrency + 4),
                                request_checksum_calculation="when_supported",
                                response_checksum_validation="when_supported")
                self._client = session.client("s3", endpoint_url=endpoint,
                                              region_name=self.settings.region or session.region_name or "us-east-1",
                                              config=config)
            return self._client

    def transfer_config(self, chunksize: int | None = None) -> Any:
        """boto3 `TransferConfig` from the settings; `chunksize` (bytes) overrides the part size."""
        from boto3.s3.transfer import TransferConfig

        s = self.settings
        return TransferConfig(multipart_threshold=s.multipart_threshold_mb * _MB, max_concurrency=s.max_concurrency,
                              multipart_chunksize=chunksize or s.multipart_chunksize_mb * _MB, use_threads=True)

    def download_part_size(self, size: int) -> int:
        """Ranged-GET size for downloading an object of `size` bytes: `multipart_chunksize_mb`, or
        more (rounded up to a whole MB) so the object is at most `max_concurrency` ranges."""
        s = self.settings
        part = max(s.multipart_chunksize_mb * _MB, -(-size // max(1, s.max_concurrency)))
        return -(-part // _MB) * _MB

    def _key(self, path: str) -> str:
        return join_path(self.settings.prefix, path)

    def _rel(self, key: str) -> str:
        cut = len(self.settings.prefix) + 1 if self.settings.prefix else 0
        return key[cut:]

    def _fail(self, action: str, path: str, exc: BaseException) -> S3TransferError:
        return S3TransferError(f"S3 datastore {self.name!r}: {action} {self.uri(path)} failed after retries: "
                               f"{type(exc).__name__}: {exc}")

    # --- protocol -----------------------------------------------------------------------

    def uri(self, path: str = "") -> str:
        key = self._key(path)
        return f"s3://{self.settings.bucket}/{key}" if key else f"s3://{self.settings.bucket}"

    def local_path(self, path: str) -> str | None:
        return None

    def iter_objects(self, prefix: str = "") -> Iterator[S3Object]:
        """The objects at or under `prefix`, page by page (key order), without holding the listing."""
        base = self._key(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=base):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith("/") or (base and key != base and not key.startswith(base + "/")):
                        continue
                    yield S3Object(self._rel(key), int(item["Size"]), item["ETag"].strip('"'))
        except Exception as exc:  # botocore errors, after retries
            raise self._fail("listing", prefix, exc) from exc

    def _stat(self, paths: builtins.list[str]) -> dict[str, S3Object]:
        """The listed objects among `paths`: one non-recursive listing per distinct parent folder,
        so checking a few files never lists a whole datastore."""
        folders = sorted({p.rpartition("/")[0] for p in paths})
        wanted, found = set(paths), {}
        paginator = self.client.get_paginator("list_objects_v2")
        for folder in folders:
            base = self._key(folder)
            try:
                for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=f"{base}/" if base else "",
                                               Delimiter="/"):
                    for item in page.get("Contents", []):
                        path = self._rel(item["Key"])
                        if path in wanted:
                            found[path] = S3Object(path, int(item["Size"]), item["ETag"].strip('"'))
            except Exception as exc:  # botocore errors, after retries
                raise self._fail("listing", folder, exc) from exc
        return found

    def list(self, prefix: str = "") -> builtins.list[str]:
        return sorted(o.path for o in self.iter_objects(prefix))

    def exists(self, path: str) -> bool:
        return next(iter(self.iter_objects(path)), None) is not None

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        if mode == "rb":
            return io.BufferedReader(RangeReader(self, path), buffer_size=_READ_BUFFER)  # type: ignore[arg-type]
        if mode in ("wb", "xb"):
            return Writer(self, path, exclusive=mode == "xb")
        raise UserErrorException(f"Unsupported open mode {mode!r}; use 'rb', 'wb' or 'xb'")

    def upload_file(self, local_path: str, path: str, overwrite: bool = False) -> bool:
        return bool(self.upload_files([(local_path, path)], overwrite))

    def upload_dir(self, local_dir: str, prefix: str, overwrite: bool = False) -> builtins.list[str]:
        pairs = [(os.path.join(folder, f), join_path(prefix, os.path.relpath(os.path.join(folder, f), local_dir)
                                                     .replace(os.sep, "/")))
                 for folder, _dirs, files in os.walk(local_dir) for f in sorted(files)]
        return self.upload_files(pairs, overwrite)

    def upload_files(self, pairs: builtins.list[tuple[str, str]], overwrite: bool = False) -> builtins.list[str]:
        """Upload (local, path) pairs in parallel; verified; on failure the written objects are removed."""
        if not pairs:
            return []
        if not overwrite:
            present = set(self._stat([normalize_path(p) for _, p in pairs]))
            pairs = [(local, path) for local, path in pairs if normalize_path(path) not in present]
        targets = [normalize_path(p) for _, p in pairs]
        try:
            self._transfer("upload", [(local, self._key(path), os.path.getsize(local), "") for local, path in pairs])
            self._verify_sizes(dict(zip(targets, (local for local, _ in pairs))), self._stat(targets), "upload")
        except BaseException:
            self._remove_quietly(targets)
            raise
        return targets

    def download(self, path: str, local_dir: str, overwrite: bool = False) -> builtins.list[str]:
        listed = {o.path: o for o in self.iter_objects(path)}  # the only listing: no second one per folder
        wanted = {p: os.path.join(local_dir, *p.split("/")) for p in listed}
        wanted = {p: d for p, d in wanted.items() if overwrite or not os.path.exists(d)}
        return self._download(wanted, listed)

    def download_files(self, pairs: builtins.list[tuple[str, str]]) -> builtins.list[str]:
        """Download (path, local destination) pairs in parallel, verified against the listing."""
        if not pairs:
            return []
        wanted = {normalize_path(path): dest for path, dest in pairs}
        self._download(wanted, self._stat(list(wanted)))
        return [dest for _, dest in pairs]

    def _download(self, wanted: dict[str, str], listed: dict[str, S3Object]) -> builtins.list[str]:
        missing = sorted(set(wanted) - set(listed))
        if missing:
            raise S3TransferError(f"S3 datastore {self.name!r}: {self.uri(missing[0])} does not exist")
        for dest in wanted.values():
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        self._transfer("download", [(dest, self._key(path), listed[path].size, listed[path].etag)
                                    for path, dest in wanted.items()])
        return list(wanted.values())

    def delete(self, path: str) -> None:
        self._remove([normalize_path(path)])

    def content_id(self, path: str) -> str:
        """Digest of (relative path, ETag, size) — plus VersionId on a versioned bucket — of each object."""
        base = normalize_path(path)
        digest = hashlib.sha256()
        versions = self._latest_versions(path) if self._is_versioned() else {}
        for obj in sorted(self.iter_objects(path), key=lambda o: o.path):
            digest.update(f"{obj.path[len(base):]}\0{obj.etag}\0{obj.size}\0{versions.get(obj.path, '')}\n".encode())
        return "s3etag:" + digest.hexdigest()

    # --- helpers ------------------------------------------------------------------------

    def _transfer(self, direction: str, items: builtins.list[_Item]) -> None:
        """Move (local, key, size, listed ETag) items: small ones as single requests on a thread pool
        (one request each, no HEAD), large ones through s3transfer's TransferManager (parallel parts)."""
        from concurrent.futures import ThreadPoolExecutor

        threshold = self.settings.multipart_threshold_mb * _MB
        small = [i for i in items if i[2] < threshold]
        large = [i for i in items if i[2] >= threshold]
        one = self._put if direction == "upload" else self._get
        with ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="aml-s3") as pool:
            futures = [(item[1], pool.submit(one, *item)) for item in small]
            try:
                if large:
                    self._transfer_large(direction, large)
                for key, future in futures:
                    try:
                        future.result()
                    except S3TransferError:
                        raise
                    except Exception as exc:
                        raise self._fail(direction, self._rel(key), exc) from exc
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _put(self, local: str, key: str, size: int, etag: str) -> None:
        with open(local, "rb") as body:  # botocore adds x-amz-checksum-crc32; S3 refuses a mismatch
            self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=body)

    def _get(self, local: str, key: str, size: int, etag: str) -> None:
        """One GET of the listed version (IfMatch), into `<local>.aml-part`, renamed into place only
        when complete and checked: botocore validates the object's checksum while streaming; an object
        without one it can check gets an inline MD5 against its single-part ETag instead."""
        from botocore.httpchecksum import StreamingChecksumBody

        partial = f"{local}.aml-part"
        body = self.client.get_object(Bucket=self.settings.bucket, Key=key, IfMatch=f'"{etag}"')["Body"]
        md5 = None if isinstance(body, StreamingChecksumBody) or not self._md5_checkable(etag) else _new_md5()
        written = 0
        try:
            with open(partial, "wb") as out:
                for chunk in body.iter_chunks(_MB):  # the checksum is validated on the last (empty) read
                    out.write(chunk)
                    written += len(chunk)
                    if md5 is not None:
                        md5.update(chunk)
            self._check(self._rel(key), written, size, md5 is not None and md5.hexdigest() != etag)
            os.replace(partial, local)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise

    def _transfer_large(self, direction: str, items: builtins.list[_Item]) -> None:
        """Parallel parts. Uploads: s3transfer sends a CRC32 per part, which S3 verifies. Downloads:
        ranged GETs of the listed ETag (IfMatch), which carry no checksum, so a single-part object is
        MD5-checked after the download; the file is removed if a check fails. A TransferConfig's part
        size is per manager, so downloads go as one manager per distinct part size, one after another
        (only objects above max_concurrency × multipart_chunksize get a part size of their own, and
        such an object alone keeps every thread busy)."""
        from boto3.s3.transfer import create_transfer_manager

        if direction == "upload":
            groups = {self.settings.multipart_chunksize_mb * _MB: items}
        else:
            groups = {}
            for item in items:
                groups.setdefault(self.download_part_size(item[2]), []).append(item)
        bucket = self.settings.bucket
        unchecked = [item[0] for item in items] if direction == "download" else []
        try:
            for part_size, group in sorted(groups.items()):
                with create_transfer_manager(self.client, self.transfer_config(part_size)) as manager:
                    if direction == "upload":
                        futures = [(item, manager.upload(item[0], bucket, item[1])) for item in group]
                    else:
                        futures = [(item, manager.download(bucket, item[1], item[0],
                                                           subscribers=[KnownObject(item[2], item[3])]))
                                   for item in group]
                    for (local, key, size, etag), future in futures:
                        try:
                            future.result()
                        except Exception as exc:  # leaving the block cancels the rest (not shutdown():
                            raise self._fail(direction, self._rel(key), exc) from exc  # s3transfer 0.19
                                                                                       # swaps its arguments)
                        if direction == "download":
                            corrupt = self._md5_checkable(etag) and _md5(local) != etag
                            self._check(self._rel(key), os.path.getsize(local), size, corrupt)
                            unchecked.remove(local)
        except BaseException:
            for local in unchecked:  # s3transfer renames a download into place when complete: unchecked
                if os.path.exists(local):  # files are removed, no consumer reads them
                    os.remove(local)
            raise

    def _md5_checkable(self, etag: str) -> bool:
        """A single-part ETag is the MD5 of the content (unless SSE-KMS: `verify_etag=False`)."""
        return self.settings.verify_etag and len(etag) == 32 and "-" not in etag

    def _check(self, path: str, got: int, size: int, corrupt: bool) -> None:
        if got != size:
            raise S3TransferError(f"S3 datastore {self.name!r}: download of {self.uri(path)} is incomplete "
                                  f"(received {got} bytes, listed {size})")
        if corrupt:
            raise S3TransferError(f"S3 datastore {self.name!r}: download of {self.uri(path)} is corrupt "
                                  "(MD5 differs from the object's ETag)")

    def _verify_sizes(self, local_by_path: dict[str, str], listed: dict[str, S3Object], direction: str) -> None:
        """Every transferred file is in the listing with its local size (content: botocore's checksums)."""
        for path, local in local_by_path.items():
            obj = listed.get(path)
            size = os.path.getsize(local)
            if obj is None or obj.size != size:
                raise S3TransferError(f"S3 datastore {self.name!r}: {direction} of {self.uri(path)} is incomplete "
                                      f"(local {size} bytes, bucket {obj.size if obj else 'no object'})")

    def _remove(self, paths: builtins.list[str]) -> None:
        for start in range(0, len(paths), 1000):
            batch = [{"Key": self._key(p)} for p in paths[start:start + 1000]]
            self.client.delete_objects(Bucket=self.settings.bucket, Delete={"Objects": batch, "Quiet": True})

    def _remove_quietly(self, paths: builtins.list[str]) -> None:
        try:
            self._remove(paths)
        except Exception:  # the endpoint is failing: nothing more to do, the caller reports the failure
            pass

    def _is_versioned(self) -> bool:
        if self._versioned is None:
            try:
                status = self.client.get_bucket_versioning(Bucket=self.settings.bucket).get("Status")
            except Exception as exc:
                raise self._fail("reading versioning of", "", exc) from exc
            self._versioned = status == "Enabled"
        return self._versioned

    def _latest_versions(self, path: str) -> dict[str, str]:
        paginator = self.client.get_paginator("list_object_versions")
        found = {}
        for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self._key(path)):
            for item in page.get("Versions", []):
                if item.get("IsLatest"):
                    found[self._rel(item["Key"])] = item["VersionId"]
        return found


def _new_md5() -> Any:
    return hashlib.md5(usedforsecurity=False)


def _md5(path: str) -> str:
    digest = _new_md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_MB):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["S3Backend", "S3Object", "S3Settings", "S3TransferError"]
