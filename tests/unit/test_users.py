"""The users file, its hashes and the failed-login lockout (qa/users.py), and when `qa serve` refuses to start."""

from __future__ import annotations

import json
import stat
import sys

import pytest

from qa.ui.server import ServeProblem, check_exposure, is_loopback
from qa.users import LoginLimiter, Users, UsersProblem


def test_passwords_and_tokens_are_stored_as_hashes_in_a_private_file(tmp_path):
    users = Users(tmp_path / "team" / "users.json")
    users.add("alice", "correct horse", "write")
    users.add("bob", "battery staple")
    token = users.new_token("bob")
    text = users.path.read_text(encoding="utf-8")
    assert "correct horse" not in text and "battery staple" not in text and token not in text
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    assert [p.name for p in users.path.parent.iterdir()] == ["users.json"]  # no temporary file left behind
    assert users.check_password("alice", "correct horse").can_write
    assert users.check_password("alice", "wrong horse") is None
    assert users.check_password("nobody", "correct horse") is None
    assert users.check_token(token).name == "bob" and not users.check_token(token).can_write
    assert users.check_token(token[:-1] + "x") is None


def test_a_new_token_revokes_the_old_and_removal_takes_effect_in_a_running_reader(tmp_path):
    path = tmp_path / "users.json"
    writer, server_view = Users(path), Users(path)
    writer.add("bob", "battery staple")
    old = writer.new_token("bob")
    assert server_view.check_token(old).name == "bob"
    new = Users(path).new_token("bob")  # another process, as `qa users token` is
    assert server_view.check_token(old) is None and server_view.check_token(new).name == "bob"
    Users(path).remove("bob")
    assert server_view.check_token(new) is None and server_view.get("bob") is None


def test_bad_names_roles_passwords_and_files_say_why(tmp_path):
    users = Users(tmp_path / "users.json")
    with pytest.raises(UsersProblem, match="not allowed"):
        users.add("../etc", "long enough")
    with pytest.raises(UsersProblem, match="role 'admin'"):
        users.add("alice", "long enough", "admin")
    with pytest.raises(UsersProblem, match="8 to 1024 characters"):
        users.add("alice", "short")
    with pytest.raises(UsersProblem, match="no user 'ghost'"):
        users.new_token("ghost")
    with pytest.raises(UsersProblem, match="does not exist: create it with `qa users add"):
        Users(tmp_path / "missing.json").load(must_exist=True)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UsersProblem, match="unreadable"):
        Users(tmp_path / "broken.json").load()
    users.add("alice", "long enough")
    assert json.loads(users.path.read_text())["users"]["alice"]["role"] == "read"


def test_lockout_after_too_many_failures_and_release_after_the_window():
    limiter = LoginLimiter(max_failures=3, window_s=60)
    for t in range(3):
        assert limiter.retry_after("carol", now=100 + t) == 0
        limiter.failed("carol", now=100 + t)
    assert limiter.retry_after("carol", now=103) == pytest.approx(57)
    assert limiter.retry_after("dave", now=103) == 0  # others are not affected
    assert limiter.retry_after("carol", now=160.5) == 0  # the oldest failure left the window
    limiter.failed("carol", now=161)
    limiter.succeeded("carol")
    assert limiter.retry_after("carol", now=161) == 0


def test_limiter_memory_stays_bounded():
    limiter = LoginLimiter(max_failures=2, window_s=10, max_keys=100)
    for i in range(1000):
        limiter.failed(f"addr-{i}", now=float(i * 20))  # each one's failure is old by the next
    assert len(limiter._failures) <= 101


def test_serving_beyond_loopback_needs_logins(tmp_path, capsys):
    check_exposure("127.0.0.1", share=False, users=None, no_auth=False)
    check_exposure("localhost", share=False, users=None, no_auth=False)
    for host, share in (("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("127.0.0.1", True)):
        with pytest.raises(ServeProblem, match="qa users add NAME .*--users users.json.*--no-auth"):
            check_exposure(host, share=share, users=None, no_auth=False)
    check_exposure("0.0.0.0", share=False, users=None, no_auth=True)
    assert "WITHOUT logins" in capsys.readouterr().err
    empty = Users(tmp_path / "users.json")
    with pytest.raises(ServeProblem, match="has no users"):
        check_exposure("0.0.0.0", share=False, users=empty, no_auth=False)
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_logins_without_the_serve_extra_say_what_to_install(tmp_path, monkeypatch):
    """The base install has no argon2-cffi: asking for logins names the extra instead of failing on an import."""
    from qa.ui.server import open_users

    monkeypatch.setitem(sys.modules, "argon2", None)  # as if the package were not installed
    with pytest.raises(UsersProblem, match=r"pip install 'qa-docs\[serve\]'"):
        open_users(tmp_path / "users.json")
    with pytest.raises(UsersProblem, match=r"pip install 'qa-docs\[serve\]'"):
        Users(tmp_path / "users.json").add("alice", "long enough")
    assert open_users(None) is None  # no users file: the base install serves loopback as before
