"""Translate ShopCtrl's payload syntax into Jinja2 source, keeping line numbers.

ShopCtrl templates paste in unchanged; Jinja2 syntax in the same body passes through untouched.

- ``$$Order.OrderCode$$``              -> ``{{ Order.OrderCode }}``
- ``$$Order.Date#yyyy-MM-dd$$``        -> ``{{ Order.Date|_sc_format('yyyy-MM-dd') }}`` (see formats.py)
- ``<!-- RangeStart:OrderRow -->`` … ``<!-- RangeEnd:OrderRow -->``
                                       -> ``{% for OrderRow in _sc_rows('OrderRow', _sc_root, <outer rows>) %}`` …
  The collection is looked up in the enclosing loop rows (innermost first), then at the top of ``data``,
  then under a top-level entity (``data.Order.OrderRow``), then deeper. Inside, ``$$OrderRow.X$$`` reads
  the current row. ``RangeStart:Order.OrderRow`` (a dotted path) names the collection exactly.
- ``<!-- RangeStart:$$Order.CustomerReference$$ -->`` … ``<!-- RangeEnd:$$Order.CustomerReference$$ -->``
                                       -> ``{% if _sc_has(Order.CustomerReference) %}`` … ``{% endif %}``
  "has a value": not null/missing, not empty text, not zero, not false, not an empty list.
- ``<!-- RangeStart:$$Order.Status$$='Shipped' -->`` -> ``{% if _sc_is(Order.Status, 'Shipped') %}``:
  equal as text (case-insensitive) or as numbers; ``='null'`` means null or missing, ``=''`` empty or
  missing. ``!='…'`` negates (an addition to ShopCtrl's syntax).

Field paths are case-insensitive (the template environment looks keys up that way); inside a loop a path
whose first part names an open loop in any case reads the loop row. Errors (a RangeEnd without its
RangeStart, an unclosed range) raise :class:`SyntaxTranslationError` with the line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["translate", "SyntaxTranslationError", "jinja_string", "has_shopctrl_syntax"]

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA_KEYWORDS = frozenset(
    "and or not in is if else elif for endfor true false none True False None loop self recursive "
    "block endblock extends import include from as with without context macro call set".split()
)
# one alternation: a Range comment, or a $$field$$ token (no newlines inside)
_TOKEN_RE = re.compile(
    r"<!--\s*Range(?P<kind>Start|End)\s*:\s*(?P<arg>.*?)\s*-->"
    r"|\$\$(?P<field>[^\n]+?)\$\$",
    re.IGNORECASE | re.DOTALL,
)
_COND_RE = re.compile(
    r"^\$\$(?P<field>[^$\n]+?)\$\$\s*(?:(?P<op>!?=)\s*(?P<q>['\"])(?P<value>.*)(?P=q))?$", re.DOTALL
)


class SyntaxTranslationError(ValueError):
    def __init__(self, message: str, lineno: int) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno
        self.detail = message


def jinja_string(text: str) -> str:
    """A Jinja2 string literal for ``text``."""
    return (
        "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r") + "'"
    )


def has_shopctrl_syntax(body: str) -> bool:
    return "$$" in body or bool(re.search(r"<!--\s*Range(Start|End)\s*:", body, re.IGNORECASE))


@dataclass
class _Open:
    kind: str  # "loop" | "if"
    key: str  # normalised name used to match the RangeEnd
    var: str  # loop variable (loops only)
    name: str  # as written (messages)
    lineno: int


def _tag(inner: str, raw: str) -> str:
    """A Jinja block tag replacing ``raw``, with raw's line breaks inside it so line numbers stay put."""
    return "{% " + inner + "\n" * raw.count("\n") + " %}"


def _valid_var(name: str) -> bool:
    return bool(_IDENT_RE.match(name)) and name not in _JINJA_KEYWORDS


def _path_expr(path: str, loops: list[_Open], lineno: int) -> str:
    parts = [p.strip() for p in path.strip().split(".")]
    if not parts or any(not p for p in parts):
        raise SyntaxTranslationError(f"the merge field '$${path}$$' has an empty part", lineno)
    head, rest = parts[0], parts[1:]
    folded = head.casefold()
    expr = None
    for open_ in reversed(loops):
        if open_.kind == "loop" and open_.name.split(".")[-1].casefold() == folded:
            expr = open_.var
            break
    if expr is None:
        expr = head if _valid_var(head) else f"_sc_root[{jinja_string(head)}]"
    for part in rest:
        expr += f".{part}" if _valid_var(part) else f"[{jinja_string(part)}]"
    return expr


def _field_expr(token: str, loops: list[_Open], lineno: int) -> str:
    path, sep, fmt = token.partition("#")
    expr = _path_expr(path, loops, lineno)
    if sep and fmt:
        return f"{expr}|_sc_format({jinja_string(fmt)})"
    return expr


def _norm_key(arg: str) -> str:
    """RangeEnd matching key: the field or collection name, without $$ and without the ='…' part."""
    m = _COND_RE.match(arg.strip())
    if m:
        return "$" + m.group("field").strip().casefold()
    return arg.strip().casefold()


#: Python compiles at most 20 statically nested blocks; each loop is one (conditions are not).
MAX_NESTED_LOOPS = 20


def translate(body: str) -> str:
    """Jinja2 source equivalent to the ShopCtrl template ``body`` (same number of lines)."""
    if not has_shopctrl_syntax(body):
        return body
    out: list[str] = []
    stack: list[_Open] = []
    pos = 0
    lineno = 1
    counter = 0
    for m in _TOKEN_RE.finditer(body):
        text = body[pos : m.start()]
        out.append(text)
        lineno += text.count("\n")
        raw = m.group(0)
        if m.group("field") is not None:
            token = m.group("field")
            if token.strip().startswith("{") or " " in token.strip() and "#" not in token:
                out.append(raw)  # not a merge field (e.g. "$$ 5 $$" in prose): leave as text
            else:
                out.append("{{ " + _field_expr(token, stack, lineno) + " }}")
        elif m.group("kind").casefold() == "start":
            arg = m.group("arg").strip()
            cond = _COND_RE.match(arg)
            if cond:
                expr = _field_expr(cond.group("field"), stack, lineno)
                if cond.group("op"):
                    test = f"_sc_is({expr}, {jinja_string(cond.group('value'))})"
                    if cond.group("op") == "!=":
                        test = f"not {test}"
                else:
                    test = f"_sc_has({expr})"
                stack.append(_Open("if", _norm_key(arg), "", arg, lineno))
                out.append(_tag("if " + test, raw))
            else:
                if not arg or "$$" in arg or any(not p.strip() for p in arg.split(".")):
                    raise SyntaxTranslationError(
                        f"'<!-- RangeStart:{arg} -->' does not name a collection", lineno
                    )
                name = arg.split(".")[-1].strip()
                counter += 1
                var = name if _valid_var(name) else f"_sc_loop{counter}"
                outers = [o.var for o in reversed(stack) if o.kind == "loop"]
                if "." in arg:
                    source = _path_expr(arg, stack, lineno)
                    iterable = f"_sc_rows({jinja_string(name)}, {{{jinja_string(name)}: {source}}}, _sc_root)"
                else:
                    iterable = f"_sc_rows({jinja_string(name)}, {', '.join(outers + ['_sc_root'])})"
                loops = [o for o in stack if o.kind == "loop"]
                if len(loops) >= MAX_NESTED_LOOPS:
                    raise SyntaxTranslationError(
                        f"more than {MAX_NESTED_LOOPS} nested RangeStart blocks at "
                        f"'<!-- RangeStart:{arg} -->' (the outermost, '<!-- RangeStart:{loops[0].name} -->', "
                        f"opens on line {loops[0].lineno}); a template may nest at most {MAX_NESTED_LOOPS} "
                        "collections",
                        lineno,
                    )
                stack.append(_Open("loop", _norm_key(arg), var, arg, lineno))
                out.append(_tag(f"for {var} in {iterable}", raw))
        else:
            arg = m.group("arg").strip()
            if not stack:
                raise SyntaxTranslationError(f"'<!-- RangeEnd:{arg} -->' has no matching RangeStart", lineno)
            top = stack[-1]
            key = _norm_key(arg)
            if arg and key != top.key and key.split(".")[-1] != top.key.split(".")[-1]:
                raise SyntaxTranslationError(
                    f"'<!-- RangeEnd:{arg} -->' does not close '<!-- RangeStart:{top.name} -->' "
                    f"opened on line {top.lineno}",
                    lineno,
                )
            stack.pop()
            out.append(_tag("endfor" if top.kind == "loop" else "endif", raw))
        lineno += raw.count("\n")
        pos = m.end()
    out.append(body[pos:])
    if stack:
        top = stack[-1]
        raise SyntaxTranslationError(
            f"'<!-- RangeStart:{top.name} -->' is never closed (add '<!-- RangeEnd:{top.name} -->')",
            top.lineno,
        )
    return "".join(out)
