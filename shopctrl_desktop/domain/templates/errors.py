"""The one error a payload template raises, with where it went wrong."""

from __future__ import annotations

from typing import Literal

Where = Literal["template", "output"]


class RenderError(ValueError):
    """A payload template cannot be rendered; the message says where (line/column) and what.

    ``lineno``/``column`` are 1-based (``None`` when unknown); ``where`` is ``"template"`` (a line of the
    template body) or ``"output"`` (a line of the rendered payload, for a result that is not well formed).
    """

    def __init__(
        self, message: str, *, lineno: int | None = None, column: int | None = None, where: Where = "template"
    ) -> None:
        super().__init__(message)
        self.lineno = lineno
        self.column = column
        self.where: Where = where

    def __reduce__(self) -> tuple[object, ...]:  # keep the fields through pickle/copy
        return (_rebuild, (str(self), self.lineno, self.column, self.where))


class RenderLimitError(RenderError):
    """A render hit one of its bounds (``kind``: ``"time"``, ``"memory"`` or ``"size"``) rather than a mistake
    in the template: a render worker (engine/render_pool.py) reports a memory bound in its own terms, and a
    template check refuses such a template even where ordinary errors with sample data are tolerated."""

    def __init__(self, message: str, *, kind: str, lineno: int | None = None) -> None:
        super().__init__(message, lineno=lineno)
        self.kind = kind


def _rebuild(message: str, lineno: int | None, column: int | None, where: Where) -> RenderError:
    return RenderError(message, lineno=lineno, column=column, where=where)
