"""AllowedFolders: only paths that resolve inside the configured folders are accepted."""

from __future__ import annotations

import os
import re

import pytest
from isaac.rl.workbench.frontends.allowed_paths import AllowedFolders, PathRefused


@pytest.fixture
def tree(tmp_path):
    """tmp/root (allowed, with files and links) and tmp/outside (not allowed); returns (folders, root, outside)."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (root / "tasks").mkdir(parents=True)
    (root / ".hidden").mkdir()
    outside.mkdir()
    (root / "tasks" / "cartpole.toml").write_text("x")
    (root / "robot.usda").write_text("x")
    (root / "notes.txt").write_text("x")
    (root / ".hidden" / "secret.toml").write_text("x")
    (outside / "secret.toml").write_text("x")
    (outside / "deep").mkdir()
    (outside / "deep" / "other.usda").write_text("x")
    os.symlink(outside / "secret.toml", root / "escape.toml")
    os.symlink(outside, root / "escape_dir")
    os.symlink(root / "robot.usda", root / "alias.usda")
    return AllowedFolders([root]), root.resolve(), outside.resolve()


def test_roots_are_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert AllowedFolders([tmp_path / "link"]).roots == [(tmp_path / "real").resolve()]


def test_missing_root_is_refused(tmp_path):
    with pytest.raises(PathRefused, match="nowhere"):
        AllowedFolders([tmp_path / "nowhere"])


def test_file_root_is_refused(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(PathRefused, match="file.txt: allowed folder is not a directory"):
        AllowedFolders([tmp_path / "file.txt"])


def test_relative_path_inside(tree):
    folders, root, _ = tree
    assert folders.resolve("tasks/cartpole.toml") == root / "tasks" / "cartpole.toml"


def test_absolute_path_inside(tree):
    folders, root, _ = tree
    assert folders.resolve(root / "robot.usda") == root / "robot.usda"


def test_relative_path_is_tried_in_each_root(tree, tmp_path):
    _, root, outside = tree
    folders = AllowedFolders([root, outside])
    assert folders.resolve("deep/other.usda") == outside / "deep" / "other.usda"


@pytest.mark.parametrize("path", ["../outside/secret.toml", "tasks/../../outside/secret.toml", ".."])
def test_dotdot_escape_is_refused(tree, path):
    folders, _, _ = tree
    with pytest.raises(PathRefused, match=f"^{re.escape(path)}: outside the allowed folders"):
        folders.resolve(path)


def test_absolute_path_outside_is_refused(tree):
    folders, root, outside = tree
    with pytest.raises(
        PathRefused, match=re.escape(f"{outside / 'secret.toml'}: outside the allowed folders ({root})")
    ):
        folders.resolve(outside / "secret.toml")
    with pytest.raises(PathRefused, match="/etc/passwd: outside"):
        folders.resolve("/etc/passwd")


def test_link_to_a_file_outside_is_refused(tree):
    folders, _, _ = tree
    with pytest.raises(PathRefused, match="escape.toml: outside"):
        folders.resolve("escape.toml")


def test_link_to_a_folder_outside_is_refused(tree):
    folders, _, _ = tree
    with pytest.raises(PathRefused, match="escape_dir/secret.toml: outside"):
        folders.resolve("escape_dir/secret.toml")
    with pytest.raises(PathRefused, match="escape_dir/new.toml: outside"):
        folders.resolve("escape_dir/new.toml", must_exist=False)


def test_link_inside_to_inside_is_allowed(tree):
    folders, root, _ = tree
    assert folders.resolve("alias.usda") == root / "robot.usda"


def test_missing_file_is_refused_unless_it_is_to_be_written(tree):
    folders, root, _ = tree
    with pytest.raises(PathRefused, match="tasks/new.toml: not found in the allowed folders"):
        folders.resolve("tasks/new.toml")
    assert folders.resolve("tasks/new.toml", must_exist=False) == root / "tasks" / "new.toml"


@pytest.mark.parametrize(("path", "message"), [("", "'': empty path"), ("a\x00b", "'a\\\\x00b': path holds a NUL")])
def test_empty_and_nul_are_refused(tree, path, message):
    folders, _, _ = tree
    with pytest.raises(PathRefused, match=message):
        folders.resolve(path, must_exist=False)


def test_files_lists_matching_files_inside(tree):
    folders, root, _ = tree
    assert folders.files((".usda", ".toml")) == [root / "alias.usda", root / "robot.usda", root / "tasks/cartpole.toml"]
    assert folders.files((".TXT",)) == [root / "notes.txt"]


def test_files_skips_escaping_links_and_hidden_folders(tree):
    folders, _, _ = tree
    names = {path.name for path in folders.files((".toml", ".usda"))}
    assert "escape.toml" not in names  # a link to a file outside
    assert "other.usda" not in names and "secret.toml" not in names  # under escape_dir/ and .hidden/


def test_files_is_capped(tree):
    folders, _, _ = tree
    assert len(folders.files((".usda", ".toml"), limit=2)) == 2


def test_files_every_result_resolves(tree):
    folders, _, _ = tree
    for path in folders.files((".usda", ".toml")):
        assert folders.resolve(path).is_file()


def test_a_link_leading_out_of_the_first_folder_is_not_tried_in_the_next(tree, tmp_path):
    _, root, _ = tree
    (tmp_path / "second").mkdir()
    folders = AllowedFolders([root, tmp_path / "second"])
    with pytest.raises(PathRefused, match="^escape.toml: outside the allowed folders"):
        folders.resolve("escape.toml")
    with pytest.raises(PathRefused, match="^escape_dir/new.toml: outside the allowed folders"):
        folders.resolve("escape_dir/new.toml", must_exist=False)  # not redirected to second/escape_dir/new.toml
    assert folders.resolve("tasks/new.toml", must_exist=False) == root / "tasks" / "new.toml"
