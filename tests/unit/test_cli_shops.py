"""``shopctrl-desktop shops list|rename``: real SQLite files in tmp dirs, shops learned from real intake."""

from __future__ import annotations

import json

import pytest

from shopctrl_desktop.store import queue
from tests.unit.test_cli import Dir
from tests.unit.test_queue_store import order_event


@pytest.fixture
def data_dir(tmp_path, capsys) -> Dir:
    d = Dir(tmp_path / "data", capsys)
    db, box = d.open()
    with db.session() as s:
        queue.enqueue_events(s, box, [order_event(1, shop=3), order_event(2, shop=12)])
    db.dispose()
    return d


def test_list_shows_learned_shops_as_a_table_and_as_json(data_dir) -> None:
    code, out, err = data_dir.run("shops", "list")
    assert code == 0, err
    header, first, second = out.splitlines()
    assert header.split() == ["ID", "NAME", "FIRST", "SEEN", "(UTC)"]
    assert first.split()[:3] == ["3", "Shop", "3"] and second.split()[:3] == ["12", "Shop", "12"]
    code, out, _ = data_dir.run("shops", "list", "--json")
    shops = json.loads(out)
    assert [(s["id"], s["name"]) for s in shops] == [(3, "Shop 3"), (12, "Shop 12")]
    assert set(shops[0]) == {"id", "name", "firstSeen"} and shops[0]["firstSeen"].endswith("Z")


def test_rename_is_stored_and_in_the_audit_trail(data_dir) -> None:
    code, out, err = data_dir.run("shops", "rename", "3", "  Main store ")
    assert (code, out.strip(), err) == (0, "shop 3 renamed: “Shop 3” → “Main store”", "")
    code, out, _ = data_dir.run("shops", "rename", "3", "Main store")
    assert (code, out.strip()) == (0, "shop 3 is already called “Main store”; nothing changed")
    assert [s["name"] for s in json.loads(data_dir.run("shops", "list", "--json")[1])] == [
        "Main store",
        "Shop 12",
    ]
    [entry] = json.loads(data_dir.run("audit", "list", "--json")[1])
    assert entry["action"] == "shop.renamed"
    assert entry["changes"] == [{"field": "name", "old": "Shop 3", "new": "Main store"}]
    assert "Renamed shop 3 “Shop 3” → “Main store”" in data_dir.run("audit", "list")[1]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("7", "Warehouse"), 1, "there is no shop 7"),
        (("3", "   "), 2, "shop 3 not renamed: a shop name cannot be empty"),
        (("3", "Shop 12"), 2, "“Shop 12” is the name shop 12 is learned with"),
        (("3", "x" * 81), 2, "at most 80 characters"),
    ],
)
def test_unknown_ids_and_bad_names_exit_non_zero_with_words_and_change_nothing(
    data_dir, args, code, message
) -> None:
    got, out, err = data_dir.run("shops", "rename", *args)
    assert got == code and out == ""
    assert err.startswith("shopctrl-desktop: ") and message in err
    assert [s["name"] for s in json.loads(data_dir.run("shops", "list", "--json")[1])] == [
        "Shop 3",
        "Shop 12",
    ]
    assert json.loads(data_dir.run("audit", "list", "--json")[1]) == []


def test_rename_needs_a_numeric_id(data_dir) -> None:
    with pytest.raises(SystemExit) as exit_info:
        data_dir.run("shops", "rename", "three", "Main")
    assert exit_info.value.code == 2
