"""The status bar's circuit note as one line that says what it is and fits the room a 1024-pixel window has."""

from __future__ import annotations

from collections.abc import Callable

CIRCUIT_PREFIX = "⚠ Circuit open: "
ELLIPSIS = "…"


def circuit_note_line(text: str, name: str, room: int, width: Callable[[str], int]) -> str:
    """The status bar's circuit note ``text`` (it starts with the endpoint ``name``, host and path) prefixed
    with what it is, fitted to ``room`` pixels (``width`` measures a string). Short of room, the host goes
    first — "⚠ Circuit open: …/crm/customers failing since 10:42 — 3 waiting" — then the end of the line, then
    the path's front: the path's last segment stays longest (the tooltip has it all)."""
    line = CIRCUIT_PREFIX + text
    if width(line) <= room or not name or not text.startswith(name):
        return _elide_right(line, room, width)
    tail = text[len(name) :]
    _host, _, path = name.partition("/")
    segments = [p for p in path.split("/") if p]
    if not segments:  # a host without a path: nothing to keep but the host
        return _elide_right(line, room, width)
    shorts = [ELLIPSIS + "/" + "/".join(segments[-keep:]) for keep in range(len(segments), 0, -1)]
    for short in shorts:  # the whole line with as much of the path as fits
        if width(CIRCUIT_PREFIX + short + tail) <= room:
            return CIRCUIT_PREFIX + short + tail
    for short in shorts:  # the endpoint whole-ish, the end of the line cut
        head = CIRCUIT_PREFIX + short
        if width(head + " " + ELLIPSIS) <= room:
            return head + _elide_right(tail, room - width(head), width)
    return _elide_right(CIRCUIT_PREFIX + shorts[-1], room, width)


def _elide_right(text: str, room: int, width: Callable[[str], int]) -> str:
    if width(text) <= room:
        return text
    while text and width(text + ELLIPSIS) > room:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS if text.strip() else ""
