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


def _rebuild(message: str, lineno: int | None, column: int | None, where: Where) -> RenderError:
    return RenderError(message, lineno=lineno, column=column, where=where)
