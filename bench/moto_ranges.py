"""`moto_server` whose ranged GETs read only the requested bytes (`bench/s3.py --moto-ranges`).

Why it exists: stock moto answers a ranged GET by reading the whole object out of the key's buffer
(`FakeKey.value`, under the key's lock; a SpooledTemporaryFile, on disk above ~5 MB) and slicing
the range from it (`S3Response._handle_range_header`), so N ranges of one object cost N whole-object
reads. S3 reads only the range. With this patch the fake costs per range what S3 does, and a ranged
download is not charged moto's artefact. Responses are byte-identical to stock moto's (status,
headers, body; tests/s3/test_bench_moto_ranges.py): moto's own range code still runs, it just slices
a view that reads the buffer at the requested offset instead of a copy of the whole object.

    python bench/moto_ranges.py -H 127.0.0.1 -p PORT   # the arguments of moto_server
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

# bench/ holds a logging.py: replace it on the path by the repository root.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from moto.s3.models import FakeKey  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402

_in_get = threading.local()  # set while S3Response.get_object runs on this thread
_stock_value = FakeKey.value
_stock_get_object = S3Response.get_object
_stock_key_response = S3Response.key_response


class _Window:
    """A key's content, read from its buffer only where sliced (what moto's range code does once)."""

    def __init__(self, key: FakeKey) -> None:
        self.key = key

    def __len__(self) -> int:
        return self.key.size

    def __getitem__(self, part: slice) -> bytes:
        start, stop, _ = part.indices(len(self))
        with self.key.lock:
            self.key._value_buffer.seek(start)
            return self.key._value_buffer.read(max(0, stop - start))

    def __bytes__(self) -> bytes:
        return _stock_value.fget(self.key)


def _value(key: FakeKey) -> Any:
    return _Window(key) if getattr(_in_get, "on", False) else _stock_value.fget(key)


def _get_object(self: S3Response) -> Any:
    _in_get.on = True
    try:
        return _stock_get_object(self)
    finally:
        _in_get.on = False


def _key_response(self: S3Response, *args: Any, **kwargs: Any) -> Any:
    status, headers, body = _stock_key_response(self, *args, **kwargs)
    return status, headers, bytes(body) if isinstance(body, _Window) else body  # not a range: whole


def patch() -> None:
    FakeKey.value = property(_value, _stock_value.fset)  # type: ignore[method-assign, assignment]
    S3Response.get_object = _get_object  # type: ignore[method-assign]
    S3Response.key_response = _key_response  # type: ignore[method-assign]


if __name__ == "__main__":
    from moto.server import main

    patch()
    print("moto_ranges: ranged GETs read only the requested bytes", file=sys.stderr, flush=True)
    main()
