from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shopctrl_desktop.config import ConfigError, Settings, load_settings, parse_listen, save_settings
from shopctrl_desktop.paths import AppPaths
from shopctrl_desktop.store.secrets import SecretBox, SecretKeyError, load_secret_box


def test_settings_precedence_file_then_env_then_cli(app_paths: AppPaths) -> None:
    save_settings(app_paths, Settings(listen_port=9000, concurrency=4))
    env = {"SHOPCTRL_LISTEN": "127.0.0.1:9100", "SHOPCTRL_RETRY_DELAYS": "1,2", "SHOPCTRL_MAX_RETRIES": "3"}
    s = load_settings(app_paths, environ=env)
    assert (s.listen_port, s.concurrency) == (9100, 4)
    assert s.retry.kind == "custom" and s.retry.delays == (1.0, 2.0) and s.retry.max_retries == 3
    s = load_settings(app_paths, environ=env, listen="0.0.0.0:9200", database_url="sqlite:///x.db")
    assert (s.listen_host, s.listen_port, s.database_url) == ("0.0.0.0", 9200, "sqlite:///x.db")


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"SHOPCTRL_RETRY_DELAYS": "soon"}, "SHOPCTRL_RETRY_DELAYS"),
        ({"SHOPCTRL_MAX_RETRIES": "-2"}, "SHOPCTRL_MAX_RETRIES"),
        ({"SHOPCTRL_CONCURRENCY": "0"}, "SHOPCTRL_CONCURRENCY"),
        ({"SHOPCTRL_LISTEN": "8765"}, "HOST:PORT"),
    ],
)
def test_bad_environment_values_are_named(app_paths: AppPaths, env: dict, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        load_settings(app_paths, environ=env)


def test_parse_listen_ipv6() -> None:
    assert parse_listen("[::1]:8765") == ("::1", 8765)


def test_secret_box_round_trip_and_key_file_mode(app_paths: AppPaths) -> None:
    box = load_secret_box(app_paths.data_dir, use_keyring=False)
    token = box.encrypt("s3cr3t-välue")
    assert token and "s3cr3t" not in token
    assert box.decrypt(token) == "s3cr3t-välue"
    assert box.encrypt(None) is None and box.encrypt("") is None
    mode = stat.S_IMODE(os.stat(app_paths.key_file).st_mode)
    assert mode == 0o600
    again = load_secret_box(app_paths.data_dir, use_keyring=False)
    assert again.decrypt(token) == "s3cr3t-välue"
    assert "key" not in repr(box).lower().replace("secretbox", "").replace("secret.key", "")


def test_wrong_key_gives_a_clear_error(tmp_path: Path) -> None:
    token = SecretBox.generate().encrypt("x")
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox.generate().decrypt(token)


def test_keyring_fail_backend_falls_back_to_key_file(
    app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On servers/CI keyring only has its 'fail' backend: the key file must be used."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    box = load_secret_box(app_paths.data_dir)
    assert box.source == str(app_paths.key_file)
    assert app_paths.key_file.exists()
    assert box.decrypt(box.encrypt("v")) == "v"
