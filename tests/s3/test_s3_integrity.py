"""Content checks and request counts of S3 transfers, seen from a loopback proxy between boto3 and moto.

Content is checked by botocore's flexible checksums (a CRC32 on every upload request; the object's
checksum validated on whole-object GETs), with our MD5 against a single-part ETag only where
botocore has nothing to check. A corrupted download is refused and leaves no file behind.
"""

from __future__ import annotations

import base64
import os
import zlib

import boto3
import pytest
from botocore.config import Config

from aml_bridge.data.s3_backend import S3TransferError
from tests.support.s3_endpoint import FaultProxy, s3_store


def _store(make_s3_ws, bucket, proxy, **tuning):
    ws = make_s3_ws(bucket, datastores={"via": s3_store(proxy.url, bucket, "ws", **tuning)})
    return ws.datastores["via"]


def _tree(root, folders=3, per_folder=4):
    for f in range(folders):
        (root / f"d{f}").mkdir(parents=True)
        for i in range(per_folder):
            (root / f"d{f}" / f"f{i}.bin").write_bytes(os.urandom(100 + i))
    return folders * per_folder


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _local_files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_uploads_send_a_crc32_even_when_the_environment_turns_checksums_off(make_s3_ws, bucket, s3_endpoint,
                                                                            tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    monkeypatch.setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    source = tmp_path / "src"
    _tree(source, folders=1, per_folder=3)
    (source / "big.bin").write_bytes(os.urandom(11 * 1024 * 1024))  # multipart: 5 + 5 + 1 MB
    with FaultProxy(s3_endpoint) as proxy:
        store = _store(make_s3_ws, bucket, proxy, multipart_threshold_mb=5, multipart_chunksize_mb=5)
        store.upload(str(source), target_path="up", show_progress=False)
    puts = [(path, headers) for method, path, headers in proxy.seen if method == "PUT"]
    small = {path.split("?")[0]: headers for path, headers in puts if "partNumber" not in path}
    for name in ("f0.bin", "f1.bin", "f2.bin"):
        data = (source / "d0" / name).read_bytes()
        assert small[f"/{bucket}/ws/up/d0/{name}"]["x-amz-checksum-crc32"] == _crc32(data)
    parts = [headers for path, headers in puts if "partNumber" in path]
    assert len(parts) == 3 and all("x-amz-checksum-crc32" in h for h in parts)


def test_a_corrupted_download_is_refused_and_leaves_no_file(make_s3_ws, bucket, s3_endpoint, tmp_path) -> None:
    """The bridge uploaded the objects with a CRC32: botocore's validation catches the flipped byte."""
    source = tmp_path / "src"
    _tree(source, folders=1, per_folder=3)
    with FaultProxy(s3_endpoint) as clean:
        _store(make_s3_ws, bucket, clean).upload(str(source), target_path="data", show_progress=False)
    with FaultProxy(s3_endpoint, corrupt_methods=("GET",)) as proxy:
        store = _store(make_s3_ws, bucket, proxy)
        with pytest.raises(S3TransferError, match=r"download s3://.*/ws/data/d0/f\d\.bin .*checksum"):
            store.download(str(tmp_path / "out"), prefix="data", show_progress=False)
    assert _local_files(tmp_path / "out") == []  # neither the files nor their .aml-part


def test_objects_without_a_checksum_get_an_md5_check(make_s3_ws, bucket, s3_endpoint, tmp_path) -> None:
    """Objects written by a client that sent no checksum: botocore has nothing to validate, so the
    bridge's MD5 against the single-part ETag catches the corruption, for a single GET and for a
    ranged (TransferManager) download alike."""
    plain = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                         config=Config(request_checksum_calculation="when_required"))
    plain.put_object(Bucket=bucket, Key="ws/raw/small.txt", Body=b"x,y\n1,2\n")
    plain.put_object(Bucket=bucket, Key="ws/raw/large.bin", Body=os.urandom(6 * 1024 * 1024))
    assert "ChecksumCRC32" not in plain.get_object(Bucket=bucket, Key="ws/raw/small.txt", ChecksumMode="ENABLED")
    with FaultProxy(s3_endpoint, corrupt_methods=("GET",)) as proxy:
        store = _store(make_s3_ws, bucket, proxy, multipart_threshold_mb=5, multipart_chunksize_mb=2)
        for name in ("small.txt", "large.bin"):
            with pytest.raises(S3TransferError, match=rf"download of s3://.*/ws/raw/{name} is corrupt \(MD5"):
                store.download(str(tmp_path / "out"), prefix=f"raw/{name}", show_progress=False)
    assert _local_files(tmp_path / "out") == []
    with FaultProxy(s3_endpoint) as clean:  # and without the corruption both arrive intact
        store = _store(make_s3_ws, bucket, clean, multipart_threshold_mb=5, multipart_chunksize_mb=2)
        assert store.download(str(tmp_path / "out"), prefix="raw", show_progress=False) == 2
    assert (tmp_path / "out" / "raw" / "small.txt").read_bytes() == b"x,y\n1,2\n"


def test_requests_per_file(make_s3_ws, bucket, s3_endpoint, tmp_path) -> None:
    """The bridge sends what a careful sequential loop would: one request per small file, one
    listing per batch (downloads) or per parent folder (upload size check), no HEADs; a large
    download is its ranged GETs, each pinned to the listed version with If-Match."""
    source = tmp_path / "src"
    count = _tree(source, folders=3, per_folder=4)
    with FaultProxy(s3_endpoint) as proxy:
        store = _store(make_s3_ws, bucket, proxy, multipart_threshold_mb=5, multipart_chunksize_mb=2)
        store.upload(str(source), target_path="t", overwrite=True, show_progress=False)
        uploaded = [(m, p) for m, p, _ in proxy.seen]
        proxy.seen.clear()
        store.download(str(tmp_path / "out"), prefix="t", show_progress=False)
        downloaded = [(m, p) for m, p, _ in proxy.seen]
        (tmp_path / "big").mkdir()
        (tmp_path / "big" / "big.bin").write_bytes(os.urandom(7 * 1024 * 1024))
        store.upload(str(tmp_path / "big"), target_path="big", show_progress=False)
        proxy.seen.clear()
        store.download(str(tmp_path / "out"), prefix="big", show_progress=False)
        large = proxy.seen[:]
    assert sorted(m for m, _ in uploaded) == ["GET"] * 3 + ["PUT"] * count  # 3 folder listings
    assert all("list-type=2" in p for m, p in uploaded if m == "GET")
    assert sorted(m for m, _ in downloaded) == ["GET"] * (count + 1)  # one listing + one GET per file
    assert sum("list-type=2" in p for _, p in downloaded) == 1
    assert (tmp_path / "out" / "big" / "big.bin").read_bytes() == (tmp_path / "big" / "big.bin").read_bytes()
    ranged = [h for m, p, h in large if m == "GET" and "list-type" not in p]
    assert [m for m, _, _ in large].count("HEAD") == 0 and len(ranged) == 4  # 2 + 2 + 2 + 1 MB
    assert all(h.get("range", "").startswith("bytes=") and h.get("if-match") for h in ranged)


def test_a_large_download_is_at_most_max_concurrency_ranges(make_s3_ws, bucket, s3_endpoint, tmp_path) -> None:
    """Download ranges are max(chunksize, ceil(size / max_concurrency)) rounded up to a whole MB:
    13 MB on 2 threads is 2 ranges (7 + 6 MB, not 5 + 5 + 3); 6 MB stays at 5 MB parts; both in one
    batch, intact. Uploads keep their 5 MB parts (13 MB: 3 parts)."""
    mb = 1024 * 1024
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(13 * mb))
    (source / "mid.bin").write_bytes(os.urandom(6 * mb))
    with FaultProxy(s3_endpoint) as proxy:
        store = _store(make_s3_ws, bucket, proxy, multipart_threshold_mb=5, multipart_chunksize_mb=5,
                       max_concurrency=2)
        store.upload(str(source), target_path="p", show_progress=False)
        parts = [p for m, p, _ in proxy.seen if m == "PUT" and "partNumber" in p]
        proxy.seen.clear()
        store.download(str(tmp_path / "out"), prefix="p", show_progress=False)
        ranges: dict[str, list[str]] = {}
        for method, path, headers in proxy.seen:
            if method == "GET" and "list-type" not in path:
                assert headers.get("if-match")
                ranges.setdefault(path.split("?")[0].rsplit("/", 1)[1], []).append(headers["range"])
    assert sum("/p/big.bin" in p for p in parts) == 3 and sum("/p/mid.bin" in p for p in parts) == 2
    assert sorted(ranges["big.bin"]) == [f"bytes=0-{7 * mb - 1}", f"bytes={7 * mb}-"]
    assert sorted(ranges["mid.bin"]) == [f"bytes=0-{5 * mb - 1}", f"bytes={5 * mb}-"]
    for name in ("big.bin", "mid.bin"):
        assert (tmp_path / "out" / "p" / name).read_bytes() == (source / name).read_bytes()
