"""Payload templates (SPEC §4): Jinja2 in an immutable sandbox, ShopCtrl's ``$$…$$`` syntax, .NET formats.

- ``render``: the API — ``render_template``, ``validate_template``, the compiled-template cache, bounded
  render time and output size, the well-formedness check of the result;
- ``env``: the sandboxed environment (escaping by MIME type, case-insensitive lookups, guards);
- ``fast``: a closure-tree renderer for the common template shape (same output, faster);
- ``shopctrl_syntax``: ShopCtrl's ``$$…$$`` syntax translated to Jinja2;
- ``formats`` + ``number_formats``: .NET-style ``#`` format patterns;
- ``errors``: :class:`RenderError`, re-exported here.

Importing this package is cheap; ``render`` loads Jinja2, so callers import it where they render.
"""

from shopctrl_desktop.domain.templates.errors import RenderError

__all__ = ["RenderError"]
