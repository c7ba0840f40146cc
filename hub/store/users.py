"""Dashboard users: username, role (viewer or operator) and a scrypt password hash.

Checking a password costs one scrypt derivation whether or not the user exists or is
disabled (an unknown name is checked against :data:`_DUMMY_HASH`), so the time an answer
takes does not tell which names exist. A changed password or a disabled user ends that
user's dashboard sessions (:mod:`hub.store.signin`).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Connection, select, update

from hub.errors import HubError
from hub.store import schema as t
from hub.store import signin

ROLES = ("viewer", "operator", "auditor")
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    username: str
    role: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def is_auditor(self) -> bool:
        """May read the access and disclosure logs (Act 703/2023: only staff whose duties
        require it); an auditor is not an operator, nor the other way round."""
        return self.role == "auditor"


def _kdf(salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> Scrypt:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _kdf(salt).derive(password.encode())
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


#: what a password is checked against when no user has the name: the hash's shape with a
#: random salt and digest (no password has it), made once per process without a derivation
_DUMMY_HASH = "$".join(
    ["scrypt", str(_N), str(_R), str(_P)]
    + [base64.b64encode(os.urandom(n)).decode() for n in (16, 32)]
)


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        _kdf(base64.b64decode(salt), int(n), int(r), int(p)).verify(
            password.encode(), base64.b64decode(digest)
        )
        return True
    except (ValueError, InvalidKey):
        return False


def set_user(conn: Connection, username: str, password: str, role: str) -> None:
    """Create the user, or change an existing one's password and role."""
    if role not in ROLES:
        raise HubError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 100:
        raise HubError("a username of 1-100 characters is needed")
    if len(password) < 12:
        raise HubError("a password of at least 12 characters is needed")
    values = {"password_hash": hash_password(password), "role": role, "disabled": 0}
    exists = conn.execute(select(t.users.c.username).where(t.users.c.username == username))
    if exists.first():
        conn.execute(update(t.users).where(t.users.c.username == username).values(**values))
        signin.end_sessions(conn, username, dt.datetime.now(dt.UTC))
    else:
        conn.execute(
            t.users.insert().values(username=username, created_at=dt.datetime.now(dt.UTC), **values)
        )


def disable_user(conn: Connection, username: str) -> None:
    """Stop ``username`` signing in, and end the sessions they have."""
    done = conn.execute(update(t.users).where(t.users.c.username == username).values(disabled=1))
    if not done.rowcount:
        raise HubError(f"no user {username!r}")
    signin.end_sessions(conn, username, dt.datetime.now(dt.UTC))


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs and they are not disabled, else None: one scrypt
    derivation in every case (an unknown name is checked against :data:`_DUMMY_HASH`)."""
    row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
    matches = check_password(password, row.password_hash if row else _DUMMY_HASH)
    if row is None or row.disabled or not matches:
        return None
    return User(row.username, row.role)


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.username == username)).first()
    return None if row is None or row.disabled else User(row.username, row.role)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(t.users).where(t.users.c.disabled == 0).order_by("username"))
    return [User(r.username, r.role) for r in rows]
