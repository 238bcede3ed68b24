"""``triggers rotate-secret`` in-process against a real SQLite data dir."""

from __future__ import annotations

import json

from sqlalchemy import select

from shopctrl_desktop.domain.model import SignatureScheme
from shopctrl_desktop.domain.signing import generate_secret
from shopctrl_desktop.store import triggers as trigger_store
from shopctrl_desktop.store.models import AuditEntryRow
from tests.helpers.factories import make_action
from tests.unit.test_cli import make_dir  # noqa: F401 - the fixture

SW = SignatureScheme.STANDARD_WEBHOOKS


def test_rotate_with_overlap_then_generate_on_a_cut_over_scheme(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")
    db, box = d.open()
    old, new = generate_secret(SW), generate_secret(SW)
    sw = make_action(db, box, "https://erp.example/h", title="ERP", hmac_secret=old, signature_scheme=SW)
    gh = make_action(
        db, box, "https://ci.example/h", title="CI", hmac_secret="gh-old", signature_scheme="github"
    )

    code, out, _ = d.run("triggers", "list", "--json")
    ids = {t["title"]: t["actions"][0]["id"] for t in json.loads(out)}
    assert code == 0 and ids == {"ERP": sw.id, "CI": gh.id}

    code, out, err = d.run("triggers", "rotate-secret", str(sw.id), "--secret", new, "--overlap", "6")
    assert code == 0, err
    assert 'trigger "ERP": Secret rotated' in out and "the previous secret is also signed until" in out
    assert new not in out and old not in out
    with db.session() as s:
        (stored,) = [t for t in trigger_store.list_triggers(s, box) if t.title == "ERP"]
    action = stored.actions[0]
    assert (action.hmac_secret, action.previous_hmac_secret) == (new, old)
    assert (action.previous_secret_expires_at - action.secret_rotated_at).total_seconds() == 6 * 3600

    code, out, err = d.run("triggers", "rotate-secret", str(gh.id), "--generate")
    assert code == 0, err
    assert "(receivers must use the new secret now)" in out
    printed = out.split("it is not shown again): ")[1].strip()
    with db.session() as s:
        (stored,) = [t for t in trigger_store.list_triggers(s, box) if t.title == "CI"]
        audit = list(s.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "secret.rotated")))
    assert stored.actions[0].hmac_secret == printed and stored.actions[0].previous_hmac_secret is None
    assert len(audit) == 2 and all(printed not in a.changes_json and new not in a.changes_json for a in audit)

    code, out, _ = d.run("triggers", "export", "--include-secrets")
    assert code == 0 and old not in out  # the previous secret is never exported


def test_bad_input_is_said_in_words_with_a_nonzero_exit(make_dir):  # noqa: F811
    d = make_dir()
    d.run("triggers", "list")
    db, box = d.open()
    action = make_action(
        db, box, "https://erp.example/h", hmac_secret=generate_secret(SW), signature_scheme=SW
    )
    cases = [
        (["999", "--generate"], "no webhook action #999"),
        ([str(action.id)], "--secret VALUE"),
        ([str(action.id), "--secret", "plain"], "must start with 'whsec_'"),
        ([str(action.id), "--generate", "--overlap", "9999"], "overlap must be between"),
    ]
    for args, words in cases:
        code, out, err = d.run("triggers", "rotate-secret", *args)
        assert code != 0 and words in err, (args, out, err)
        assert "Traceback" not in err
