"""Checks runtime/__init__.pyi against the installed runtime package.

Every class, function and method the stubs declare must exist at run time
with the same parameter names, kinds and defaults-presence (annotations are
not compared); every name in ``runtime.__all__`` must be declared in the
stubs. Exits non-zero with a list of mismatches. Complements mypy's
stubtest (run by test.sh where mypy is installable)."""

import ast
import inspect
import pathlib
import sys

import runtime

STUB = pathlib.Path(runtime.__file__).with_name("__init__.pyi")

errors = []


def stub_params(fn: ast.FunctionDef, is_method: bool):
    a = fn.args
    out = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for i, (arg, d) in enumerate(zip(pos, defaults)):
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, d is not None))
    if a.vararg:
        out.append((a.vararg.arg, "VAR_POSITIONAL", False))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "KEYWORD_ONLY", d is not None))
    if a.kwarg:
        out.append((a.kwarg.arg, "VAR_KEYWORD", False))
    if is_method and out and out[0][0] in ("self", "cls"):
        out = out[1:]
    return out


def runtime_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        out.append((p.name, p.kind.name, p.default is not inspect.Parameter.empty))
    if out and out[0][0] in ("self", "cls", "$self"):
        out = out[1:]
    return out


def same(stub, real):
    if real is None:
        return True  # no introspectable signature: presence is all we check
    # Positional-only-ness is not always visible at run time (pyo3 text
    # signatures): compare names, kinds modulo positional-only, defaults.
    def norm(ps):
        return [(n, "POSITIONAL" if k in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD") else k, d) for n, k, d in ps]

    return norm(stub) == norm(real)


tree = ast.parse(STUB.read_text())
declared = set()
for node in tree.body:
    if isinstance(node, ast.ClassDef):
        declared.add(node.name)
        if node.name.startswith("_"):
            continue
        cls = getattr(runtime, node.name, None)
        if cls is None:
            errors.append(f"class {node.name} is in the stubs but not in the module")
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                if not hasattr(cls, item.name):
                    errors.append(f"{node.name}.{item.name} is in the stubs but not in the module")
                    continue
                is_prop = any(
                    isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list
                )
                if is_prop or item.name in ("__await__",):
                    continue
                real = runtime_params(getattr(cls, item.name))
                if item.name == "__init__" and real == [
                    ("args", "VAR_POSITIONAL", False),
                    ("kwargs", "VAR_KEYWORD", False),
                ]:
                    real = None  # object.__init__: the native __new__ takes the arguments
                st = stub_params(item, True)
                if not same(st, real):
                    errors.append(f"{node.name}.{item.name}: stub {st} != runtime {real}")
        # Public runtime methods missing from the stubs.
        stub_members = {i.name for i in node.body if isinstance(i, ast.FunctionDef)}
        for name, value in vars(cls).items():
            if name.startswith("_") or not callable(value) and not isinstance(value, property):
                continue
            if name not in stub_members:
                errors.append(f"{node.name}.{name} exists at run time but is not in the stubs")
    elif isinstance(node, ast.FunctionDef):
        declared.add(node.name)
        fn = getattr(runtime, node.name, None)
        if fn is None:
            errors.append(f"function {node.name} is in the stubs but not in the module")
        elif not same(stub_params(node, False), runtime_params(fn)):
            errors.append(f"{node.name}: stub differs from runtime signature")
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Name):
                declared.add(t.id)
                if not t.id.startswith("_") and not hasattr(runtime, t.id):
                    errors.append(f"{t.id} is in the stubs but not in the module")

for name in runtime.__all__:
    if name not in declared:
        errors.append(f"{name} is in __all__ but not in the stubs")
    if not hasattr(runtime, name):
        errors.append(f"{name} is in __all__ but not in the module")

if errors:
    print("stub check failed:", *errors, sep="\n  ")
    sys.exit(1)
print(f"stub check: {len(declared)} names match runtime/__init__.pyi")
