"""The folders a front end may read and write: every path that comes from a user goes through :class:`AllowedFolders`.

A path is accepted only if, fully resolved (``..`` collapsed, every symbolic link followed), it lies inside one of
the configured folders, themselves resolved. So ``../..``, an absolute path elsewhere and a link inside a folder that
points outside it are refused with :class:`PathRefused`, whose message names the path and the allowed folders. The
check is made when :meth:`AllowedFolders.resolve` is called; the caller uses the path it returns, not the one given.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_FILES = 1000
"""The most paths :meth:`AllowedFolders.files` returns."""


class PathRefused(ValueError):
    """A path outside the allowed folders, a missing one, or one that is not a path at all (empty, NUL byte)."""


class AllowedFolders:
    """A set of folders (resolved at construction) and the paths inside them."""

    def __init__(self, roots: list[Path]) -> None:
        if not roots:
            raise PathRefused("no allowed folders: at least one folder expected")
        resolved: list[Path] = []
        for root in roots:
            path = Path(_checked_text(root))
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                raise PathRefused(f"{root}: allowed folder not found ({exc})") from exc
            if not real.is_dir():
                raise PathRefused(f"{root}: allowed folder is not a directory")
            if real not in resolved:
                resolved.append(real)
        self.roots: list[Path] = resolved

    def __repr__(self) -> str:
        return f"AllowedFolders({[str(root) for root in self.roots]})"

    def resolve(self, path: str | Path, *, must_exist: bool = True) -> Path:
        """The fully resolved ``path`` if it lies inside an allowed folder, else :class:`PathRefused`.

        A relative path is tried against each folder in order (the first where it exists wins; with ``must_exist``
        False and no such folder, the first where it lands inside); where a link in a folder leads it out, it is
        refused there and then. With ``must_exist`` False the path may name a file still to be written; its parent
        folder is not created.
        """
        text = _checked_text(path)
        given = Path(text)
        candidates = [given] if given.is_absolute() else [root / given for root in self.roots]
        inside: list[Path] = []
        for candidate in candidates:
            try:
                real = candidate.resolve(strict=False)
            except (OSError, RuntimeError):  # a symbolic link loop
                continue
            if self._contains(real):
                if real.exists():
                    return real
                inside.append(real)
            elif self._contains(Path(os.path.normpath(candidate))):
                # in a folder by name, outside once a link in it is followed: refused, not tried in the next folder
                raise PathRefused(f"{path}: outside the allowed folders ({self._listing()})")
        if not inside:
            raise PathRefused(f"{path}: outside the allowed folders ({self._listing()})")
        if must_exist:
            raise PathRefused(f"{path}: not found in the allowed folders ({self._listing()})")
        return inside[0]

    def files(self, suffixes: tuple[str, ...], *, limit: int = MAX_FILES) -> list[Path]:
        """Every file under the folders whose name ends in one of ``suffixes`` (case-insensitive), sorted.

        Hidden folders and files (name starting with ".") are skipped, linked folders are not entered, and a linked
        file is listed (under its own name) only if its target lies inside an allowed folder. At most ``limit``.
        """
        if not suffixes or any(not suffix for suffix in suffixes):
            raise ValueError(f"suffixes {suffixes!r}: expected non-empty suffixes such as ('.usda', '.toml')")
        wanted = tuple(suffix.lower() for suffix in suffixes)
        found: list[Path] = []
        seen: set[Path] = set()
        for root in self.roots:
            for folder, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
                for name in sorted(filenames):
                    if name.startswith(".") or not name.lower().endswith(wanted):
                        continue
                    path = Path(folder) / name
                    if path in seen or not self._lands_inside(path):
                        continue
                    seen.add(path)
                    found.append(path)
                    if len(found) >= limit:
                        return sorted(found)
        return sorted(found)

    def _contains(self, real: Path) -> bool:
        return any(real.is_relative_to(root) for root in self.roots)

    def _lands_inside(self, path: Path) -> bool:
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # a dangling link or a link loop
            return False
        return self._contains(real) and real.is_file()

    def _listing(self) -> str:
        return ", ".join(str(root) for root in self.roots)


def _checked_text(path: str | os.PathLike[str]) -> str:
    """``path`` as text, refused if empty or holding a NUL byte."""
    try:
        text = os.fspath(path)
    except TypeError as exc:
        raise PathRefused(f"{path!r}: expected a path (str or Path)") from exc
    if not isinstance(text, str):
        raise PathRefused(f"{path!r}: expected a text path, got bytes")
    if not text.strip():
        raise PathRefused(f"{path!r}: empty path")
    if "\x00" in text:
        raise PathRefused(f"{path!r}: path holds a NUL byte")
    return text
