"""bench/moto_ranges.py (`bench/s3.py --moto-ranges`) answers exactly as stock moto does: same
status, headers and bytes for ranged, odd-range and whole GETs, so the bench compares like with like."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from tests.support.s3_endpoint import start_moto_server, stop_process

_LAUNCHER = Path(__file__).resolve().parents[2] / "bench" / "moto_ranges.py"
_VOLATILE = {"date", "server", "last-modified", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2"}
_RANGES = [None, "bytes=0-99", "bytes=1048576-", "bytes=-4096", "bytes=5000000-5000000", "bytes=100-5",
           "bytes=0-1,5-9", "bytes=abc", "bytes=99999999-"]


def _answer(client, bucket: str, key: str, etag: str, rng: str | None) -> tuple[int, dict[str, str], bytes]:
    extra = {"Range": rng} if rng else {}
    try:
        response = client.get_object(Bucket=bucket, Key=key, IfMatch=etag, ChecksumMode="ENABLED", **extra)
    except ClientError as exc:
        meta = exc.response["ResponseMetadata"]
        return meta["HTTPStatusCode"], {"code": exc.response["Error"]["Code"]}, b""
    meta = response["ResponseMetadata"]
    headers = {k: v for k, v in meta["HTTPHeaders"].items() if k not in _VOLATILE}
    return meta["HTTPStatusCode"], headers, response["Body"].read()


def test_patched_moto_answers_ranged_gets_byte_identically(s3_endpoint, bucket, tmp_path) -> None:
    url, proc = start_moto_server(tmp_path, launcher=[sys.executable, str(_LAUNCHER)])
    try:
        data = os.urandom(6 * 1024 * 1024)  # above moto's 5 MB in-memory buffer: spooled to disk
        stock = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        patched = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        patched.create_bucket(Bucket=bucket)
        for client in (stock, patched):
            client.put_object(Bucket=bucket, Key="k/big.bin", Body=data)
        etag = stock.head_object(Bucket=bucket, Key="k/big.bin")["ETag"]
        for rng in _RANGES:
            want = _answer(stock, bucket, "k/big.bin", etag, rng)
            assert _answer(patched, bucket, "k/big.bin", etag, rng) == want, rng
        assert _answer(patched, bucket, "k/big.bin", etag, "bytes=0-99")[2] == data[:100]
        assert _answer(patched, bucket, "k/big.bin", etag, "bytes=99999999-")[0] == 416
    finally:
        stop_process(proc)
    assert "ranged GETs read only the requested bytes" in (tmp_path / "moto.log").read_text()  # the patch ran

