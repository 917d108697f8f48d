"""Item 71 and the tabular/partition manifests: every input in exactly one mini-batch."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from aml_bridge.parallel import manifest


def test_25_files_by_10_make_10_10_5_each_path_once() -> None:
    paths = [f"/d/f{i}" for i in range(25)]
    batches = manifest.build("file", paths, 10)
    assert [len(b["files"]) for b in batches] == [10, 10, 5]
    assert sorted(p for b in batches for p in b["files"]) == sorted(paths)
    assert [b["id"] for b in batches] == [0, 1, 2]


def test_default_size_is_10_files_and_rank_batches() -> None:
    assert [len(b["files"]) for b in manifest.build("file", [str(i) for i in range(12)], None)] == [10, 2]
    assert manifest.build("file", [], None, rank_mini_batch_count=3) == [
        {"id": 0, "files": []}, {"id": 1, "files": []}, {"id": 2, "files": []}]


def _csv(path: Path, rows: int) -> pd.DataFrame:
    frame = pd.DataFrame({"a": range(rows), "b": [f"v{i}" for i in range(rows)]})
    frame.to_csv(path, index=False)
    return frame


def test_csv_chunks_by_bytes_never_cross_files_and_cover_every_row(tmp_path: Path) -> None:
    big, small = _csv(tmp_path / "big.csv", 1000), _csv(tmp_path / "small.csv", 3)
    batches = manifest.build("tabular", [str(tmp_path / "big.csv"), str(tmp_path / "small.csv")], 1024)
    assert all(len(b["chunks"]) == 1 for b in batches)
    assert batches[-1]["chunks"][0]["file"].endswith("small.csv")
    frames = [manifest.load(b) for b in batches]
    assert len(batches) > 5 and all(len(f) > 0 for f in frames)
    assert all(len(f.to_csv(index=False).encode()) < 1024 + 64 for f in frames[:-2])
    joined = pd.concat(frames[:-1], ignore_index=True)
    pd.testing.assert_frame_equal(joined, big)
    pd.testing.assert_frame_equal(frames[-1], small)


def test_parquet_chunks_by_bytes_cover_every_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(5000), "b": [f"row{i}" for i in range(5000)]})
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=1000)
    batches = manifest.build("tabular", [str(tmp_path / "t.parquet")], 4096)
    assert len(batches) > 3
    joined = pd.concat([manifest.load(b) for b in batches], ignore_index=True)
    pd.testing.assert_frame_equal(joined, frame)


def test_partition_keys_make_one_batch_per_combination(tmp_path: Path) -> None:
    frame = pd.DataFrame({"store": [1, 1, 2, 2, 2], "day": ["a", "b", "a", "a", "b"], "x": range(5)})
    frame.iloc[:3].to_csv(tmp_path / "p1.csv", index=False)
    frame.iloc[3:].to_csv(tmp_path / "p2.csv", index=False)
    paths = [str(tmp_path / "p1.csv"), str(tmp_path / "p2.csv")]
    batches = manifest.build("tabular", paths, None, partition_keys=["store", "day"])
    keys = [b["partition_key_value"] for b in batches]
    assert keys == [{"store": 1, "day": "a"}, {"store": 1, "day": "b"}, {"store": 2, "day": "a"},
                    {"store": 2, "day": "b"}]
    assert sum(len(manifest.load(b)) for b in batches) == 5
    assert list(manifest.load(batches[2])["x"]) == [2, 3]


def test_manifest_round_trips_as_json(tmp_path: Path) -> None:
    batches = manifest.build("file", ["a", "b", "c"], 2)
    manifest.write(str(tmp_path / "m.json"), batches)
    assert manifest.read(str(tmp_path / "m.json")) == batches
    assert json.loads((tmp_path / "m.json").read_text())["version"] == 1
