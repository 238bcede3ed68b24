"""Logging for `serve`, `demo` and the desktop app: a rotating file in the log dir plus stderr.

Every record passes a redacting filter before it is written, as defence in depth: the code is meant never to
log a secret, but if one slips into a message (a header dict, a settings repr, a PEM pasted into an error),
the value is replaced by ``***`` in the file and on the terminal alike.

Call :func:`setup_logging` once at start; calling it again replaces the handlers it installed before.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from shopctrl_desktop.domain.secret_headers import SECRET_HEADER_NAMES
from shopctrl_desktop.paths import AppPaths

LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MASK = "***"

#: Logged (INFO, logger "shopctrl_desktop.app") when the main window is shown; the bundle test waits for it.
READY_MESSAGE = "main window shown; ready"

# Every pattern below runs in linear time on any input (a log line may hold a whole response body): tokens
# start only where no token character precedes them, repeats are possessive, quoted values are bounded.
# Secret-named keys go first, so that an unquoted header value running to the end of the line cannot
# swallow a key whose value would then stay visible.

# Header names whose values are credentials or signatures (longest first, so none stops at a shorter one).
_SECRET_HEADERS = "|".join(re.escape(name) for name in sorted(SECRET_HEADER_NAMES, key=len, reverse=True))
# Keys that name a secret: password, hmacSecret, client_certificate_passphrase, api_token, ...
_SECRET_WORDS = r"password|passwd|pwd|secret|passphrase|token|api[_-]?key|private[_-]?key"
_SECRET_KEY = rf"(?<![\w.-])(?=[\w.-]*?(?:{_SECRET_WORDS}))[\w.-]++"
_VALUE_MAX = 4096  # a quoted value longer than this is cut at the limit (and still masked)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys (any flavour: RSA, EC, ENCRYPTED, OPENSSH), also when cut off before the END line.
    (
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        r"-----BEGIN \1PRIVATE KEY----- " + MASK + r" -----END \1PRIVATE KEY-----",
    ),
    # key: value pairs whose key names a secret (JSON, reprs, query strings, key=value logs).
    (
        re.compile(
            rf"""(?i)(?P<key>["']?{_SECRET_KEY}["']?[ \t]*+[:=][ \t]*+)"""
            rf"""(?:(?P<q>["'])(?P<qv>(?:(?!(?P=q))[^\r\n]){{0,{_VALUE_MAX}}}+)(?P=q)?|(?P<v>[^\s,;&}}\])]++))"""
        ),
        "keyvalue",
    ),
    # Header-like "Name: value" / "'Name': 'value'" / name=value; the quoted value ends at its quote,
    # an unquoted one at the end of the line.
    (
        re.compile(
            rf"""(?i)(?P<key>["']?(?<![\w.-])(?:{_SECRET_HEADERS})(?![\w.-])["']?[ \t]*+[:=][ \t]*+)"""
            rf"""(?:(?P<q>["'])(?P<qv>(?:(?!(?P=q))[^\r\n]){{0,{_VALUE_MAX}}}+)(?P=q)?|(?P<v>[^\r\n"'}}]++))"""
        ),
        "header",
    ),
    # Bare credentials that carry their own marker.
    (re.compile(r"(?i)(?<![\w.-])(Bearer|Basic)\s++[A-Za-z0-9._~+/=-]{4,}+"), r"\1 " + MASK),
    (re.compile(r"(?<![\w.-])whsec_[A-Za-z0-9+/=]++"), "whsec_" + MASK),
    (re.compile(r"(?<![\w.-])sha(256|512)=[0-9a-fA-F]{16,}+"), r"sha\1=" + MASK),
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(?P<pre>(?<![\w+.-])[a-zA-Z][\w+.-]*+://[^\s:/@]++:)[^\s@/]++(?=@)"), r"\g<pre>" + MASK),
)

_KEEP = frozenset({"", "null", "none", "***", "<hidden>", "true", "false"})


def _replace_value(match: re.Match[str]) -> str:
    quote = match.group("q")
    value = match.group("qv") if quote else match.group("v")
    if value is None or value.strip().lower() in _KEEP:
        return match.group(0)
    if quote:
        return f"{match.group('key')}{quote}{MASK}{quote}"
    return f"{match.group('key')}{MASK}"


def redact(text: str) -> str:
    """Return ``text`` with credentials, signatures and private keys replaced by ``***``."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        if replacement in ("header", "keyvalue"):
            text = pattern.sub(_replace_value, text)
        else:
            text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record so that its message, traceback and stack carry no secrets."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _OwnHandler:
    """Marks the handlers installed here, so a second setup_logging() replaces rather than doubles them."""


class _RotatingFile(RotatingFileHandler, _OwnHandler):
    """The log file; when it cannot be written (a full disk, a removed directory) that is said once on
    stderr — not a "--- Logging error ---" traceback per record — and the file is tried again a minute
    later (the stderr handler goes on meanwhile)."""

    retry_after = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._broken_until = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        broken = self._broken_until
        if broken and time.monotonic() < broken:
            return
        super().emit(record)
        if broken and self._broken_until == broken:  # written again: a next failure is said again
            self._broken_until = 0.0

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        if not self._broken_until and sys.stderr is not None:
            try:
                print(
                    f"shopctrl-desktop: cannot write the log file {self.baseFilename}: {exc.strerror or exc}; "
                    f"logging to the terminal only, trying the file again every {self.retry_after:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            except (OSError, ValueError):
                pass
        self._broken_until = time.monotonic() + self.retry_after
        try:  # a half-written line must not block the next try
            if self.stream is not None:
                self.stream.close()
        except OSError:
            pass
        self.stream = None  # type: ignore[assignment]


class _Stderr(logging.StreamHandler, _OwnHandler):  # type: ignore[type-arg]
    pass


def setup_logging(paths: AppPaths, *, verbose: bool = False, stderr: bool = True) -> Path:
    """Log to ``paths.log_file`` (rotating, 5 x 2 MB) and to stderr; return the log file's path.

    ``verbose`` logs DEBUG; otherwise INFO, with chatty libraries (httpx, aiohttp access, SQLAlchemy) at WARNING.
    """
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OwnHandler)]:
        root.removeHandler(old)
        old.close()  # type: ignore[attr-defined]
    formatter = logging.Formatter(LOG_FORMAT)
    redacting = RedactingFilter()
    handlers: list[logging.Handler] = [
        _RotatingFile(paths.log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUP_COUNT, encoding="utf-8")
    ]
    if stderr and sys.stderr is not None:  # a windowed Windows build has no stderr
        handlers.append(_Stderr(sys.stderr))
    for handler in handlers:
        handler.setLevel(level)
        handler.setFormatter(formatter)
        handler.addFilter(redacting)
        root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if verbose else logging.WARNING
    # alembic.runtime.plugins: ~20 "setup plugin" lines at every start of every serve process
    for name in (
        "httpx",
        "httpcore",
        "aiohttp.access",
        "sqlalchemy",
        "asyncio",
        "keyring",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(name).setLevel(quiet)
    if verbose:
        # statements (their values hidden: store/db.py hide_parameters), never the rows they return: a row
        # can hold a secret's ciphertext, which the key file beside the log decrypts
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    logging.captureWarnings(True)
    return paths.log_file


def log_ready(detail: str = "") -> None:
    """Announce that the main window is up (log line + stdout); the bundle smoke test waits for it."""
    message = READY_MESSAGE + (f" ({detail})" if detail else "")
    logging.getLogger("shopctrl_desktop.app").info(message)
    if sys.stdout is not None:
        try:
            print(f"shopctrl-desktop: {message}", flush=True)
        except OSError:  # a windowed build may have no usable stdout
            pass
