"""Typed settings: defaults < settings.json in the data dir < environment < command line."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from shopctrl_desktop.domain.retry import RetryPolicy
from shopctrl_desktop.paths import AppPaths

DEFAULT_LISTEN_HOST = "127.0.0.1"
DEFAULT_LISTEN_PORT = 8765


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    listen_host: str = DEFAULT_LISTEN_HOST
    listen_port: int = DEFAULT_LISTEN_PORT
    #: Binding to anything but loopback must be switched on explicitly.
    allow_remote: bool = False
    database_url: str | None = None
    body_limit_bytes: int = 1024 * 1024
    concurrency: int = 16
    per_host_concurrency: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: "Deliver from this workstation": off, the desktop app starts no engine and no listener (a support
    #: workstation; another workstation or ``serve`` delivers). Per workstation: settings.json only.
    deliver_here: bool = True
    #: A shared database whose login has a password: the desktop app asks for it at start when neither
    #: SHOPCTRL_DATABASE_PASSWORD nor the OS keyring has it (store/shared_login.py). Never the password.
    ask_database_password: bool = False
    #: Circuit breaker (docs/endpoints.md): consecutive failed attempts that open an endpoint's circuit, and
    #: the days an open circuit may last before the endpoint is paused.
    circuit_failures: int = 5
    circuit_pause_days: float = 5.0
    #: Offline awareness (docs/endpoints.md "Offline"): this many different hosts unreachable within the
    #: window (seconds) and no connection meanwhile: deliveries pause; probes after 5 s doubling to 60 s.
    offline_hosts: int = 3
    offline_window_seconds: float = 10.0
    offline_first_probe_seconds: float = 5.0
    offline_max_probe_seconds: float = 60.0
    #: Retention (docs/data.md): delivered and cancelled items after this many days, failed ones after
    #: that many, with their attempts and the event snapshots no item refers to any more. 0 keeps them.
    keep_delivered_days: int = 30
    keep_failed_days: int = 90
    #: Secret rotation (docs/endpoints.md "Rotating a secret"): hours the previous Standard Webhooks secret
    #: keeps signing beside the new one.
    secret_rotation_overlap_hours: float = 24.0
    #: ``serve``'s processes (docs/delivery.md "Process model"): 1 = one process does everything; 2 or more =
    #: intake and delivery processes under a supervisor; 0 = one per core (at most 4). ``serve --workers``.
    serve_workers: int = 0
    #: The window's look: "system", "light" or "dark" (Fusion with a dark palette); per workstation.
    appearance: str = "system"

    @property
    def listen_address(self) -> str:
        return f"{self.listen_host}:{self.listen_port}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["retry"] = self.retry.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "retry"}
        retry = RetryPolicy.from_json(data["retry"]) if isinstance(data.get("retry"), dict) else RetryPolicy()
        return cls(retry=retry, **values)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"listen address {value!r} must look like HOST:PORT, e.g. 127.0.0.1:8765")
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"listen port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"listen port {number} is outside 0-65535")
    return host.strip("[]"), number


def load_settings(
    paths: AppPaths,
    *,
    database_url: str | None = None,
    listen: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    settings = Settings()
    if paths.settings_file.exists():
        try:
            settings = Settings.from_json(json.loads(paths.settings_file.read_text("utf-8")))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"settings file {paths.settings_file} is unreadable: {exc}") from exc
    if env.get("SHOPCTRL_DATABASE_URL"):
        settings = replace(settings, database_url=env["SHOPCTRL_DATABASE_URL"])
    if env.get("SHOPCTRL_LISTEN"):
        host, port = parse_listen(env["SHOPCTRL_LISTEN"])
        settings = replace(settings, listen_host=host, listen_port=port)
    if env.get("SHOPCTRL_CONCURRENCY"):
        settings = replace(
            settings, concurrency=_positive_int("SHOPCTRL_CONCURRENCY", env["SHOPCTRL_CONCURRENCY"])
        )
    if env.get("SHOPCTRL_RETRY_DELAYS"):
        try:
            delays = tuple(float(x) for x in env["SHOPCTRL_RETRY_DELAYS"].split(",") if x.strip())
        except ValueError:
            raise ConfigError("SHOPCTRL_RETRY_DELAYS must be comma-separated seconds, e.g. 1,5,30") from None
        if not delays or any(d < 0 for d in delays):
            raise ConfigError("SHOPCTRL_RETRY_DELAYS must list at least one non-negative number of seconds")
        settings = replace(settings, retry=replace(settings.retry, kind="custom", delays=delays))
    if env.get("SHOPCTRL_MAX_RETRIES"):
        n = _non_negative_int("SHOPCTRL_MAX_RETRIES", env["SHOPCTRL_MAX_RETRIES"])
        settings = replace(settings, retry=replace(settings.retry, max_retries=n))
    if database_url:
        settings = replace(settings, database_url=database_url)
    if listen:
        host, port = parse_listen(listen)
        settings = replace(settings, listen_host=host, listen_port=port)
    return settings


def save_settings(paths: AppPaths, settings: Settings) -> None:
    paths.ensure()
    tmp = paths.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2), "utf-8")
    os.replace(tmp, paths.settings_file)


def database_url_for(paths: AppPaths, settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{Path(paths.database_file).as_posix()}"


def _positive_int(name: str, value: str) -> int:
    n = _non_negative_int(name, value)
    if n == 0:
        raise ConfigError(f"{name} must be at least 1")
    return n


def _non_negative_int(name: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if n < 0:
        raise ConfigError(f"{name} must not be negative")
    return n
