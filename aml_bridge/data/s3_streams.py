"""Streams over single S3 objects: ranged, seekable reads; buffered create-only writes; and the
s3transfer subscriber that hands a download its listed size and ETag."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .s3_backend import S3Backend


class KnownObject:
    """s3transfer subscriber giving a download the size and ETag from the listing: saves the HEAD
    request s3transfer otherwise sends, and its ranged GETs carry IfMatch on the listed version."""

    def __init__(self, size: int, etag: str) -> None:
        self.size, self.etag = size, etag

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self.size)
        future.meta.provide_object_etag(f'"{self.etag}"')

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        pass

    def on_done(self, future: Any, **kwargs: Any) -> None:
        pass


class RangeReader(io.RawIOBase):
    """A seekable read-only view of one object: each read is a ranged GET (buffered by the caller).

    Every GET names the ETag (and `version_id`, if given), so the object cannot change under the
    reader; given `size` and `etag` (known from a listing), no HEAD request is made."""

    def __init__(self, backend: S3Backend, path: str, size: int | None = None, etag: str | None = None,
                 version_id: str | None = None) -> None:
        self._backend, self._path, self._pos = backend, path, 0
        self._version = {"VersionId": version_id} if version_id else {}
        if size is not None and etag is not None:
            self._size, self._etag = size, f'"{etag.strip(chr(34))}"'
            return
        try:
            head = backend.client.head_object(Bucket=backend.settings.bucket, Key=backend._key(path))
        except Exception as exc:
            raise backend._fail("reading", path, exc) from exc
        self._size, self._etag = int(head["ContentLength"]), head["ETag"]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        backend = self._backend
        try:
            body = backend.client.get_object(Bucket=backend.settings.bucket, Key=backend._key(self._path),
                                             Range=f"bytes={self._pos}-{self._pos + want - 1}",
                                             IfMatch=self._etag, **self._version)["Body"].read()
        except Exception as exc:
            raise backend._fail("reading", self._path, exc) from exc
        buffer[: len(body)] = body
        self._pos += len(body)
        return len(body)


class Writer(io.BytesIO):
    """Buffers a small object (registry records) and puts it on close; "xb" is a create-only put."""

    def __init__(self, backend: S3Backend, path: str, exclusive: bool) -> None:
        super().__init__()
        self._backend, self._path, self._exclusive, self._discard = backend, path, exclusive, False

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._discard = exc_type is not None  # a failed write puts nothing
        self.close()

    def __del__(self) -> None:
        self._discard = True
        super().close()

    def close(self) -> None:
        if self.closed:
            return
        if self._discard:
            super().close()
            return
        backend = self._backend
        extra = {"IfNoneMatch": "*"} if self._exclusive else {}
        try:
            backend.client.put_object(Bucket=backend.settings.bucket, Key=backend._key(self._path),
                                      Body=self.getvalue(), **extra)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise FileExistsError(backend.uri(self._path)) from exc
            raise backend._fail("writing", self._path, exc) from exc
        finally:
            super().close()


__all__ = ["KnownObject", "RangeReader", "Writer"]
