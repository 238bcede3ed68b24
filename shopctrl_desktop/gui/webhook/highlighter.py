"""Syntax colours for payload templates: JSON or XML, plus merge fields ($$…$$, {{ … }}, {% … %})."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from shopctrl_desktop.domain.model import MimeType
from shopctrl_desktop.gui.theme import text_format


def _fmt(
    color: str, *, bold: bool = False, italic: bool = False, background: str | None = None
) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    if background:
        fmt.setBackground(QColor(background))
    return fmt


KEY = _fmt("#7a3e9d")
STRING = _fmt("#1a7f37")
NUMBER = _fmt("#0550ae")
KEYWORD = _fmt("#cf222e", bold=True)
PUNCT = _fmt("#57606a")
TAG = _fmt("#116329", bold=True)
ATTRIBUTE = _fmt("#953800")
COMMENT = _fmt("#6e7781", italic=True)
RANGE = _fmt("#8250df", bold=True, background="#f3ecff")
MERGE_FIELD = _fmt("#0a3069", bold=True, background="#ddf4ff")

JSON_RULES = [
    (re.compile(r'"(?:[^"\\]|\\.)*"(?=\s*:)'), KEY),
    (re.compile(r'"(?:[^"\\]|\\.)*"'), STRING),
    (re.compile(r"-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b"), NUMBER),
    (re.compile(r"\b(?:true|false|null)\b"), KEYWORD),
    (re.compile(r"[{}\[\],:]"), PUNCT),
]
XML_RULES = [
    (re.compile(r"</?[A-Za-z_][\w.:-]*|/?>"), TAG),
    (re.compile(r"\b[A-Za-z_][\w.:-]*(?==)"), ATTRIBUTE),
    (re.compile(r'"[^"]*"|\'[^\']*\''), STRING),
    (re.compile(r"<\?.*?\?>"), KEYWORD),
]
MERGE_RULES = [
    (re.compile(r"<!--\s*Range(?:Start|End):.*?-->"), RANGE),
    (re.compile(r"\$\$[^$\n]+?\$\$"), MERGE_FIELD),
    (re.compile(r"\{\{.*?\}\}|\{%.*?%\}"), MERGE_FIELD),
]
COMMENT_START = re.compile(r"<!--")
COMMENT_END = re.compile(r"-->")
IN_COMMENT = 1


class PayloadHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, mime: MimeType = MimeType.JSON) -> None:
        super().__init__(document)
        self._mime = mime

    def set_mime_type(self, mime: MimeType) -> None:
        if mime != self._mime:
            self._mime = mime
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        self.setCurrentBlockState(0)
        if self._mime == MimeType.JSON:
            self._apply(text, JSON_RULES)
        elif self._mime == MimeType.XML:
            self._apply(text, XML_RULES)
            self._xml_comments(text)
        self._apply(text, MERGE_RULES)

    def _apply(self, text: str, rules: list[tuple[re.Pattern[str], QTextCharFormat]]) -> None:
        for pattern, fmt in rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), text_format(fmt))

    def _xml_comments(self, text: str) -> None:
        start = 0 if self.previousBlockState() == IN_COMMENT else -1
        if start < 0:
            found = COMMENT_START.search(text)
            start = found.start() if found else -1
        while start >= 0:
            end = COMMENT_END.search(text, start + 4 if text[start : start + 4] == "<!--" else start)
            if end is None:
                self.setCurrentBlockState(IN_COMMENT)
                self.setFormat(start, len(text) - start, text_format(COMMENT))
                return
            self.setFormat(start, end.end() - start, text_format(COMMENT))
            found = COMMENT_START.search(text, end.end())
            start = found.start() if found else -1
