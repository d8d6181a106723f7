"""Term library: pure functions over batched tensors, ``(env, **params) -> Tensor``.

Each kind of term has a registry mapping the name used in task specs to the function. A spec may also name
a user's own function as ``"package.module:function"``: :func:`resolve_term` imports the module from the spec's
``python_path`` folders first (default: the spec's own folder), then from the installed modules, and
:func:`check_term_signature` checks that the function can be called as a term. A parameter called ``joints`` is
given in the spec as a list of joint names; the env turns it into a tensor of DOF indices before the term is called.

Importing a user's module: the ``python_path`` folders are put at the front of ``sys.path`` only while the module
(and whatever it imports at module level) is imported, then taken off again; the module stays in ``sys.modules``
under its own name, so its functions, and pickling them, keep working. Two specs in different folders may each
have a module ``my_terms.py``: a module imported from one spec's folder is dropped from ``sys.modules`` (with its
submodules) before a spec whose folders hold a module of the same name, or none at all, is resolved, so each spec
gets its own; functions resolved earlier keep working (a function holds its module's globals), but an ``import``
*inside* a term function does not see the spec's folder: import helpers at the top of the module. A module of the
spec's folder never replaces one that was already imported from elsewhere (``json.py`` next to a spec while
``json`` is imported): that is an error asking to rename it. A module already imported from the same folder is
reused, as by any ``import``: an edited term module takes effect in a new process.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import inspect
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import camera_observations, events, metrics, observations, rewards, rewards_legged, terminations

REGISTRIES: dict[str, dict[str, Callable]] = {
    "observations": {
        name: getattr(module, name) for module in (observations, camera_observations) for name in module.__all__
    },
    "rewards": {name: getattr(module, name) for module in (rewards, rewards_legged) for name in module.__all__},
    "terminations": {name: getattr(terminations, name) for name in terminations.__all__},
    "events": {name: getattr(events, name) for name in events.__all__},
    "metrics": {
        name: getattr(module, name)
        for module in (metrics, rewards, rewards_legged, terminations)
        for name in module.__all__
    },
}

FIXED_ARGS: dict[str, tuple[str, ...]] = {
    "observations": ("env",),
    "rewards": ("env",),
    "terminations": ("env",),
    "events": ("env", "env_mask"),
    "metrics": ("env",),
}
"""The positional arguments the env passes to a term of each kind, before the spec's ``params`` as keywords."""

_IMPORTED_FROM: dict[str, Path] = {}
"""Top-level module name -> the ``python_path`` folder :func:`import_term_module` imported it from."""


class TermLookupError(LookupError):
    """A term name that is neither in the library nor an importable ``module:function``."""


class TermSignatureError(TypeError):
    """A term function that cannot be called as a term of its kind with the spec's params.

    Attributes:
        key: the spec key at fault, relative to the term's table: ``func``, ``params`` or ``params.<name>``.
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def resolve_term(kind: str, name: str, search_path: Sequence[Path] = ()) -> Callable:
    """Return the function for ``name`` among the terms of ``kind`` ("observations", "rewards", ...).

    Args:
        kind: "observations", "rewards", "terminations" or "events".
        name: a library name, or ``"package.module:function"``.
        search_path: folders searched for ``package`` before the installed modules (a spec's ``python_path``);
            folders that do not exist are skipped.

    Raises:
        TermLookupError: one line naming the term and what went wrong: the library's names of that kind, the
            module that cannot be imported with the exception it raised, or the missing attribute.
    """
    registry = REGISTRIES[kind]
    if name in registry:
        return registry[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        if not module_name or not attr:
            raise TermLookupError(f"'{name}': expected 'package.module:function'")
        module = import_term_module(module_name, search_path)
        if not hasattr(module, attr):
            defined = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_"))
            raise TermLookupError(
                f"module '{module_name}' ({_module_location(module)}) has no attribute '{attr}'; "
                f"its functions: {', '.join(defined) or 'none'}"
            )
        return getattr(module, attr)
    known = ", ".join(sorted(registry))
    raise TermLookupError(f"unknown {kind[:-1]} term '{name}'; known: {known}; or give 'package.module:function'")


def import_term_module(module_name: str, search_path: Sequence[Path] = ()) -> Any:
    """Import ``module_name`` from the folders of ``search_path`` first, then from the installed modules.

    See the module docstring for what stays in ``sys.modules`` and ``sys.path`` afterwards.

    Raises:
        TermLookupError: one line naming the module, where it was looked for, and any exception its import raised
            (with the file and line it was raised at).
    """
    folders = [Path(f).resolve() for f in search_path]
    folders = [f for f in dict.fromkeys(folders) if f.is_dir()]
    top = module_name.split(".")[0]
    importlib.invalidate_caches()  # modules written a moment ago (same mtime as the folder's cached listing)
    for name, folder in list(_IMPORTED_FROM.items()):
        if folder not in folders and (name == top or _find(name, folders) is not None):
            _forget(name)
    local = _find(top, folders)
    cached = sys.modules.get(top)
    if _is_regular(local) and cached is not None and _folder_of(cached, folders) is None:
        raise TermLookupError(
            f"module '{top}' in {_spec_location(local)} has the name of a module already imported from "
            f"{_module_location(cached)}; rename yours"
        )
    before = set(sys.modules)
    inserted = [str(f) for f in folders] if local is not None else []
    sys.path[:0] = inserted
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        where = _spec_location(local) if local is not None else "the installed modules"
        if isinstance(exc, ModuleNotFoundError) and exc.name in _parents(module_name):
            searched = ", ".join(str(f) for f in search_path) or "none"
            raise TermLookupError(
                f"cannot import module '{module_name}': no module '{exc.name}' in the spec's python_path folders "
                f"({searched}) nor among the installed modules"
            ) from exc
        raise TermLookupError(f"cannot import module '{module_name}' ({where}): {_describe(exc, folders)}") from exc
    finally:
        for entry in inserted:
            if entry in sys.path:
                sys.path.remove(entry)
        for name in set(sys.modules) - before:
            if "." not in name and (folder := _folder_of(sys.modules[name], folders)) is not None:
                _IMPORTED_FROM[name] = folder
    return module


def check_term_signature(kind: str, func: Any, name: str, params: dict) -> None:
    """Check that ``func`` can be called as ``func(env, **params)`` (events: ``func(env, env_mask, **params)``).

    Args:
        kind: "observations", "rewards", "terminations" or "events".
        func: the resolved function.
        name: its name in the spec (``func`` key), for messages.
        params: the spec's params of the term (names only are checked).

    Raises:
        TermSignatureError: naming the function with its file:line where known; ``key`` says which spec key.
    """
    where = term_location(func)
    label = f"'{name}'" + (f" ({where})" if where else "")
    fixed = FIXED_ARGS[kind]
    call = f"({', '.join(fixed)}, **params)"
    term = _a(f"{kind[:-1]} term")
    if inspect.isclass(func):
        raise TermSignatureError("func", f"{label} is a class, not a function; {term} is a function {call}")
    if not (inspect.isroutine(func) or isinstance(func, functools.partial)):
        raise TermSignatureError(
            "func", f"{label} is {_a(type(func).__name__)}, not a function; {term} is a function {call}"
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TermSignatureError("func", f"{label}: cannot read its signature ({exc})") from exc
    parameters = list(signature.parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    if len(positional) < len(fixed) and not var_positional:
        raise TermSignatureError(
            "func",
            f"{label} has the signature {signature}; {term} takes "
            f"{' and '.join(fixed)} as its first positional parameter{'s' if len(fixed) > 1 else ''}: {call}",
        )
    rest = parameters[len(fixed) :] if len(positional) >= len(fixed) else []
    rest = [p for p in rest if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for p in rest:
        if p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
            raise TermSignatureError(
                "func",
                f"{label} has the signature {signature}; parameter '{p.name}' can be given neither by the "
                "env nor as a keyword",
            )
    accepted = [p.name for p in rest if p.kind is not p.POSITIONAL_ONLY]
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        for key in params:
            if key not in accepted:
                raise TermSignatureError(
                    f"params.{key}", f"{label} takes no parameter '{key}'; it takes: {', '.join(accepted) or 'none'}"
                )
    for p in rest:
        if p.kind is not p.POSITIONAL_ONLY and p.default is p.empty and p.name not in params:
            raise TermSignatureError("params", f"{label} needs parameter '{p.name}'")


def term_location(func: Any) -> str | None:
    """``"path/to/file.py:line"`` of a Python function's ``def`` (through ``functools.partial`` and wrappers) or of
    a class; None for built-ins and other objects without source."""
    target = func.func if isinstance(func, functools.partial) else func
    try:
        target = inspect.unwrap(target)
    except ValueError:
        pass
    code = getattr(target, "__code__", None)
    if code is not None:
        return f"{code.co_filename}:{code.co_firstlineno}"
    if inspect.isclass(target):
        try:
            return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"
        except (OSError, TypeError):
            return None
    return None


def _a(noun: str) -> str:
    """``"an event term"``, ``"a reward term"``."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _find(top: str, folders: list[Path]) -> importlib.machinery.ModuleSpec | None:
    """The spec of the top-level module ``top`` in one of ``folders`` (a module, package or namespace), or None."""
    if not folders:
        return None
    try:
        return importlib.machinery.PathFinder.find_spec(top, [str(f) for f in folders])
    except (ImportError, ValueError):
        return None


def _is_regular(spec: importlib.machinery.ModuleSpec | None) -> bool:
    """A module or a package with ``__init__.py`` (a namespace package yields to those, as in a plain import)."""
    return spec is not None and spec.origin not in (None, "namespace")


def _locations(paths: list[str]) -> list[Path]:
    return [Path(p).resolve() for p in paths]


def _folder_of(module: Any, folders: list[Path]) -> Path | None:
    """The folder of ``folders`` that ``module``'s file (or a package's folder) lies in, or None."""
    file = getattr(module, "__file__", None)
    paths = _locations([file] if file else list(getattr(module, "__path__", None) or []))
    for path in paths:
        for folder in folders:
            if path.is_relative_to(folder):
                return folder
    return None


def _forget(name: str) -> None:
    """Drop a module imported from a spec's folder, and its submodules, from ``sys.modules``."""
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    _IMPORTED_FROM.pop(name, None)


def _parents(module_name: str) -> set[str]:
    """``"a.b.c"`` -> ``{"a", "a.b", "a.b.c"}``."""
    parts = module_name.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def _spec_location(spec: importlib.machinery.ModuleSpec) -> str:
    if _is_regular(spec):
        return str(spec.origin)
    return ", ".join(spec.submodule_search_locations or []) or spec.name


def _module_location(module: Any) -> str:
    file = getattr(module, "__file__", None)
    if file:
        return file
    paths = list(getattr(module, "__path__", None) or [])
    return ", ".join(paths) if paths else "built-in"


def _describe(exc: BaseException, folders: list[Path] = ()) -> str:
    """``"ZeroDivisionError: division by zero (raised at /path/my_terms.py:3)"`` on one line: the last frame in
    ``folders`` (the user's code), else the last frame."""
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    own = [f for f in frames if any(Path(f.filename).resolve().is_relative_to(d) for d in folders)]
    frames = own or frames
    if frames and not isinstance(exc, SyntaxError):
        text += f" (raised at {frames[-1].filename}:{frames[-1].lineno})"
    return text
