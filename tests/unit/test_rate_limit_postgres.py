"""Rate limits on PostgreSQL with real logins: an admin sets one (audited), a support login — which may pause
the endpoint and so write its row — is refused in words, and the engine login reads the limits."""

from __future__ import annotations

import pytest

from shopctrl_desktop.domain.roles import Role
from shopctrl_desktop.store import audit, endpoints
from tests.unit.test_roles_postgres import postgres, shared  # noqa: F401 - the fixtures

ERP = "https://erp.example/hook"


def test_admin_sets_support_is_refused_engine_reads(shared) -> None:  # noqa: F811
    support = shared.login(Role.SUPPORT)
    with support.session() as s, pytest.raises(endpoints.RateLimitNotAllowed) as refused:
        endpoints.set_rate_limit(s, ERP, 5)
    assert str(refused.value) == (
        f"only an admin can change rate limits (you are signed in as {shared.logins[Role.SUPPORT]}, support)"
    )
    with support.session() as s:
        assert endpoints.pause_endpoint(s, ERP)[2]  # support may still pause it
        assert endpoints.rate_limits(s) == {}

    admin = shared.login(Role.ADMIN)
    with admin.session() as s:
        assert endpoints.set_rate_limit(s, ERP, 2.5) == (ERP, None, True)
    engine = shared.login(Role.ENGINE)
    with engine.session() as s:
        assert endpoints.rate_limits(s) == {ERP: 2.5}
    with shared.owner.session() as s:
        (entry,) = [e for e in audit.list_entries(s) if e.action == "endpoint.rateLimited"]
        (listed,) = [e for e in endpoints.list_endpoints(s) if e.url == ERP]
    assert entry.who == shared.logins[Role.ADMIN]
    assert (listed.state, listed.rate_limit) == ("paused", 2.5)
