"""A fast renderer for the common template shape: text, merge fields, simple filters, loops and conditions.

Most payloads (every ShopCtrl-syntax one after translation) use only: literal text, ``{{ a.b.c }}``,
``{{ a['b'] }}``, ``{{ a.b | json }}`` / ``| netformat('0.00')`` and other plain filters with constant
arguments, ``_sc_rows``/``_sc_has``/``_sc_is`` calls, ``not``, ``{% for x in … %}`` without
``loop``/``else``/``if``, and ``{% if … %}``/``elif``/``else``. For those, this module turns the Jinja2
syntax tree into one small Python function, once per template. It calls the *same* functions as the
compiled Jinja code — the sandbox's ``getattr``/``getitem`` (only a key that is exactly in a dict is
read directly, which is what the sandbox would return too), ``finalize``, the filters, the loop guard — so
output and sandboxing are identical; tests render a corpus both ways. It avoids Jinja's per-output
generator step, undefined checks and method lookups, and formats with a formatter prepared per pattern.

The generated source contains no text from the template: names and attribute names are Python
identifiers checked here, every other constant is passed in a list (``K[i]``).

Anything else (macros, assignments, tests, arithmetic, method calls, ``loop`` …) is not handled:
``build`` returns ``None`` and the caller uses the Jinja template. Errors are not reported here either:
the caller renders again with Jinja, which raises the error with its line number. Only the bounds are
enforced here (the loop guard checks the deadline; the output size is checked after loop iterations).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Undefined

from shopctrl_desktop.domain.templates import env as _tenv
from shopctrl_desktop.domain.templates.formats import formatter

_CALLABLE_GLOBALS = frozenset({"_sc_rows", "_sc_has", "_sc_is"})
_SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super", "context"})
_FORMAT_FILTERS = frozenset({"_sc_format", "netformat"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_FOUND = object()


class Unsupported(Exception):
    pass


class _Out(list):
    """The output chunks, with the size of those already counted (``size`` up to index ``mark``)."""

    __slots__ = ("mark", "size")

    def __init__(self) -> None:
        super().__init__()
        self.mark = 0
        self.size = 0

    def check(self, limit: int) -> None:
        if len(self) - self.mark > 64:
            self.size += sum(map(len, self[self.mark :]))
            self.mark = len(self)
            if self.size > limit:
                raise _tenv.size_error()


class FastTemplate:
    def __init__(self, func: Callable[[dict, _Out, int], None], source: str) -> None:
        self._func = func
        self.source = source  # for debugging and tests

    def render(self, variables: dict[str, Any], max_chars: int) -> str:
        out = _Out()
        self._func(variables, out, max_chars)
        text = "".join(out)
        if len(text) > max_chars:
            raise _tenv.size_error()
        return text


def build(tree: nodes.Template, env: _tenv.ShopCtrlEnvironment) -> FastTemplate | None:
    """A FastTemplate for ``tree``, or ``None`` when the template uses anything this module does not handle."""
    try:
        return _Generator(env).generate(tree)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - an unexpected tree shape: the Jinja template renders it
        return None


def _make_path_getter(env_getattr: Callable[[Any, str], Any]) -> Callable[[Any, tuple[str, ...]], Any]:
    def get_path(obj: Any, attrs: tuple[str, ...]) -> Any:
        for attr in attrs:
            if type(obj) is dict:
                value = obj.get(attr, _NOT_FOUND)
                if value is not _NOT_FOUND:
                    obj = value
                    continue
            obj = env_getattr(obj, attr)
        return obj

    return get_path


def _make_lookup(env: _tenv.ShopCtrlEnvironment) -> Callable[[dict, str], Any]:
    globals_ = env.globals
    undefined = env.undefined

    def lookup(root: dict, name: str) -> Any:
        """As the case-insensitive Jinja context resolves a top-level name."""
        value = root.get(name, _NOT_FOUND)
        if value is not _NOT_FOUND:
            return value
        value = globals_.get(name, _NOT_FOUND)
        if value is not _NOT_FOUND:
            return value
        folded = name.casefold()
        for source in (globals_, root):
            for k, v in source.items():
                if k.casefold() == folded:
                    return v
        return undefined(name=name)

    return lookup


def _make_format(pattern: str) -> Callable[[Any], str]:
    fmt = formatter(pattern)

    def apply(value: Any) -> str:
        if value is None or isinstance(value, Undefined):
            return ""
        return fmt(value)

    return apply


class _Generator:
    def __init__(self, env: _tenv.ShopCtrlEnvironment) -> None:
        self.env = env
        self.consts: list[Any] = []
        self.lines: list[str] = []
        self.root_names: dict[str, str] = {}  # template name -> Python local
        self.loop_counter = 0

    def const(self, value: Any) -> str:
        self.consts.append(value)
        return f"K[{len(self.consts) - 1}]"

    def generate(self, tree: nodes.Template) -> FastTemplate:
        self.block(tree.body, {}, 1)
        head = ["def render(root, out, limit):", "    append = out.append", "    check = out.check"]
        head += [f"    {local} = lookup(root, {name!r})" for name, local in self.root_names.items()]
        source = "\n".join(head + self.lines + ["    return None"]) + "\n"
        namespace: dict[str, Any] = {
            "K": self.consts,
            "fin": self.env.finalize,
            "guard": _tenv.iter_guard,
            "lookup": _make_lookup(self.env),
            "gp": _make_path_getter(self.env.getattr),
            "gi": self.env.getitem,
            "LimitExceeded": _tenv.LimitExceeded,
        }
        exec(compile(source, "<fast template>", "exec"), namespace)  # noqa: S102 - generated from a checked AST
        return FastTemplate(namespace["render"], source)

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # ------------------------------------------------------------------ statements

    def block(self, body: list[nodes.Node], scope: dict[str, str], indent: int) -> None:
        if not body:
            self.emit(indent, "pass")
        for node in body:
            if isinstance(node, nodes.Output):
                self.output(node, scope, indent)
            elif isinstance(node, nodes.For):
                self.for_(node, scope, indent)
            elif isinstance(node, nodes.If):
                self.if_(node, scope, indent)
            else:
                raise Unsupported(type(node).__name__)

    def output(self, node: nodes.Output, scope: dict[str, str], indent: int) -> None:
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                if child.data:
                    self.emit(indent, f"append({self.const(child.data)})")
            else:
                self.emit(indent, f"append(fin({self.expr(child, scope)}))")

    def for_(self, node: nodes.For, scope: dict[str, str], indent: int) -> None:
        if node.else_ or node.test is not None or node.recursive or not isinstance(node.target, nodes.Name):
            raise Unsupported("for-loop form")
        if any(n.name == "loop" for n in node.find_all(nodes.Name)):
            raise Unsupported("loop variable")
        if not (isinstance(node.iter, nodes.Filter) and node.iter.name == "_sc_iter"):
            raise Unsupported("unguarded loop")
        if node.iter.node is None:
            raise Unsupported("unguarded loop")
        iterable = self.expr(node.iter.node, scope)
        self.loop_counter += 1
        local = f"l{self.loop_counter}"
        inner = {**scope, node.target.name: local}
        self.emit(indent, "try:")
        self.emit(indent + 1, f"for {local} in guard({iterable}):")
        self.block(node.body, inner, indent + 2)
        self.emit(indent + 2, "check(limit)")
        self.emit(indent, "except LimitExceeded as exc:")
        self.emit(indent + 1, f"exc.lineno = getattr(exc, 'lineno', None) or {int(node.lineno)}")
        self.emit(indent + 1, "raise")

    def if_(self, node: nodes.If, scope: dict[str, str], indent: int) -> None:
        self.emit(indent, f"if {self.expr(node.test, scope)}:")
        self.block(node.body, scope, indent + 1)
        for elif_ in node.elif_:
            self.emit(indent, f"elif {self.expr(elif_.test, scope)}:")
            self.block(elif_.body, scope, indent + 1)
        if node.else_:
            self.emit(indent, "else:")
            self.block(node.else_, scope, indent + 1)

    # ------------------------------------------------------------------ expressions

    def expr(self, node: nodes.Node, scope: dict[str, str]) -> str:
        if isinstance(node, nodes.Const):
            return self.const(node.value)
        if isinstance(node, nodes.Name) and node.ctx == "load":
            return self.name(node.name, scope)
        if isinstance(node, nodes.Getattr):
            attrs: list[str] = []
            while isinstance(node, nodes.Getattr):
                attrs.append(node.attr)
                node = node.node
            return f"gp({self.expr(node, scope)}, {self.const(tuple(reversed(attrs)))})"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            return f"gi({self.expr(node.node, scope)}, {self.const(node.arg.value)})"
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Not):
            return f"(not {self.expr(node.node, scope)})"
        if isinstance(node, nodes.Call):
            return self.call(node, scope)
        if isinstance(node, nodes.Dict) and all(isinstance(p.key, nodes.Const) for p in node.items):
            items = ", ".join(
                f"{self.const(p.key.value)}: {self.expr(p.value, scope)}"  # type: ignore[attr-defined]  # Const keys
                for p in node.items
            )
            return "{" + items + "}"
        raise Unsupported(type(node).__name__)

    def name(self, name: str, scope: dict[str, str]) -> str:
        if name in scope:
            return scope[name]
        if not _IDENT.match(name) or keyword.iskeyword(name):
            raise Unsupported("name")
        if name in _SPECIAL_NAMES or (name in self.env.globals and name not in _CALLABLE_GLOBALS):
            raise Unsupported(f"global {name}")
        if name not in self.root_names:
            self.root_names[name] = f"n{len(self.root_names)}"
        return self.root_names[name]

    def filter(self, node: nodes.Filter, scope: dict[str, str]) -> str:
        func = self.env.filters.get(node.name)
        if func is None or getattr(func, "jinja_pass_arg", None) is not None or node.name == "_sc_iter":
            raise Unsupported(f"filter {node.name}")
        if node.kwargs or node.dyn_args or node.dyn_kwargs or node.node is None:
            raise Unsupported("filter arguments")
        if not all(isinstance(a, nodes.Const) for a in node.args):
            raise Unsupported("filter arguments")
        value = self.expr(node.node, scope)
        consts = [a.value for a in node.args]  # type: ignore[attr-defined]  # all nodes.Const (checked above)
        if node.name in _FORMAT_FILTERS and len(consts) == 1 and isinstance(consts[0], str):
            return f"{self.const(_make_format(consts[0]))}({value})"
        args = "".join(f", {self.const(c)}" for c in consts)
        return f"{self.const(func)}({value}{args})"

    def call(self, node: nodes.Call, scope: dict[str, str]) -> str:
        if not (isinstance(node.node, nodes.Name) and node.node.name in _CALLABLE_GLOBALS):
            raise Unsupported("call")
        if node.kwargs or node.dyn_args or node.dyn_kwargs or node.node.name in scope:
            raise Unsupported("call arguments")
        func = self.const(self.env.globals[node.node.name])
        return f"{func}({', '.join(self.expr(a, scope) for a in node.args)})"


__all__ = ["FastTemplate", "build", "Unsupported"]
