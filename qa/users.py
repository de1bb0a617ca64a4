"""The people who may use `qa serve`: a users file, password and token checks, and a lockout.

One JSON file (`--users FILE` or `QA_USERS`) holds, for each user, a role and hashes only:
- the password as an Argon2id hash (argon2-cffi's `PasswordHasher`: salted, memory-hard, its
  parameters inside the hash, so a later library default still verifies old hashes);
- the API token as a SHA-256 digest. A token is `secrets.token_urlsafe(32)` (256 random bits),
  shown once; a fast hash is enough for a secret that cannot be guessed or looked up in a list,
  and it keeps every API request cheap (Argon2 costs tens of ms and 64 MiB on purpose).

The file is written whole to a temporary file beside it, with mode 0600, then renamed over the
old one (`os.replace`): a reader sees the old file or the new one, never half of one. The server
re-reads it when it changes, so `qa users remove` takes effect without a restart.

`LoginLimiter` counts failed logins for one key; the server keeps one per user name and one per client
address (with a higher limit, as people behind one proxy share one); either one locks for a
while after too many, so guessing is slow whether it tries many passwords or many names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QAError

ROLES = ("read", "write")  # read: ask questions; write: also add, remove and rebuild documents
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_PASSWORD_CHARS = 1024  # bounds the work one login attempt can cause
MIN_PASSWORD_CHARS = 8
INSTALL = "pip install 'qa-docs[serve]'"


class UsersProblem(QAError):
    """The users file or a user command cannot be used as given; the message says why."""

    exit_code = 2


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == "write"


def password_hasher() -> Any:
    """argon2-cffi's PasswordHasher (the serve extra), imported only where passwords are used."""
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise UsersProblem(f"logins need the argon2-cffi package: {INSTALL}") from None
    return PasswordHasher()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Users:
    """The users file, read on demand: `check_password` and `check_token` see changes made by `qa users`."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, dict] = {}

    # --- reading and writing ---------------------------------------------------------------------
    def load(self, must_exist: bool = False) -> Users:
        """Read the file (again, when it changed since the last read); a missing file is no users."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                if must_exist:
                    raise UsersProblem(
                        f"users file {self.path} does not exist: create it with `qa users add NAME --users {self.path}`"
                    ) from None
                self._users, self._stamp = {}, None
                return self
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return self
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                users = data["users"]
                if not isinstance(users, dict):
                    raise TypeError("users is not an object")
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise UsersProblem(f"users file {self.path} is unreadable ({type(e).__name__}: {e}); fix or remove it") from None
            self._users, self._stamp = users, stamp
            return self

    def save(self) -> None:
        """Write the whole file atomically (temporary file, mode 0600, then rename over the old one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "users": self._users}, indent=1, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)

    # --- managing ---------------------------------------------------------------------------------
    def names(self) -> list[User]:
        self.load()
        return [User(n, u.get("role", "read")) for n, u in sorted(self._users.items())]

    def __len__(self) -> int:
        return len(self.load()._users)

    def get(self, name: str) -> User | None:
        u = self.load()._users.get(name)
        return User(name, u.get("role", "read")) if isinstance(u, dict) else None

    def add(self, name: str, password: str, role: str = "read") -> User:
        """Add a user, or set an existing one's password and role."""
        if not NAME_RE.match(name):
            raise UsersProblem(f"user name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-'")
        if role not in ROLES:
            raise UsersProblem(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise UsersProblem(f"the password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
        hashed = password_hasher().hash(password)
        self.load()
        entry = dict(self._users.get(name) or {})
        entry.update(role=role, password=hashed)
        self._users[name] = entry
        self.save()
        return User(name, role)

    def remove(self, name: str) -> None:
        if name not in self.load()._users:
            raise UsersProblem(f"no user {name!r} in {self.path}")
        del self._users[name]
        self.save()

    def new_token(self, name: str) -> str:
        """A new API token for `name` (replacing the old one); only its digest is kept."""
        if name not in self.load()._users:
            raise UsersProblem(f"no user {name!r} in {self.path}: add it first with `qa users add {name}`")
        token = secrets.token_urlsafe(32)
        self._users[name]["token_sha256"] = token_digest(token)
        self.save()
        return token

    # --- checking ---------------------------------------------------------------------------------
    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs; None otherwise (also for unknown names, after the same work)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = password_hasher()
        entry = self.load()._users.get(name) if isinstance(name, str) else None
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            return None
        stored = entry.get("password") if isinstance(entry, dict) else None
        try:
            hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, entry.get("role", "read")) if stored and entry else None

    def check_token(self, token: str) -> User | None:
        digest = token_digest(token)
        found = None
        for name, entry in self.load()._users.items():  # every entry compared, in constant time each
            if isinstance(entry, dict) and hmac.compare_digest(str(entry.get("token_sha256", "")), digest):
                found = User(name, entry.get("role", "read"))
        return found


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as known ones."""
    if not _DUMMY:
        _DUMMY.append(password_hasher().hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


class LoginLimiter:
    """Failed logins per key (a user name, a client address): `max_failures` within `window_s`
    lock that key until the oldest of them is `window_s` old. Thread-safe; memory stays bounded."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0, max_keys: int = 10_000):
        self.max_failures, self.window_s, self.max_keys = max_failures, window_s, max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, *keys: str, now: float | None = None) -> float:
        """Seconds until every key may try again; 0 when none is locked."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [q[0] + self.window_s - now for k in keys if len(q := self._recent(k, now)) >= self.max_failures]
        return max(waits, default=0.0)

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= self.max_keys:  # forget the keys whose failures are all old
                for k in list(self._failures):
                    self._recent(k, now)
            for k in keys:
                q = self._failures.setdefault(k, deque(maxlen=self.max_failures))
                q.append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
