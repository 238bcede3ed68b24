"""CSV export of the queue items matching a filter (runs on a worker thread; no Qt here)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Protocol

from shopctrl_desktop.store import browse
from shopctrl_desktop.store.browse import QueueFilter
from shopctrl_desktop.store.db import Database


class ProgressLike(Protocol):
    cancelled: bool

    def report(self, done: int, total: int) -> None: ...


def export_csv(db: Database, flt: QueueFilter, path: Path, progress: ProgressLike | None = None) -> int:
    """Write the matching items (oldest first) to ``path``; returns the number of rows, -1 when cancelled.

    The file is written next to the target and renamed at the end, so a cancelled or failed export never
    leaves half a file behind. Request bodies and headers are not exported (they may hold customer data).
    """
    tmp = path.with_name(path.name + ".part")
    written = 0
    with db.sessions() as session:
        total = browse.count_matching(session, flt)
        try:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(browse.EXPORT_COLUMNS)
                for batch in browse.export_batches(session, flt):
                    if progress is not None and progress.cancelled:
                        raise _Cancelled
                    writer.writerows(batch)
                    written += len(batch)
                    if progress is not None:
                        progress.report(written, max(total, written))
        except _Cancelled:
            tmp.unlink(missing_ok=True)
            return -1
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.replace(tmp, path)
    return written


class _Cancelled(Exception):
    pass
