"""Payload templates (SPEC §4): Jinja2 in an immutable sandbox, ShopCtrl's ``$$…$$`` syntax, escaping by MIME
type, a compiled-template cache, bounded render time and output size, and a well-formedness check.

Public API (contract):

- ``render_template(body, mime, data, *, extra=None) -> str`` — ``data`` is the event's ``data``
  (``{{ Order.OrderCode }}`` / ``$$Order.OrderCode$$`` read ``data["Order"]["OrderCode"]``); ``extra`` adds
  names such as ``Trigger``, ``TriggerActionId``, ``entityData`` (an ``extra`` name wins over a ``data`` key
  of the same name). The whole ``data`` object is also ``_sc_root``. Raises :class:`RenderError`.
- ``validate_template(body, mime, sample_data=None)`` — for the editor: syntax errors with line numbers
  without data; with ``sample_data`` also renders and checks the result is well formed.

A :class:`RenderError` carries ``lineno``/``column`` (1-based, ``None`` when unknown) and ``where``:
``"template"`` (the line in the template body) or ``"output"`` (the line in the rendered payload).

Lookups are case-insensitive; a missing field renders as empty text (``null`` through ``|json``). See
env.py for the escaping rules (and what happens to characters XML cannot carry), formats.py for
``#`` patterns and shopctrl_syntax.py for loops and conditions.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from functools import lru_cache
from itertools import islice
from typing import Any
from xml.parsers import expat

from jinja2 import Template, TemplateSyntaxError
from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.sandbox import SecurityError

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.domain.templates import env as _tenv
from shopctrl_desktop.domain.templates import fast as _fast
from shopctrl_desktop.domain.templates.errors import RenderError, RenderLimitError
from shopctrl_desktop.domain.templates.shopctrl_syntax import (
    MAX_NESTED_LOOPS,
    SyntaxTranslationError,
    translate,
)

__all__ = [
    "render_template",
    "validate_template",
    "compile_template",
    "RenderError",
    "RenderLimitError",
    "cache_info",
    "clear_cache",
]

_TEMPLATE_NAME = "<template>"
_XML_ENCODING_RE = re.compile(r"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)[\"']")
_BATCH = 64  # output chunks taken from the template between two size checks
_CDATA_RE = re.compile(r"<!\[CDATA\[((?:\{\{.*?\}\}|.)*?)\]\]>", re.DOTALL)
_OUTPUT_EXPR_RE = re.compile(r"\{\{([-+]?)(.*?)(-?)\}\}", re.DOTALL)

FAST_PATH = True  # tests turn it off to compare both renderers

_ENVIRONMENTS = {mime: _tenv.make_environment(mime) for mime in MimeType}


def _mark_cdata(source: str) -> str:
    """Inside CDATA sections, route ``{{ … }}`` through the CDATA-safe filter instead of entity escaping."""

    def fix_section(m: re.Match[str]) -> str:
        inner = _OUTPUT_EXPR_RE.sub(
            lambda e: "{{" + e.group(1) + " (" + e.group(2) + ")|_sc_cdata " + e.group(3) + "}}", m.group(1)
        )
        return "<![CDATA[" + inner + "]]>"

    return _CDATA_RE.sub(fix_section, source) if "<![CDATA[" in source else source


@lru_cache(maxsize=256)
def compile_template(body: str, mime: MimeType) -> Template:
    """The compiled template for ``(body, mime)`` (LRU-cached); raises RenderError with the line."""
    mime = MimeType(mime)
    try:
        source = translate(body)
    except SyntaxTranslationError as exc:
        raise RenderError(f"template syntax error on {exc}", lineno=exc.lineno) from None
    _check_loop_nesting(source)
    if mime is MimeType.XML:
        source = _mark_cdata(source)
    env = _ENVIRONMENTS[mime]
    try:
        template = env.from_string(source)
        # the common shape also gets a closure-tree renderer (same helpers, same output; see fast.py)
        template._sc_fast = _fast.build(env.parse(source), env) if FAST_PATH else None  # type: ignore[attr-defined]
        return template
    except TemplateSyntaxError as exc:
        raise RenderError(
            f"template syntax error on line {exc.lineno}: {exc.message}", lineno=exc.lineno
        ) from None
    except (SecurityError, _tenv.LimitExceeded) as exc:  # constant folding at compile time
        raise RenderError(f"the template is not allowed: {exc}") from None
    except (RecursionError, SyntaxError, MemoryError):  # SyntaxError: Python's nesting limits, past the check
        raise RenderError("the template is nested too deeply to compile") from None


_LOOP_TAG_RE = re.compile(r"\{%[-+]?\s*(end)?for\b")


def _check_loop_nesting(source: str) -> None:
    """Refuse more than MAX_NESTED_LOOPS nested ``{% for %}`` loops before compiling (Python's own limit
    would say so with a line of generated code, after seconds of work for deep nesting)."""
    if source.count("{%") < 2 * MAX_NESTED_LOOPS:
        return
    depth = 0
    for m in _LOOP_TAG_RE.finditer(source):
        depth += -1 if m.group(1) else 1
        if depth > MAX_NESTED_LOOPS:
            lineno = source.count("\n", 0, m.start()) + 1
            raise RenderError(
                f"more than {MAX_NESTED_LOOPS} nested loops ({{% for %}} or RangeStart) at line {lineno} of "
                f"the template; a template may nest at most {MAX_NESTED_LOOPS}",
                lineno=lineno,
            )


def cache_info() -> Any:
    return compile_template.cache_info()


def clear_cache() -> None:
    compile_template.cache_clear()


def _template_line(exc: BaseException) -> int | None:
    lineno = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _TEMPLATE_NAME:
            lineno = frame.lineno
    return lineno


def _runtime_error(exc: BaseException) -> RenderError:
    lineno = _template_line(exc)
    at = f" on line {lineno}" if lineno else ""
    if isinstance(exc, _tenv.LimitExceeded):
        return RenderLimitError(f"{exc}{at}", kind=_limit_kind(exc), lineno=lineno)
    if isinstance(exc, SecurityError):
        return RenderError(f"the template was stopped{at}: {exc}", lineno=lineno)
    if isinstance(exc, RecursionError):
        return RenderError(f"the template recurses too deeply{at}", lineno=lineno)
    if isinstance(exc, MemoryError):
        return RenderLimitError(f"the template needs too much memory{at}", kind="memory", lineno=lineno)
    if isinstance(exc, UndefinedError):
        return RenderError(f"the template uses a missing value in a calculation{at}: {exc}", lineno=lineno)
    if isinstance(exc, TemplateError):
        return RenderError(f"the template failed{at}: {exc}", lineno=lineno)
    return RenderError(f"the template failed{at}: {type(exc).__name__}: {exc}", lineno=lineno)


def _limit_kind(exc: BaseException) -> str:
    return "time" if "longer than" in str(exc) else "size"


def _snippet(text: str, lineno: int, column: int) -> str:
    lines = text.splitlines() or [""]
    line = lines[min(max(lineno, 1), len(lines)) - 1]
    start = max(column - 31, 0)
    piece = line[start : start + 60]
    return ("…" if start else "") + piece + ("…" if start + 60 < len(line) else "")


_TRAILING_COMMA_RE = re.compile(r'("(?:[^"\\]|\\.)*")|,(\s*[\]}])')


def _drop_trailing_commas(text: str) -> str:
    """``[{"a": 1},\n]`` -> ``[{"a": 1}\n]``: commas right before ``]``/``}``, outside strings."""
    return _TRAILING_COMMA_RE.sub(lambda m: m.group(1) or m.group(2), text)


def _refuse_constant(name: str) -> None:
    raise RenderError(
        f"the rendered payload holds {name}, which is not valid JSON (strict receivers refuse it); "
        "use the json filter, which writes null for it",
        where="output",
    )


def _check_json(output: str) -> str:
    """The output if it parses; else the output without trailing commas if that parses (a ShopCtrl
    ``RangeStart`` loop leaves one after its last row); else RenderError with the original position."""
    try:
        json.loads(output, parse_constant=_refuse_constant)
        return output
    except json.JSONDecodeError as exc:
        if "," in output:
            repaired = _drop_trailing_commas(output)
            if repaired != output:
                try:
                    json.loads(repaired, parse_constant=_refuse_constant)
                    return repaired
                except (json.JSONDecodeError, RecursionError):
                    pass
        snippet = _snippet(output, exc.lineno, exc.colno)
        raise RenderError(
            f"the rendered payload is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"of the output, near {snippet!r}",
            lineno=exc.lineno,
            column=exc.colno,
            where="output",
        ) from None
    except RecursionError:
        raise RenderError("the rendered JSON is nested too deeply", where="output") from None


def _check_xml(output: str) -> None:
    parser = expat.ParserCreate(encoding="utf-8")
    try:
        parser.Parse(output.encode("utf-8", "surrogatepass"), True)
    except expat.ExpatError as exc:
        column = (exc.offset or 0) + 1
        snippet = _snippet(output, exc.lineno, column)
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise RenderError(
            f"the rendered payload is not well-formed XML: {message} at line {exc.lineno}, column {column} "
            f"of the output, near {snippet!r}",
            lineno=exc.lineno,
            column=column,
            where="output",
        ) from None


def _context_vars(data: Any, extra: dict | None) -> dict[str, Any]:
    data = data if isinstance(data, dict) else {}
    variables: dict[str, Any] = {k: v for k, v in data.items() if isinstance(k, str)}
    if "data" not in variables:
        variables["data"] = data
    if extra:
        variables.update({k: v for k, v in extra.items() if isinstance(k, str)})
    variables["_sc_root"] = data
    return variables


def _render(template: Template, variables: dict[str, Any], seconds: float, max_chars: int) -> str:
    _tenv.begin_render(seconds, max_chars)
    chunks: list[str] = []
    extend = chunks.extend
    size = 0
    gen = template.root_render_func(template.new_context(variables))
    try:
        try:
            # in small batches (C-speed iteration); the size is checked after each batch
            while batch := list(islice(gen, _BATCH)):
                size += sum(map(len, batch))
                if size > max_chars:
                    raise _tenv.size_error()
                extend(batch)
        except Exception:
            template.environment.handle_exception()  # re-raises with the template's line numbers
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - everything a template can do becomes a RenderError
        raise _runtime_error(exc) from None
    finally:
        gen.close()  # type: ignore[attr-defined]  # a generator
        deadline = _tenv.end_render()
    if time.monotonic() > deadline:
        raise RenderLimitError(str(_tenv.timeout_error(seconds)), kind="time")
    return "".join(chunks)


def _render_fast(
    fast: _fast.FastTemplate, variables: dict[str, Any], seconds: float, max_chars: int
) -> str | None:
    """The fast renderer's output; ``None`` when it met an error (the Jinja template then renders again and
    reports it with its line number). Bounds are reported here."""
    _tenv.begin_render(seconds, max_chars)
    try:
        output = fast.render(variables, max_chars)
    except _tenv.LimitExceeded as exc:
        lineno = getattr(exc, "lineno", None)
        message = f"{exc}" + (f" on line {lineno}" if lineno else "")
        raise RenderLimitError(message, kind=_limit_kind(exc), lineno=lineno) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - re-rendered by Jinja for the message
        return None
    finally:
        deadline = _tenv.end_render()
    if time.monotonic() > deadline:
        raise RenderLimitError(str(_tenv.timeout_error(seconds)), kind="time")
    return output


def render_template(
    body: str,
    mime: MimeType,
    data: dict,
    *,
    extra: dict | None = None,
    check: bool = True,
) -> str:
    """Render ``body`` for ``data``; the result is well formed for ``mime`` or RenderError says where."""
    mime = MimeType(mime)
    template = compile_template(body, mime)
    variables = _context_vars(data, extra)
    fast = template._sc_fast  # type: ignore[attr-defined]
    output = None
    if fast is not None:
        output = _render_fast(fast, variables, _tenv.MAX_RENDER_SECONDS, _tenv.MAX_OUTPUT_CHARS)
    if output is None:
        output = _render(template, variables, _tenv.MAX_RENDER_SECONDS, _tenv.MAX_OUTPUT_CHARS)
    if check:
        if mime is MimeType.JSON:
            output = _check_json(output)
        elif mime is MimeType.XML:
            _check_xml(output)
    return output


def validate_template(body: str, mime: MimeType, sample_data: dict | None = None) -> None:
    """Raise RenderError (with ``lineno``) if ``body`` cannot compile, or — given sample data — if it cannot
    render to a well-formed payload for that data."""
    mime = MimeType(mime)
    # as-you-type: compile without filling the cache with every intermediate version of the body
    compile_template.__wrapped__(body, mime)
    if mime is MimeType.XML:
        declared = _XML_ENCODING_RE.match(body)
        if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii"):
            raise RenderError(
                f'the XML declaration says encoding="{declared.group(1)}" but payloads are sent as UTF-8; '
                'declare encoding="utf-8"',
                lineno=1,
            )
    if sample_data is not None:
        render_template(body, mime, sample_data)
