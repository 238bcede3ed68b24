"""A fast renderer for the common template shape: text, merge fields, simple filters, loops and conditions.

Most payloads (every ShopCtrl-syntax one after translation) use only: literal text, ``{{ a.b.c }}``,
``{{ a.b | json }}`` / ``| netformat('0.00')`` and other plain filters with constant arguments,
``{% for x in … %}`` without ``loop``/``else``, and ``{% if … %}``/``elif``/``else``. For those, this module
turns the Jinja2 syntax tree into a tree of Python closures once, and rendering appends to a list instead of
running Jinja's generator. It calls the *same* environment methods and helpers as the compiled Jinja code
(``environment.getattr``/``getitem`` of the sandbox, ``finalize``, the filters, ``_sc_rows``/``_sc_has``/
``_sc_is``, the loop guard), so output and sandboxing are identical; tests render a corpus both ways.

Anything else (macros, assignments, tests, arithmetic, method calls …) is not handled here: ``build``
returns ``None`` and the caller uses the Jinja template. Errors are not reported here either: the caller
renders again with Jinja, which raises the error with its line number. Only the bounds are enforced here
(the loop guard checks the deadline; the output size is checked after every loop iteration).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Undefined

from shopctrl_desktop.domain import template_env as _tenv

Expr = Callable[[dict, dict], Any]  # (loop locals, root variables) -> value
Stmt = Callable[[dict, dict, list], None]  # appends output chunks

_CALLABLE_GLOBALS = frozenset({"_sc_rows", "_sc_has", "_sc_is"})
_NOT_FOUND = object()
_SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super", "context"})


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
    def __init__(self, body: Stmt, env: _tenv.ShopCtrlEnvironment) -> None:
        self._body = body
        self._env = env

    def render(self, variables: dict[str, Any], max_chars: int) -> str:
        out = _Out()
        self._body({}, variables, out)
        text = "".join(out)
        if len(text) > max_chars:
            raise _tenv.size_error()
        return text


def build(tree: nodes.Template, env: _tenv.ShopCtrlEnvironment) -> FastTemplate | None:
    """A FastTemplate for ``tree``, or ``None`` when the template uses anything this module does not handle."""
    try:
        return FastTemplate(_Builder(env).block(tree.body, frozenset()), env)
    except Unsupported:
        return None


class _Builder:
    def __init__(self, env: _tenv.ShopCtrlEnvironment) -> None:
        self.env = env
        self.finalize = env.finalize
        self.undefined = env.undefined
        self.globals = env.globals

    # ------------------------------------------------------------------ statements

    def block(self, body: list[nodes.Node], loop_vars: frozenset[str]) -> Stmt:
        stmts = [self.stmt(n, loop_vars) for n in body]
        if len(stmts) == 1:
            return stmts[0]

        def run(local: dict, root: dict, out: list) -> None:
            for s in stmts:
                s(local, root, out)

        return run

    def stmt(self, node: nodes.Node, loop_vars: frozenset[str]) -> Stmt:
        if isinstance(node, nodes.Output):
            return self.output(node, loop_vars)
        if isinstance(node, nodes.For):
            return self.for_(node, loop_vars)
        if isinstance(node, nodes.If):
            return self.if_(node, loop_vars)
        raise Unsupported(type(node).__name__)

    def output(self, node: nodes.Output, loop_vars: frozenset[str]) -> Stmt:
        parts: list[tuple[bool, Any]] = []
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((True, child.data))
            else:
                parts.append((False, self.expr(child, loop_vars)))
        finalize = self.finalize
        if len(parts) == 1 and parts[0][0]:
            text = parts[0][1]
            return lambda local, root, out: out.append(text)
        if len(parts) == 1:
            fn = parts[0][1]
            return lambda local, root, out: out.append(finalize(fn(local, root)))

        def run(local: dict, root: dict, out: list) -> None:
            append = out.append
            for is_text, part in parts:
                append(part if is_text else finalize(part(local, root)))

        return run

    def for_(self, node: nodes.For, loop_vars: frozenset[str]) -> Stmt:
        if node.else_ or node.test is not None or node.recursive or not isinstance(node.target, nodes.Name):
            raise Unsupported("for-loop form")
        if any(n.name == "loop" for n in node.find_all(nodes.Name)):
            raise Unsupported("loop variable")
        iter_node = node.iter
        if not (isinstance(iter_node, nodes.Filter) and iter_node.name == "_sc_iter"):
            raise Unsupported("unguarded loop")
        iterable = self.expr(iter_node.node, loop_vars)
        var = node.target.name
        body = self.block(node.body, loop_vars | {var})
        guard = _tenv.iter_guard
        max_chars = _tenv._max_chars
        lineno = node.lineno

        def run(local: dict, root: dict, out: list) -> None:
            inner = dict(local)
            limit = max_chars()
            check = out.check
            try:
                for item in guard(iterable(local, root)):
                    inner[var] = item
                    body(inner, root, out)
                    check(limit)
            except _tenv.LimitExceeded as exc:
                if getattr(exc, "lineno", None) is None:
                    exc.lineno = lineno  # type: ignore[attr-defined]
                raise

        return run

    def if_(self, node: nodes.If, loop_vars: frozenset[str]) -> Stmt:
        branches = [(self.expr(node.test, loop_vars), self.block(node.body, loop_vars))]
        for elif_ in node.elif_:
            branches.append((self.expr(elif_.test, loop_vars), self.block(elif_.body, loop_vars)))
        else_ = self.block(node.else_, loop_vars) if node.else_ else None

        def run(local: dict, root: dict, out: list) -> None:
            for test, body in branches:
                if test(local, root):
                    body(local, root, out)
                    return
            if else_ is not None:
                else_(local, root, out)

        return run

    # ------------------------------------------------------------------ expressions

    def expr(self, node: nodes.Node, loop_vars: frozenset[str]) -> Expr:
        if isinstance(node, nodes.Const):
            value = node.value
            return lambda local, root: value
        if isinstance(node, nodes.Name) and node.ctx == "load":
            return self.name(node.name, loop_vars)
        if isinstance(node, nodes.Getattr):
            obj = self.expr(node.node, loop_vars)
            attr = node.attr
            getattr_ = self.env.getattr
            return lambda local, root: getattr_(obj(local, root), attr)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            obj = self.expr(node.node, loop_vars)
            key = node.arg.value
            getitem = self.env.getitem
            return lambda local, root: getitem(obj(local, root), key)
        if isinstance(node, nodes.Filter):
            return self.filter(node, loop_vars)
        if isinstance(node, nodes.Not):
            inner = self.expr(node.node, loop_vars)
            return lambda local, root: not inner(local, root)
        if isinstance(node, nodes.Call):
            return self.call(node, loop_vars)
        if isinstance(node, nodes.Dict) and all(isinstance(p.key, nodes.Const) for p in node.items):
            pairs = [(p.key.value, self.expr(p.value, loop_vars)) for p in node.items]
            return lambda local, root: {k: v(local, root) for k, v in pairs}
        raise Unsupported(type(node).__name__)

    def name(self, name: str, loop_vars: frozenset[str]) -> Expr:
        if name in loop_vars:
            return lambda local, root: local[name]
        if name in _SPECIAL_NAMES or (name in self.globals and name not in _CALLABLE_GLOBALS):
            raise Unsupported(f"global {name}")
        undefined = self.undefined
        globals_ = self.globals

        def lookup(local: dict, root: dict) -> Any:
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

    def filter(self, node: nodes.Filter, loop_vars: frozenset[str]) -> Expr:
        func = self.env.filters.get(node.name)
        if func is None or getattr(func, "jinja_pass_arg", None) is not None or node.name == "_sc_iter":
            raise Unsupported(f"filter {node.name}")
        if node.kwargs or node.dyn_args or node.dyn_kwargs or node.node is None:
            raise Unsupported("filter arguments")
        if not all(isinstance(a, nodes.Const) for a in node.args):
            raise Unsupported("filter arguments")
        args = tuple(a.value for a in node.args)
        value = self.expr(node.node, loop_vars)
        if not args:
            return lambda local, root: func(value(local, root))
        if len(args) == 1:
            arg = args[0]
            return lambda local, root: func(value(local, root), arg)
        return lambda local, root: func(value(local, root), *args)

    def call(self, node: nodes.Call, loop_vars: frozenset[str]) -> Expr:
        if not (isinstance(node.node, nodes.Name) and node.node.name in _CALLABLE_GLOBALS):
            raise Unsupported("call")
        if node.kwargs or node.dyn_args or node.dyn_kwargs or node.node.name in loop_vars:
            raise Unsupported("call arguments")
        func = self.globals[node.node.name]
        args = [self.expr(a, loop_vars) for a in node.args]
        return lambda local, root: func(*(a(local, root) for a in args))


__all__ = ["FastTemplate", "build", "Unsupported", "Undefined"]
