"""Isaac Sim's shipped Python sources read with ``ast`` (never imported: they need Kit), and a checker that matches
every Kit / Isaac Sim name a module of ours uses against them.

:class:`Sources` indexes the ``isaacsim`` package of a venv (the wheels carry each extension's Python sources, and
``.pyi`` stubs for some compiled bindings): ``kit/kernel/py`` (carb, omni.ext, omni.kit.app), ``kit/extscore``,
``exts`` and ``extscache`` (the Isaac Sim and physics extensions); ``extsDeprecated`` is indexed apart, so that a name
found only there is reported as deprecated.

:func:`check_code` walks a module of ours and follows, statically, what it imports from ``omni``, ``carb`` and
``isaacsim`` (``pxr`` is out of scope): attribute chains on those modules, on the objects their functions return
(a return annotation, or every ``return Class(...)`` of the body), on ``self`` attributes and locals assigned from
them, through our own functions' returns. Each use is one :class:`Use`: ``ok`` (the name exists; a call's
positional count and keywords fit its signature), ``error`` (they do not) or ``unchecked`` (the module is not in the
sources, or the object comes from compiled code without a stub).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

KIT_ROOTS = ("omni", "carb", "isaacsim")
PYBIND_ARG = re.compile(r"arg\d+")  # pybind11's name for an unnamed argument: positional only
UNTYPED = {"object", "Any", "typing.Any"}


def isaacsim_package(venv: Path) -> Path | None:
    """The ``isaacsim`` package folder inside ``venv`` (``lib/python3.*/site-packages/isaacsim``), or None."""
    found = sorted(venv.glob("lib/python3*/site-packages/isaacsim/exts"))
    return found[0].parent if found else None


# -- what a name resolves to ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mod:
    name: str
    path: Path | None  # None: a namespace package (or a compiled module, see ``compiled``)
    compiled: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class Cls:
    mod: Mod
    node: ast.ClassDef

    @property
    def qualname(self) -> str:
        return f"{self.mod.name}.{self.node.name}"


@dataclass(frozen=True)
class Func:
    mod: Mod
    nodes: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]  # overloads
    owner: Cls | None
    qualname: str

    @property
    def kind(self) -> str:
        decorators = {ast.unparse(d) for d in self.nodes[0].decorator_list}
        if "staticmethod" in decorators:
            return "static"
        if "classmethod" in decorators:
            return "class"
        if "property" in decorators or any(d.endswith((".setter", ".getter")) for d in decorators):
            return "property"
        return "method" if self.owner is not None else "function"


@dataclass(frozen=True)
class Inst:
    """An object of a class of the sources."""

    cls: Cls


@dataclass(frozen=True)
class Val:
    """A name that exists with no type the checker follows (a constant, an unannotated attribute)."""

    qualname: str


@dataclass(frozen=True)
class Opaque:
    """A Kit object whose members cannot be checked (compiled without a stub, a module not in the sources, an
    unannotated property): every name used on it is an ``unchecked`` use, named ``dotted`` + ``.name``."""

    dotted: str
    reason: str
    terminal: bool = False  # what a name used on it gives is not followed further


Sym = Mod | Cls | Func | Inst | Val | Opaque


@dataclass(frozen=True)
class Missing:
    """``name`` is not in the sources; ``why`` says what was looked for."""

    name: str
    why: str


# -- the sources ----------------------------------------------------------------------------------------------------
@dataclass
class _Namespace:
    """A module's top-level names: ``bindings`` name -> statement, star imports, ``__all__``."""

    bindings: dict[str, ast.AST] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)
    all: list[str] | None = None
    patches: dict[tuple[str, str], ast.expr] = field(default_factory=dict)  # (class name, attr) -> value


class Sources:
    """The Python sources of the ``isaacsim`` package folder ``root`` (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = root
        self.roots = [root / "kit" / "kernel" / "py"]
        for folder in ("kit/extscore", "exts", "extscache"):
            self.roots += sorted(p for p in (root / folder).glob("*") if p.is_dir())
        self.deprecated_roots = sorted(p for p in (root / "extsDeprecated").glob("*") if p.is_dir())
        self._modules: dict[str, Mod | None] = {}
        self._namespaces: dict[Mod, _Namespace] = {}
        self._patch_modules: list[Mod] = []

    # modules
    def module(self, name: str) -> Mod | None:
        if name not in self._modules:
            self._modules[name] = self._find(name, self.roots, False) or self._find(name, self.deprecated_roots, True)
        return self._modules[name]

    @staticmethod
    def _find(name: str, roots: Iterable[Path], deprecated: bool) -> Mod | None:
        rel = Path(*name.split("."))
        namespace = None
        for base in roots:
            for candidate in (f"{rel}.py", f"{rel}/__init__.py", f"{rel}.pyi", f"{rel}/__init__.pyi"):
                if (base / candidate).is_file():
                    return Mod(name, base / candidate, deprecated=deprecated)
            if (base / rel).is_dir():
                namespace = namespace or Mod(name, None, deprecated=deprecated)
            elif any((base / rel.parent).glob(f"{rel.name}.*.so")):
                return Mod(name, None, compiled=True, deprecated=deprecated)
        return namespace

    def namespace(self, mod: Mod) -> _Namespace:
        if mod not in self._namespaces:
            ns = _Namespace()
            self._namespaces[mod] = ns
            if mod.path is not None:
                self._scan(mod, ast.parse(mod.path.read_text(errors="replace")).body, ns)
                if ns.patches:
                    self._patch_modules.append(mod)
        return self._namespaces[mod]

    def _scan(self, mod: Mod, body: list[ast.stmt], ns: _Namespace) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                ns.bindings.setdefault(node.name, node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    ns.bindings[alias.asname or alias.name.split(".")[0]] = node
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        ns.stars.append(self._absolute(mod, node))
                    else:
                        ns.bindings[alias.asname or alias.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        ns.bindings[target.id] = node
                        if target.id == "__all__" and node.value is not None:
                            try:
                                ns.all = list(ast.literal_eval(node.value))
                            except ValueError:
                                pass
                    elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and node.value:
                        ns.patches[(target.value.id, target.attr)] = node.value
            elif isinstance(node, ast.If):
                self._scan(mod, node.body + node.orelse, ns)
            elif isinstance(node, ast.Try):
                self._scan(mod, node.body + [s for h in node.handlers for s in h.body] + node.orelse, ns)

    @staticmethod
    def _absolute(mod: Mod, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = mod.name if mod.path is not None and mod.path.stem == "__init__" else mod.name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{node.module}" if node.module else package

    # names
    def resolve(self, dotted: str) -> Sym | Missing:
        """What ``dotted`` (``module[.attr...]``) names in the sources."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            mod = self.module(".".join(parts[:cut]))
            if mod is not None:
                sym: Sym | Missing = mod
                for attr in parts[cut:]:
                    sym = self.member(sym, attr)
                    if isinstance(sym, Missing):
                        return sym
                return sym
        return Missing(dotted, f"no module {parts[0]} in the sources")

    def member(self, sym: Sym, attr: str) -> Sym | Missing:
        """``sym.attr``: a module's name or submodule, a class's member (bases included), an object's member."""
        if isinstance(sym, Opaque):
            return Opaque(f"{sym.dotted}.{attr}", sym.reason, sym.terminal)
        if isinstance(sym, Mod):
            if sym.compiled:
                return Opaque(f"{sym.name}.{attr}", f"{sym.name} is compiled and ships no .pyi stub")
            found = self._lookup(sym, attr, set())
            if found is None and sym.path is None:  # a namespace package: the module is not in the wheels
                return Opaque(f"{sym.name}.{attr}", f"no module {sym.name}.{attr} in the sources")
            return found if found is not None else Missing(f"{sym.name}.{attr}", f"{sym.name} has no {attr}")
        if isinstance(sym, Func) and sym.kind != "property":
            return Val(f"{sym.qualname}.{attr}")  # a function's own attribute (__name__ ...)
        cls = sym.cls if isinstance(sym, Inst) else sym
        if isinstance(cls, Func):  # a property: its value
            cls = self.returns(cls)
            return self.member(cls, attr) if not isinstance(cls, (Val, type(None))) else Val(f"{sym.qualname}.{attr}")
        if not isinstance(cls, Cls):
            return Val(f"{getattr(sym, 'qualname', sym)}.{attr}")
        found, unresolved = self._class_member(cls, attr, set())
        if found is not None:
            return found
        why = f"{cls.qualname} has no {attr}" + (
            f" (bases not in the sources: {', '.join(unresolved)})" * bool(unresolved)
        )
        return Missing(f"{cls.qualname}.{attr}", why)

    def _lookup(self, mod: Mod, name: str, seen: set) -> Sym | None:
        if (mod, name) in seen:
            return None
        seen.add((mod, name))
        ns = self.namespace(mod)
        node = ns.bindings.get(name)
        if node is not None:
            return self._bound(mod, name, node, seen)
        for star in ns.stars:
            target = self.module(star)
            if target is None or target.compiled:
                continue
            exported = self.namespace(target).all
            if exported is not None and name not in exported:
                continue
            found = self._lookup(target, name, seen)
            if found is not None:
                return found
        return self.module(f"{mod.name}.{name}")

    def _bound(self, mod: Mod, name: str, node: ast.AST, seen: set) -> Sym | None:
        if isinstance(node, ast.ClassDef):
            return Cls(mod, node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return Func(mod, (node,), None, f"{mod.name}.{name}")
        if isinstance(node, ast.Import):
            alias = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == name)
            return self.module(alias.name if alias.asname else name)
        if isinstance(node, ast.ImportFrom):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            source = self._absolute(mod, node)
            target = self.module(source)
            if target is None:
                return None
            if target.compiled:
                return Opaque(f"{source}.{alias.name}", f"{source} is compiled and ships no .pyi stub")
            return self._lookup(target, alias.name, seen)
        value = getattr(node, "value", None)
        if isinstance(value, (ast.Name, ast.Attribute)):
            aliased = self.expression(mod, value)
            if aliased is not None and not isinstance(aliased, Missing):
                return aliased
        return Val(f"{mod.name}.{name}")

    def expression(self, mod: Mod, node: ast.expr) -> Sym | Missing | None:
        """A module-level name or attribute chain of ``mod`` (an annotation, an alias, a base class)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.Name):
            return self._lookup(mod, node.id, set())
        if isinstance(node, ast.Attribute):
            base = self.expression(mod, node.value)
            return None if base is None or isinstance(base, Missing) else self.member(base, node.attr)
        if isinstance(node, ast.BinOp):  # X | None
            for side in (node.left, node.right):
                if not (isinstance(side, ast.Constant) and side.value is None):
                    return self.expression(mod, side)
        return None

    def _class_member(self, cls: Cls, attr: str, seen: set) -> tuple[Sym | None, list[str]]:
        if cls in seen:
            return None, []
        seen.add(cls)
        defs = tuple(
            n for n in cls.node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == attr
        )
        if defs:
            return Func(cls.mod, defs, cls, f"{cls.qualname}.{attr}"), []
        for node in cls.node.body:
            if isinstance(node, ast.ClassDef) and node.name == attr:
                return Cls(cls.mod, node), []
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(t, ast.Name) and t.id == attr for t in targets
            ):
                return Val(f"{cls.qualname}.{attr}"), []
        for mod in list(self._patch_modules):
            value = self.namespace(mod).patches.get((cls.node.name, attr))
            if value is not None:
                target = self._lookup(mod, cls.node.name, set())
                if target == cls:
                    found = self.expression(mod, value)
                    if isinstance(found, Func):
                        return Func(found.mod, found.nodes, cls, f"{cls.qualname}.{attr}"), []
                    return Val(f"{cls.qualname}.{attr}"), []
        unresolved = []
        for base in cls.node.bases:
            text = ast.unparse(base)
            if text in ("object", "typing.Generic") or text.startswith(("typing.Generic[", "Generic[")):
                continue
            resolved = self.expression(cls.mod, base)
            if isinstance(resolved, Cls):
                found, deeper = self._class_member(resolved, attr, seen)
                if found is not None:
                    return found, []
                unresolved += deeper
            else:
                unresolved.append(text)
        return None, unresolved

    def returns(self, func: Func) -> Sym | None:
        """What calling ``func`` (or reading a property) gives: its return annotation's class, or the class every
        ``return Class(...)`` of its body makes; None when neither says (a value the checker does not follow)."""
        node = func.nodes[0]
        if node.returns is not None:
            if ast.unparse(node.returns) in UNTYPED or ast.unparse(node.returns) == "None":
                return None
            found = self.expression(func.mod, node.returns)
            return Inst(found) if isinstance(found, Cls) else None
        made = set()
        for inner in _own_statements(node):
            if isinstance(inner, ast.Return):
                value = inner.value
                found = self.expression(func.mod, value.func) if isinstance(value, ast.Call) else None
                made.add(found if isinstance(found, Cls) else None)
        if len(made) == 1 and None not in made:
            return Inst(made.pop())
        if func.kind == "property":
            return Opaque(func.qualname, "the property's value has no type in the sources", terminal=True)
        return None


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _own_statements(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body (its lambdas' included), not those of functions or classes nested in it."""
    stack = [n for n in ast.iter_child_nodes(func) if not isinstance(n, ast.arguments)]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _module_level(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes of a module outside its functions (class bodies included, methods not)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, FUNCTIONS):
            stack.extend(ast.iter_child_nodes(node))


# -- signatures -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # positional, either, keyword, varargs, varkw
    default: str | None  # the default's source text; None: required


def signature(func: Func, node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Param]:
    """``node``'s parameters as a call sees them (``self`` / ``cls`` dropped for methods)."""
    a = node.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + [ast.unparse(d) for d in a.defaults]
    params = [
        Param(p.arg, "positional" if i < len(a.posonlyargs) or PYBIND_ARG.fullmatch(p.arg) else "either", d)
        for i, (p, d) in enumerate(zip(positional, defaults, strict=True))
    ]
    if func.owner is not None and func.kind != "static" and params:
        params = params[1:]
    if a.vararg:
        params.append(Param(a.vararg.arg, "varargs", "()"))
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params.append(Param(p.arg, "keyword", None if d is None else ast.unparse(d)))
    if a.kwarg:
        params.append(Param(a.kwarg.arg, "varkw", "{}"))
    return params


def bind(params: list[Param], positional: int, keywords: list[str], spread: bool) -> str | None:
    """Why a call with ``positional`` arguments and ``keywords`` does not fit ``params`` (None: it fits);
    ``spread``: the call passes ``*args`` or ``**kwargs``, so missing arguments are not reported."""
    slots = [p for p in params if p.kind in ("positional", "either")]
    names = {p.name: p for p in params if p.kind in ("either", "keyword")}
    if positional > len(slots) and not any(p.kind == "varargs" for p in params):
        return f"takes at most {len(slots)} positional arguments, the call gives {positional}"
    for kw in keywords:
        if kw not in names and not any(p.kind == "varkw" for p in params):
            return f"has no keyword argument '{kw}' (it takes {', '.join(p.name for p in params) or 'none'})"
        if kw in [p.name for p in slots[:positional]]:
            return f"gets '{kw}' twice (positionally and by keyword)"
    given = {p.name for p in slots[:positional]} | set(keywords)
    missing = [p.name for p in params if p.default is None and p.name not in given]
    if missing and not spread:
        return f"misses required argument(s) {', '.join(missing)}"
    return None


# -- our code -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Use:
    """One Kit / Isaac Sim name a module of ours uses: ``status`` ok, error or unchecked; ``detail`` says why."""

    file: str
    line: int
    name: str
    status: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.name}: {self.status}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Ours:
    """A module, class, function or object of our own code (followed, not checked)."""

    kind: str  # module, class, function, instance
    module: str
    node: ast.AST | None = None
    owner: ast.ClassDef | None = None  # a function's class / an instance's class


@dataclass(frozen=True)
class Dynamic:
    """``getattr(obj, <not a constant>)`` on a Kit object ``obj``."""

    obj: Sym


@dataclass
class OurModule:
    name: str  # dotted, e.g. isaac.rl.workbench.backend.physx_stage
    path: Path
    tree: ast.Module
    label: str  # how uses name the file


class CodeChecker:
    """Follows the Kit / Isaac Sim names used by ``modules`` (see the module docstring); ``uses`` after
    :meth:`run`. ``known_returns``: what a call on a module not in the sources gives, by its dotted name (None: a
    value of a library out of scope, e.g. the ``pxr`` stage ``omni.usd`` returns)."""

    def __init__(self, sources: Sources, modules: list[OurModule], known_returns: dict[str, str | None] | None = None):
        self.sources, self.known_returns = sources, known_returns or {}
        self.modules = {m.name: m for m in modules}
        self.uses: dict[tuple[str, int, int, str], Use] = {}
        self._memo: dict[int, object] = {}
        self._busy: set[int] = set()
        self._parent_maps: dict[str, dict[int, ast.AST]] = {}

    def run(self) -> list[Use]:
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                self._import(node, module)
            for scope in [module.tree, *(n for n in ast.walk(module.tree) if isinstance(n, FUNCTIONS))]:
                owner = self._owner(module, scope)
                statements = _own_statements(scope) if scope is not module.tree else _module_level(module.tree)
                for node in statements:
                    if isinstance(node, (ast.Call, ast.Attribute)):
                        self.eval(node, module, owner, None if scope is module.tree else scope)
        return sorted(self.uses.values(), key=lambda u: (u.file, u.line, u.name))

    def _import(self, node: ast.AST, module: OurModule) -> None:
        """An import of a Kit / Isaac Sim module or name is a use of it."""
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            dotted = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            return
        for name in dotted:
            if name.split(".")[0] not in KIT_ROOTS:
                continue
            found = self.sources.resolve(name)
            if isinstance(found, Missing):
                self._use(module, node, name, "error", found.why)
            elif isinstance(found, Opaque):
                self._use(module, node, name, "unchecked", found.reason)
            elif isinstance(found, (Mod, Cls, Func)) and (found if isinstance(found, Mod) else found.mod).deprecated:
                self._use(module, node, name, "error", "only in extsDeprecated: deprecated in this Isaac Sim")
            else:
                self._use(module, node, name, "ok")

    def _parents(self, module: OurModule) -> dict[int, ast.AST]:
        if module.name not in self._parent_maps:
            self._parent_maps[module.name] = {
                id(child): parent for parent in ast.walk(module.tree) for child in ast.iter_child_nodes(parent)
            }
        return self._parent_maps[module.name]

    def _owner(self, module: OurModule, scope: ast.AST) -> ast.ClassDef | None:
        """The class whose method ``scope`` is, or is nested in (``self`` there is that class's object)."""
        parents, node = self._parents(module), scope
        while id(node) in parents:
            node = parents[id(node)]
            if isinstance(node, ast.ClassDef):
                return node
        return None

    def _enclosing(self, module: OurModule, scope: ast.AST | None) -> list[ast.AST]:
        """``scope`` and the functions it is nested in, innermost first."""
        chain, parents, node = [], self._parents(module), scope
        while node is not None and not isinstance(node, ast.Module):
            if isinstance(node, FUNCTIONS):
                chain.append(node)
            node = parents.get(id(node))
        return chain

    def _use(self, module: OurModule, node: ast.AST, name: str, status: str, detail: str = "") -> None:
        key = (module.label, node.lineno, node.col_offset, name)
        self.uses.setdefault(key, Use(module.label, node.lineno, name, status, detail))

    # evaluation
    def eval(self, node: ast.AST, module: OurModule, owner: ast.ClassDef | None, func: ast.AST | None):
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            value = self._eval(node, module, owner, func)
        finally:
            self._busy.discard(key)
        self._memo[key] = value
        return value

    def _eval(self, node, module, owner, func):
        if isinstance(node, ast.Name):
            if node.id == "self" and owner is not None:
                return Ours("instance", module.name, owner)
            return self._name(node.id, module, owner, func)
        if isinstance(node, ast.Attribute):
            return self._attribute(self.eval(node.value, module, owner, func), node.attr, node, module)
        if isinstance(node, ast.Call):
            return self._call(node, module, owner, func)
        if isinstance(node, (ast.BoolOp, ast.IfExp)):  # a or b, a if c else b: the first that is a Kit name
            values = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            found = [self.eval(value, module, owner, func) for value in values]
            return next((f for f in found if f is not None), None)
        return None

    def _name(self, name: str, module: OurModule, owner, func):
        for scope in self._enclosing(module, func):
            for stmt in _own_statements(scope):
                found = self._binding(stmt, name, module, owner, scope)
                if found is not None:
                    return found
        for stmt in module.tree.body:
            found = self._binding(stmt, name, module, owner, module.tree)
            if found is not None:
                return found
        return None

    def _binding(self, stmt, name, module, owner, scope):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
            if scope is module.tree:
                return Ours("class" if isinstance(stmt, ast.ClassDef) else "function", module.name, stmt)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    dotted = alias.name if alias.asname else name
                    return self._kit(dotted) if dotted.split(".")[0] in KIT_ROOTS else None
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if (alias.asname or alias.name) == name:
                    return self._import_from(stmt, alias.name, module)
        if isinstance(stmt, ast.Assign) and scope is not None:
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    return self.eval(stmt.value, module, owner, scope if scope is not module.tree else None)
                if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                    for t, v in zip(target.elts, stmt.value.elts, strict=False):
                        if isinstance(t, ast.Name) and t.id == name:
                            return self.eval(v, module, owner, scope if scope is not module.tree else None)
        return None

    def _kit(self, dotted: str):
        found = self.sources.resolve(dotted)
        if isinstance(found, Missing):
            return Opaque(dotted, found.why)
        return found

    def _import_from(self, stmt: ast.ImportFrom, name: str, module: OurModule):
        if stmt.level:
            base = module.name.split(".")[: -stmt.level]
            source = ".".join(base + ([stmt.module] if stmt.module else []))
            if f"{source}.{name}" in self.modules:
                return Ours("module", f"{source}.{name}")
            if source in self.modules:
                target = self.modules[source]
                for node in target.tree.body:
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.name == name:
                        kind = "class" if isinstance(node, ast.ClassDef) else "function"
                        return Ours(kind, source, node)
            return None
        if (stmt.module or "").split(".")[0] in KIT_ROOTS:
            return self._kit(f"{stmt.module}.{name}")
        return None

    def _attribute(self, base, attr: str, node: ast.AST, module: OurModule):
        if base is None:
            return None
        if isinstance(base, Ours):
            return self._our_attribute(base, attr, node, module)
        if isinstance(base, Dynamic):
            return None
        found = self.sources.member(base, attr)
        name = self._name_of(base, attr)
        if isinstance(found, Missing):
            self._use(module, node, name, "error", found.why)
            return None
        if isinstance(found, Opaque):
            self._use(module, node, found.dotted, "unchecked", found.reason)
            return None if isinstance(base, Opaque) and base.terminal else found
        deprecated = isinstance(found, Mod) and found.deprecated
        deprecated |= isinstance(found, (Cls, Func)) and found.mod.deprecated
        if deprecated:
            self._use(module, node, name, "error", "only in extsDeprecated: deprecated in this Isaac Sim")
            return found
        self._use(module, node, name, "ok")
        if isinstance(found, Func) and found.kind == "property":
            return self.sources.returns(found)
        return found

    @staticmethod
    def _name_of(base, attr: str) -> str:
        if isinstance(base, Mod):
            return f"{base.name}.{attr}"
        if isinstance(base, Cls):
            return f"{base.qualname}.{attr}"
        if isinstance(base, Inst):
            return f"{base.cls.qualname}.{attr}"
        if isinstance(base, Opaque):
            return f"{base.dotted}.{attr}"
        return f"{getattr(base, 'qualname', base)}.{attr}"

    def _our_attribute(self, base: Ours, attr: str, node: ast.AST, module: OurModule):
        if base.kind == "module":
            target = self.modules.get(base.module)
            if target is None:
                return None
            for stmt in target.tree.body:
                found = self._binding(stmt, attr, target, None, target.tree)
                if found is not None:
                    return found
            return None
        if base.kind != "instance" or base.node is None:
            return None
        target = self.modules[base.module]
        cls = base.node
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
                return Ours("function", base.module, stmt, cls)
        assigned = False  # the class sets self.<attr> itself: its own attribute, Kit's or not
        for method in cls.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for stmt in _own_statements(method):
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                    for t, v in self._pairs(stmt):
                        if isinstance(t, ast.Attribute) and ast.unparse(t) == f"self.{attr}":
                            assigned = True
                            found = self.eval(v, target, cls, method) if v is not None else None
                            if found is not None:
                                return found
        if assigned:
            return None
        for base_expr in cls.bases:  # a member the class inherits from a Kit class
            kit_base = self.eval(base_expr, target, None, None)
            if isinstance(kit_base, Cls):
                return self._attribute(Inst(kit_base), attr, node, module)
            if isinstance(kit_base, Opaque):
                return self._attribute(Opaque(f"{kit_base.dotted}()", kit_base.reason), attr, node, module)
        return None

    @staticmethod
    def _pairs(stmt: ast.Assign | ast.AnnAssign):
        for target in stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]:
            if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
                yield from zip(target.elts, stmt.value.elts, strict=False)
            else:
                yield target, stmt.value

    def _call(self, node: ast.Call, module: OurModule, owner, func):
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(arg, (ast.Call, ast.Attribute)):
                self.eval(arg, module, owner, func)
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
            obj = self.eval(node.args[0], module, owner, func)
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                return self._attribute(obj, name.value, node, module)
            if obj is not None and not isinstance(obj, Ours):
                self._dynamic(obj, node, module)
                return Dynamic(obj)
            return None
        if isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Name) and node.func.func.id == "super":
            return None
        if isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "super()" and owner is not None:
            for base_expr in owner.bases:
                kit_base = self.eval(base_expr, module, None, None)
                if isinstance(kit_base, (Cls, Opaque)):
                    base = (
                        Inst(kit_base) if isinstance(kit_base, Cls) else Opaque(f"{kit_base.dotted}()", kit_base.reason)
                    )
                    callee = self._attribute(base, node.func.attr, node.func, module)
                    return self._apply(callee, node, module)
            return None
        callee = self.eval(node.func, module, owner, func)
        return self._apply(callee, node, module)

    def _apply(self, callee, node: ast.Call, module: OurModule):
        if callee is None or isinstance(callee, Dynamic):
            return None
        if isinstance(callee, Ours):
            return self._our_call(callee)
        name = ast.unparse(node.func)
        if isinstance(callee, Opaque):
            dotted = f"{callee.dotted}()"
            if dotted in self.known_returns:
                known = self.known_returns[dotted]
                return None if known is None else self._kit(known)
            return Opaque(dotted, callee.reason)
        if isinstance(callee, Cls):
            init, _ = self.sources._class_member(callee, "__init__", set())
            if isinstance(init, Func):
                self._check_args(init, node, module, f"{callee.qualname}(...)")
            return Inst(callee)
        if isinstance(callee, Func):
            self._check_args(callee, node, module, f"{callee.qualname}(...)")
            return self.sources.returns(callee)
        if isinstance(callee, Val):
            return None
        self._use(module, node, name, "error", "called, but it is not a function or class in the sources")
        return None

    def _check_args(self, callee: Func, node: ast.Call, module: OurModule, name: str) -> None:
        spread = any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords)
        positional = sum(not isinstance(a, ast.Starred) for a in node.args)
        keywords = [k.arg for k in node.keywords if k.arg is not None]
        problems = [bind(signature(callee, n), positional, keywords, spread) for n in callee.nodes]
        if all(problems):
            self._use(module, node, name, "error", problems[0])
        else:
            self._use(module, node, name, "ok", f"{positional} positional, keywords {keywords}" if keywords else "")

    def _our_call(self, callee: Ours):
        if callee.kind == "class":
            return Ours("instance", callee.module, callee.node)
        if callee.kind != "function":
            return None
        target = self.modules[callee.module]
        for stmt in _own_statements(callee.node):
            if isinstance(stmt, ast.Return) and stmt.value is not None:
                found = self.eval(stmt.value, target, callee.owner, callee.node)
                if found is not None:
                    return found
        return None

    def _dynamic(self, obj, node: ast.Call, module: OurModule) -> None:
        """``getattr(obj, <computed>)``: every ``get_*`` / ``set_*`` string of the module (and its get/set
        counterpart, which the code derives with ``str.replace``) must be a member of ``obj``."""
        names = set()
        for const in ast.walk(module.tree):
            if isinstance(const, ast.Constant) and isinstance(const.value, str):
                if re.fullmatch(r"(get|set)_[a-z_]+", const.value):
                    names |= {const.value, "gs"[const.value[0] == "g"] + const.value[1:]}
        for name in sorted(names):
            self._attribute(obj, name, node, module)


def load_module(path: Path, package_root: Path, label: str | None = None) -> OurModule:
    """One module of ours; ``package_root`` is the folder its dotted name starts from."""
    name = ".".join(path.relative_to(package_root).with_suffix("").parts)
    return OurModule(name, path, ast.parse(path.read_text()), label or path.name)


def leaves(names: Iterable[str]) -> set[str]:
    """``names`` less those that another one extends with ``.attr`` (``a.b`` goes when ``a.b.c`` is there)."""
    names = set(names)
    return {n for n in names if not any(other.startswith(f"{n}.") for other in names)}


def check_code(
    sources: Sources, modules: list[OurModule], known_returns: dict[str, str | None] | None = None
) -> list[Use]:
    """Every Kit / Isaac Sim use in ``modules`` (see :class:`CodeChecker`)."""
    return CodeChecker(sources, modules, known_returns).run()
