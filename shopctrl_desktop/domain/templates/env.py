"""The sandboxed Jinja2 environment behind domain/templates/render.py: escaping by MIME type, case-insensitive
lookups, ShopCtrl helpers and the guards that bound render time and output size.

Escaping is applied by the environment's ``finalize`` hook, so it covers every ``{{ … }}`` output (and
therefore every ``$$…$$`` merge field, which is translated to one) but never the template's own text:

- JSON: the value's text is JSON-string-escaped (quotes, backslashes, control characters; a lone UTF-16
  surrogate becomes a ``\\udXXX`` escape, so the body is always encodable as UTF-8). The ``json`` (and
  ``tojson``) filter emits a complete JSON literal instead and is not escaped again.
- XML: ``& < > " '`` become entities, and tab, line feed and carriage return become character references
  (``&#9; &#10; &#13;``) so they survive attribute-value and line-end normalisation. Characters XML 1.0
  cannot represent at all (NUL, the other C0 controls, lone surrogates, U+FFFE, U+FFFF) are replaced by
  U+FFFD REPLACEMENT CHARACTER: the document stays well formed and the receiver can see that something
  was there. Inside a ``<![CDATA[ … ]]>`` section of the template, values are not entity-escaped (a CDATA
  section shows entities literally); ``]]>`` is split across two CDATA sections instead.
- text/plain: inserted as is (lone surrogates, which cannot be sent as UTF-8, become U+FFFD).

``|safe`` (Markup) bypasses escaping on purpose; the rendered JSON/XML is still checked afterwards.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import do_center, do_indent
from jinja2.runtime import ChainableUndefined, Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import missing
from markupsafe import Markup

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates.formats import formatter, to_text

MAX_RENDER_SECONDS = 2.0
MAX_RENDER_MEMORY_MB = 512  # address space of a render worker process (engine/render_pool.py)
MAX_OUTPUT_CHARS = 10 * 1024 * 1024  # characters of rendered output (≈ 10 MB)
_MAX_WIDTH = 100_000  # str.ljust/center/zfill/format widths, |center, |indent


class LimitExceeded(Exception):
    """Render time or output size bound hit; the message is for a person."""


class JsonLiteral(str):
    """Output of the ``json`` filter: already a complete JSON literal."""


class CdataText(str):
    """Text already made safe for the inside of a CDATA section."""


# --------------------------------------------------------------------------- per-render state

_state = threading.local()


def begin_render(seconds: float, max_chars: int) -> None:
    _state.deadline = time.monotonic() + seconds
    _state.seconds = seconds
    _state.max_chars = max_chars


def end_render() -> float:
    """Forget the render's bounds; returns its deadline."""
    deadline = getattr(_state, "deadline", math.inf)
    _state.deadline = math.inf
    _state.max_chars = MAX_OUTPUT_CHARS
    return deadline


def _deadline() -> float:
    return getattr(_state, "deadline", math.inf)


def timeout_error(seconds: float | None = None) -> LimitExceeded:
    seconds = seconds if seconds is not None else getattr(_state, "seconds", MAX_RENDER_SECONDS)
    return LimitExceeded(f"the template took longer than {seconds:g} s to render (a runaway loop?)")


def size_error() -> LimitExceeded:
    limit = getattr(_state, "max_chars", MAX_OUTPUT_CHARS)
    return LimitExceeded(
        f"the rendered payload is larger than {limit / 1024 / 1024:g} MB (a runaway loop or very large data?)"
    )


def _max_chars() -> int:
    return getattr(_state, "max_chars", MAX_OUTPUT_CHARS)


# --------------------------------------------------------------------------- escaping

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_XML_SPECIAL_RE = re.compile("[&<>\"'\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_TABLE: dict[int, str] = {c: "\ufffd" for c in range(0x20)}
_XML_TABLE.update({0x09: "&#9;", 0x0A: "&#10;", 0x0D: "&#13;"})
_XML_TABLE.update(
    {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&apos;"}
)
_XML_TABLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
_XML_TABLE.update({0xFFFE: "\ufffd", 0xFFFF: "\ufffd"})


def _surrogate_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


_encode_json_string = json.encoder.encode_basestring  # the C implementation when available


def json_escape(text: str) -> str:
    escaped = _encode_json_string(text)[1:-1]
    if not escaped.isascii() and _SURROGATE_RE.search(escaped):
        escaped = _SURROGATE_RE.sub(_surrogate_escape, escaped)
    return escaped


def xml_escape(text: str) -> str:
    if not _XML_SPECIAL_RE.search(text):
        return text
    return text.translate(_XML_TABLE)


def xml_cdata(text: str) -> str:
    if _XML_ILLEGAL_RE.search(text):
        text = _XML_ILLEGAL_RE.sub("\ufffd", text)
    return text.replace("]]>", "]]]]><![CDATA[>")


def plain_text(text: str) -> str:
    return _SURROGATE_RE.sub("\ufffd", text) if _SURROGATE_RE.search(text) else text


def _value_text(value: Any) -> str:
    if isinstance(value, Undefined):
        return ""
    return to_text(value)


def _finalize_json(value: Any) -> str:
    kind = type(value)
    if kind is str:
        escaped = _encode_json_string(value)[1:-1]
        if not escaped.isascii() and _SURROGATE_RE.search(escaped):
            escaped = _SURROGATE_RE.sub(_surrogate_escape, escaped)
        return escaped
    if kind is int:
        return str(value)
    if isinstance(value, JsonLiteral | Markup):
        return value
    return json_escape(_value_text(value))


def _finalize_xml(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value if not _XML_SPECIAL_RE.search(value) else value.translate(_XML_TABLE)
    if kind is int:
        return str(value)
    if isinstance(value, CdataText | Markup):
        return value
    return xml_escape(_value_text(value))


def _finalize_text(value: Any) -> str:
    if type(value) is str:
        return plain_text(value)
    return plain_text(_value_text(value))


def json_literal(value: Any) -> JsonLiteral:
    """The ``json`` filter: ``12.5``, ``null``, ``"text"``, objects and lists as JSON."""
    if isinstance(value, Undefined) or value is None:
        return JsonLiteral("null")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:
        text = json.dumps(_strip_nan(value), ensure_ascii=False, default=_json_default)
    if _SURROGATE_RE.search(text):
        text = _SURROGATE_RE.sub(_surrogate_escape, text)
    return JsonLiteral(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return to_text(value)


def _strip_nan(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _strip_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nan(v) for v in value]
    return value


def cdata_filter(value: Any) -> CdataText:
    return CdataText(xml_cdata(_value_text(value) if not isinstance(value, str) else str(value)))


# --------------------------------------------------------------------------- lookups and helpers


def ci_get(mapping: dict, key: Any) -> Any:
    """``mapping[key]``, else the first key equal ignoring case, else ``missing``."""
    try:
        return mapping[key]
    except (KeyError, TypeError):
        pass
    if isinstance(key, str):
        folded = key.casefold()
        for k, v in mapping.items():
            if isinstance(k, str) and k.casefold() == folded:
                return v
    return missing


def _as_rows(value: Any) -> list:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return [value]
    return []


def sc_rows(name: str, *scopes: Any) -> list:
    """The collection ``name`` for a ShopCtrl RangeStart: in the enclosing rows, at the top of ``data``,
    then anywhere below (breadth first, through objects only, 4 levels)."""
    for scope in scopes:
        if isinstance(scope, dict):
            found = ci_get(scope, name)
            if found is not missing:
                return _as_rows(found)
    root = scopes[-1] if scopes else None
    level = [v for v in root.values() if isinstance(v, dict)] if isinstance(root, dict) else []
    for _depth in range(4):
        nxt: list[dict] = []
        for node in level:
            found = ci_get(node, name)
            if found is not missing:
                return _as_rows(found)
            nxt.extend(v for v in node.values() if isinstance(v, dict))
        level = nxt
        if not level:
            break
    return []


def _is_blank(value: Any) -> bool:
    return value is None or isinstance(value, Undefined) or (isinstance(value, str) and not value.strip())


def sc_has(value: Any) -> bool:
    """ShopCtrl's "has a value": not null/missing/empty text/zero/false/empty list."""
    if _is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def sc_is(value: Any, expected: str) -> bool:
    """ShopCtrl's ``='text'`` condition: ``'null'`` = null/missing, ``''`` = empty, else equal ignoring case
    (as numbers when both are numeric)."""
    if expected.strip().casefold() == "null":
        return value is None or isinstance(value, Undefined)
    if expected == "":
        return _is_blank(value)
    if _is_blank(value) and not isinstance(value, str):
        return False
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return Decimal(str(value)) == Decimal(expected.strip())
        except ArithmeticError:
            pass
    return to_text(value).casefold() == expected.casefold()


def sc_format(value: Any, pattern: str) -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    return formatter(pattern)(value)


def iter_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every ``{% for %}`` iterable: checks the render deadline on each step; null = empty."""
    if iterable is None:
        return
    deadline = _deadline()
    now = time.monotonic
    for item in iterable:
        if now() > deadline:
            raise timeout_error()
        yield item


def _check_width(*values: Any) -> None:
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and v > _MAX_WIDTH:
            raise LimitExceeded(f"a width or count of {v} is too large for a payload template")


_WIDTH_RE = re.compile(r"(?:%[-#0 +]*|:[^{}]*?)(\d{6,})")


def _check_format_string(fmt: Any) -> None:
    if isinstance(fmt, str):
        for m in _WIDTH_RE.finditer(fmt):
            _check_width(int(m.group(1)))


def _bounded_center(value: str, width: int = 80) -> str:
    _check_width(width)
    return do_center(value, width)


def _bounded_indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _check_width(width if isinstance(width, int) else len(width))
    return do_indent(value, width, first, blank)


def _bounded_replace(s: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(s)
    occurrences = len(text) + 1 if old == "" else text.count(str(old))
    if len(text) + occurrences * len(str(new)) > _max_chars():
        raise size_error()
    return text.replace(str(old), str(new), -1 if count is None else count)


def _bounded_format(value: str, *args: Any, **kwargs: Any) -> str:
    from jinja2.filters import do_format

    _check_format_string(value)
    return do_format(value, *args, **kwargs)


def _bounded_slice(value: Iterable, slices: int, fill_with: Any = None) -> Any:
    from jinja2.filters import do_slice

    _check_width(slices)
    return do_slice(value, slices, fill_with)


# --------------------------------------------------------------------------- the environment


class _CaseInsensitiveContext(Context):
    def resolve_or_missing(self, key: str) -> Any:
        rv = super().resolve_or_missing(key)
        if rv is missing:
            folded = key.casefold()
            for source in (self.vars, self.parent):
                for k, v in source.items():
                    if k.casefold() == folded:
                        return v
        return rv


class _NoFoldingCodeGenerator(CodeGenerator):
    """Jinja evaluates constant ``{{ … }}`` output while compiling (``{{ '%*s'|format(10**9, 'x') }}``
    would build a gigabyte at import, outside every render bound); here nothing is evaluated before the
    render, where the bounds apply. (The optimizer, the other place that folds, is off: ``optimized=False``.)"""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if isinstance(node, nodes.TemplateData):  # the template's own text: constant, never finalized
            return str(super()._output_child_to_const(node, frame, finalize))
        raise nodes.Impossible()


class ShopCtrlEnvironment(ImmutableSandboxedEnvironment):
    """Immutable sandbox; dict keys before attributes, case-insensitively; guarded loops and operators;
    no compile-time evaluation of a template's expressions (constant folding)."""

    context_class = _CaseInsensitiveContext
    code_generator_class = _NoFoldingCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%"})
    _WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        if isinstance(obj, dict):
            value = ci_get(obj, attribute)
            if value is not missing:
                return value
        elif isinstance(obj, str) and attribute in ("format", "format_map"):
            _check_format_string(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict):
            value = ci_get(obj, argument)
            if value is not missing:
                return value
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(
            f"templates may not access {attribute!r} of a {type(obj).__name__} object (blocked by the sandbox)"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > _max_chars():
                    raise size_error()
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                if right * max(abs(left).bit_length(), 1) > 1_000_000:
                    raise LimitExceeded("a power in the template is too large to compute")
        elif operator == "%":
            _check_format_string(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if time.monotonic() > _deadline():  # macros calling macros: no loop involved, still bounded
            raise timeout_error()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in __self._WIDTH_METHODS:
                _check_width(*args, *kwargs.values())
            elif name in ("format", "format_map"):
                _check_format_string(owner)
            elif name == "replace" and len(args) >= 2:
                _bounded_replace(owner, args[0], args[1])
        return super().call(__context, __obj, *args, **kwargs)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "_sc_iter", [], [], None, None, lineno=loop.lineno)
        return tree


_FINALIZE = {MimeType.JSON: _finalize_json, MimeType.XML: _finalize_xml, MimeType.TEXT: _finalize_text}


def make_environment(mime: MimeType) -> ShopCtrlEnvironment:
    env = ShopCtrlEnvironment(
        autoescape=False,
        finalize=_FINALIZE[mime],
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=0,
        optimized=False,  # no constant folding at compile time (see _NoFoldingCodeGenerator)
    )
    env.globals.pop("lipsum", None)
    env.globals.update({"_sc_rows": sc_rows, "_sc_has": sc_has, "_sc_is": sc_is})
    env.filters.update(
        {
            "json": json_literal,
            "tojson": json_literal,
            "_sc_format": sc_format,
            "netformat": sc_format,
            "_sc_iter": iter_guard,
            "_sc_cdata": cdata_filter,
            "center": _bounded_center,
            "indent": _bounded_indent,
            "replace": _bounded_replace,
            "slice": _bounded_slice,
            "format": _bounded_format,
        }
    )
    return env
