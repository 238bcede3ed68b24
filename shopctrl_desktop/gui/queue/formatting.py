"""Text for the queue detail pane and "Copy as curl" (no Qt here; secrets always masked)."""

from __future__ import annotations

import html
import json
import shlex
from datetime import datetime

from shopctrl_desktop.domain.model import ItemStatus
from shopctrl_desktop.domain.outcome import item_outcome, status_phrase
from shopctrl_desktop.gui.queue.columns import event_label, is_waiting
from shopctrl_desktop.store.browse import MASK, AttemptView, ItemDetail

SIGNATURE_HEADERS = {
    "shopctrl": ("X-SIGNATURE",),
    "github": ("X-Hub-Signature-256",),
    "standard-webhooks": ("webhook-id", "webhook-timestamp", "webhook-signature"),
}


def send_time_headers(detail: ItemDetail) -> list[tuple[str, str]]:
    """The headers delivery adds when it sends (shown masked; the real values are never displayed)."""
    out = [
        ("X-ShopCtrl-Delivery", str(detail.row.id)),
        ("X-ShopCtrl-Attempt", str(max(1, detail.row.attempts))),
    ]
    if detail.basic_auth_user:
        out.append(("Authorization", f"Basic {MASK}"))
    if detail.signature_scheme:
        for name in SIGNATURE_HEADERS.get(detail.signature_scheme, ()):
            out.append(
                (name, MASK if name in ("X-SIGNATURE", "X-Hub-Signature-256", "webhook-signature") else "…")
            )
    return out


def pretty_json(text: str) -> str:
    """Indented JSON when ``text`` parses as JSON, else ``text`` unchanged."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def pretty_body(body: str) -> str:
    """A body that looks like JSON (starts with ``{`` or ``[``), indented."""
    return pretty_json(body) if body.lstrip().startswith(("{", "[")) else body


def request_text(detail: ItemDetail) -> str:
    lines = [f"{detail.method} {detail.row.url}"]
    lines += [f"{k}: {v}" for k, v in detail.headers.items()]
    lines += [f"{k}: {v}" for k, v in send_time_headers(detail)]
    return "\n".join(lines) + "\n\n" + pretty_body(detail.body)


def curl_command(detail: ItemDetail) -> str:
    """A curl command that repeats the request; auth and signatures masked (fill them in yourself)."""
    parts = ["curl", "-X", detail.method, shlex.quote(detail.row.url)]
    for name, value in detail.headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if detail.basic_auth_user:
        parts += ["-u", shlex.quote(f"{detail.basic_auth_user}:{MASK}")]
    if detail.signature_scheme:
        for name in SIGNATURE_HEADERS.get(detail.signature_scheme, ()):
            parts += ["-H", shlex.quote(f"{name}: {MASK}")]
    parts += ["-H", shlex.quote(f"X-ShopCtrl-Delivery: {detail.row.id}")]
    if detail.body:
        parts += ["--data-binary", shlex.quote(detail.body)]
    return " \\\n  ".join(_pair_options(parts))


def _pair_options(parts: list[str]) -> list[str]:
    """Keep each option next to its value so every line of the command reads as one header."""
    out: list[str] = [" ".join(parts[:4])]
    i = 4
    while i < len(parts):
        out.append(f"{parts[i]} {parts[i + 1]}")
        i += 2
    return out


def _fmt_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return ""


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def attempt_result(attempt: AttemptView) -> str:
    """The attempts table's last column: "503 Service Unavailable" or the error in words."""
    if attempt.error:
        return attempt.error
    if attempt.status_code is not None:
        return status_phrase(attempt.status_code)
    return "no answer"


def attempt_cells(attempt: AttemptView) -> tuple[str, str, str, str]:
    """One row of the attempts table: #, time, duration, status or error."""
    return (
        str(attempt.number),
        _fmt_time(attempt.started_at),
        _duration(attempt.duration_ms),
        attempt_result(attempt),
    )


def attempt_ok(attempt: AttemptView) -> bool:
    return attempt.error is None and attempt.status_code is not None and 200 <= attempt.status_code < 300


def attempt_html(attempt: AttemptView) -> str:
    """The selected attempt in full: when, how long, the answer's status, headers and body."""
    colour = "#1d6b32" if attempt_ok(attempt) else "#a61b1b"
    outcome = f"<span style='color:{colour}'><b>{html.escape(attempt_result(attempt))}</b></span>"
    head = (
        f"<p><b>Attempt {attempt.number}</b> · {_fmt_time(attempt.started_at)} · "
        f"{_duration(attempt.duration_ms)} · {outcome}</p>"
    )
    parts = [head]
    if attempt.response_headers:
        hdrs = "\n".join(f"{k}: {v}" for k, v in attempt.response_headers.items())
        parts.append(f"<pre style='color:#555'>{html.escape(hdrs)}</pre>")
    if attempt.response_body:
        parts.append(f"<pre>{html.escape(pretty_body(attempt.response_body)[:20000])}</pre>")
    elif not attempt.error:
        parts.append("<p style='color:#666'>The answer had no body.</p>")
    return "".join(parts)


def not_sent_html(detail: ItemDetail) -> str:
    when = _fmt_time(detail.row.next_attempt_at)
    note = f" The first attempt is due {when}." if when and detail.row.status == ItemStatus.QUEUED else ""
    return f"<p style='color:#666'>Not sent yet.{html.escape(note)}</p>"


def outcome_line(detail: ItemDetail, max_attempts: int, now: datetime | None = None) -> str:
    """Where the item stands, in words (domain/outcome.py has the wording)."""
    r = detail.row
    return item_outcome(
        r.status,
        r.attempts,
        max_attempts,
        status_code=r.response_status,
        message=r.response_message,
        next_attempt_at=r.next_attempt_at if is_waiting(r) else None,
        now=now,
    )


def summary_rows(detail: ItemDetail) -> list[tuple[str, str]]:
    r = detail.row
    rows = [
        ("Trigger", r.trigger_title or "—"),
        ("Event", f"{event_label(r.event_name)} (event #{detail.event_id})"),
        ("Entity", r.entity or "—"),
        ("Created", _fmt_time(r.created_at)),
        ("Attempts", str(r.attempts)),
    ]
    if r.last_attempt_at:
        rows.append(("Last attempt", _fmt_time(r.last_attempt_at)))
    if r.next_attempt_at and is_waiting(r):
        rows.append(("Next attempt", _fmt_time(r.next_attempt_at)))
    if detail.finished_at:
        rows.append(("Finished", _fmt_time(detail.finished_at)))
    if r.last_response:
        rows.append(("Last response", r.last_response))
    if detail.skipped_count:
        rows.append(("Skipped duplicates", str(detail.skipped_count)))
    return rows
