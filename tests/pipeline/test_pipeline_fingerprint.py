"""Reuse fingerprint (AML_API §3.7) and reuse keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aml_bridge.errors import SnapshotException
from aml_bridge.pipeline import Pipeline, PipelineParameter, PythonScriptStep
from aml_bridge.pipeline.fingerprint import (
    module_signature,
    path_digest,
    reuse_key,
    step_fingerprint,
    upstream_identity,
)
from aml_bridge.pipeline.snapshot import EMPTY_HASH, MAX_FILE_BYTES, content_hash, snapshot_files


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print(1)\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "notes.log").write_text("log\n")
    return root


def test_mtime_is_irrelevant(tree: Path) -> None:
    before = content_hash(tree)
    os.utime(tree / "train.py", (1, 1))
    assert content_hash(tree) == before


def test_content_edit_and_rename_change_the_hash(tree: Path) -> None:
    before = content_hash(tree)
    (tree / "pkg" / "util.py").write_text("X = 2\n")
    edited = content_hash(tree)
    assert edited != before
    (tree / "pkg" / "util.py").rename(tree / "pkg" / "helpers.py")
    assert content_hash(tree) not in (before, edited)


def test_gitignore_excludes_and_is_itself_hashed(tree: Path) -> None:
    (tree / ".gitignore").write_text("*.log\n")
    before = content_hash(tree)
    (tree / "notes.log").write_text("changed\n")
    assert content_hash(tree) == before
    assert ".gitignore" in snapshot_files(tree) and "notes.log" not in snapshot_files(tree)


def test_ignore_file_excluding_itself_and_folders(tree: Path) -> None:
    (tree / "outputs").mkdir()
    (tree / "outputs" / "big.bin").write_bytes(b"x")
    (tree / ".amlignore").write_text(".amlignore\noutputs/\n")
    assert snapshot_files(tree) == ["notes.log", "pkg/util.py", "train.py"]


def test_amlignore_replaces_gitignore(tree: Path) -> None:
    (tree / ".gitignore").write_text("*.log\n")
    (tree / ".amlignore").write_text("pkg/\n")
    files = snapshot_files(tree)
    assert "notes.log" in files and "pkg/util.py" not in files
    before = content_hash(tree)
    (tree / "pkg" / "util.py").write_text("ignored edit\n")
    assert content_hash(tree) == before
    (tree / "notes.log").write_text("no longer ignored\n")
    assert content_hash(tree) != before


def test_only_the_root_ignore_file_counts(tree: Path) -> None:
    (tree / "pkg" / ".gitignore").write_text("*.py\n")
    assert "pkg/util.py" in snapshot_files(tree)


def test_empty_tree_hashes_to_32_zeros(tmp_path: Path) -> None:
    assert EMPTY_HASH == "0" * 32
    assert content_hash(tmp_path) == EMPTY_HASH
    assert content_hash(None) == EMPTY_HASH


def test_file_over_300_mb_aborts(tmp_path: Path) -> None:
    with open(tmp_path / "huge.bin", "wb") as handle:  # sparse: no 300 MB written to disk
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SnapshotException, match="300 MB"):
        content_hash(tmp_path)


def _fingerprint(ws, tree: Path, **kwargs) -> str:
    step = PythonScriptStep("train.py", source_directory=str(tree), **kwargs)
    return step_fingerprint(Pipeline(ws, [step]).plan().steps[0])


def test_step_fingerprint_follows_source_version_and_arguments(ws, tree: Path) -> None:
    base = _fingerprint(ws, tree)
    assert base == _fingerprint(ws, tree)
    assert base.endswith("_" + content_hash(tree))
    assert _fingerprint(ws, tree, version="2") != base
    assert _fingerprint(ws, tree, arguments=["--n", 5]) != base
    assert _fingerprint(ws, tree, allow_reuse=False) != base
    assert _fingerprint(ws, tree, params={"k": "v"}) != base
    os.utime(tree / "train.py", (5, 5))
    assert _fingerprint(ws, tree) == base
    (tree / "train.py").write_text("print(2)\n")
    assert _fingerprint(ws, tree) != base


def test_signature_lists_azure_elements(ws, tree: Path) -> None:
    step = PythonScriptStep("train.py", source_directory=str(tree), version="v1",
                            arguments=["--lr", PipelineParameter("lr", 0.5)])
    plan = Pipeline(ws, [step]).plan()
    signature = module_signature(plan.steps[0], plan.parameters)
    for part in ("name_train.py", "deterministic_True", "execution_python_script", "version_v1",
                 "param_lr,val_0.5", "arguments_--lr,$AML_PARAMETER_lr", 'runconfig_{"env": {}'):
        assert part in signature


def test_reuse_key_depends_on_inputs_and_parameters(tmp_path: Path) -> None:
    key = reuse_key("fp", {"raw": "sha256:1"}, {"lr": 0.1})
    assert key == reuse_key("fp", {"raw": "sha256:1"}, {"lr": 0.1})
    assert key != reuse_key("fp", {"raw": "sha256:2"}, {"lr": 0.1})
    assert key != reuse_key("fp", {"raw": "sha256:1"}, {"lr": 0.2})
    assert key != reuse_key("fp2", {"raw": "sha256:1"}, {"lr": 0.1})
    assert upstream_identity(key, "out") == f"{key}:out"


def test_path_digest_sees_content_not_mtime(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("1\n")
    before = path_digest(tmp_path / "d")
    os.utime(tmp_path / "d" / "a.csv", (3, 3))
    assert path_digest(tmp_path / "d") == before
    (tmp_path / "d" / "a.csv").write_text("2\n")
    assert path_digest(tmp_path / "d") != before
    assert path_digest(tmp_path / "d" / "a.csv").startswith("sha256:")
