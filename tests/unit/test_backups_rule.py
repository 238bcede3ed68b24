"""Which automatic backups are kept and when the next one is due (domain/backups.py, pure: the clock given)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shopctrl_desktop.domain.backups import (
    KEEP_DAILY,
    backup_day,
    backup_due,
    backups_to_delete,
    daily_backup_name,
    latest_backup,
)

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def test_a_backup_is_named_after_its_day_and_read_back() -> None:
    assert daily_backup_name(date(2026, 12, 2)) == "shopctrl-2026-12-02.sqlite3"
    assert backup_day("shopctrl-2026-12-02.sqlite3") == date(2026, 12, 2)
    for other in ("shopctrl-2026-13-02.sqlite3", "shopctrl-2026-12-02.sqlite3.tmp", "notes.txt", "x.sqlite3"):
        assert backup_day(other) is None


def test_due_when_there_is_none_or_the_newest_is_from_an_earlier_day() -> None:
    today = NOW.date()
    assert backup_due([], today)
    assert backup_due(["notes.txt"], today)
    assert not backup_due([daily_backup_name(today), "shopctrl-2026-11-01.sqlite3"], today)
    assert backup_due([daily_backup_name(today - timedelta(days=1))], today)
    assert backup_due([daily_backup_name(today - timedelta(days=9))], today)


def test_the_newest_seven_are_kept_and_other_files_never_touched() -> None:
    names = [daily_backup_name(date(2026, 11, 20) + timedelta(days=i)) for i in range(10)]
    names += ["keep-me.sqlite3", "shopctrl-2026-11-31.sqlite3"]  # not a backup name (no 31 November)
    deleted = backups_to_delete(reversed(names))
    assert deleted == [
        "shopctrl-2026-11-20.sqlite3",
        "shopctrl-2026-11-21.sqlite3",
        "shopctrl-2026-11-22.sqlite3",
    ]
    assert KEEP_DAILY == 7
    assert backups_to_delete(names[:7]) == []
    assert backups_to_delete(names, keep=1) == names[:9]


def test_the_latest_backup_is_the_newest_day() -> None:
    assert latest_backup(["shopctrl-2026-12-01.sqlite3", "shopctrl-2026-12-02.sqlite3", "zzz"]) == (
        "shopctrl-2026-12-02.sqlite3"
    )
    assert latest_backup(["zzz"]) is None
