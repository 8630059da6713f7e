"""Broker identities and their topic ACLs; the embedded amqtt broker; mosquitto config files.

Three kinds of identity (MQTT usernames):
- `admin`: the game server and whoever submits runs. Reads and writes all of `arena/v1/#`,
  the god view included.
- `spectator`: reads the public event topics only.
- one identity per remote worker, named like the worker (`remote/NAME` plays as NAME): reads
  only its own inbox, writes only its own outbox and status topic.

The same rules are rendered for the embedded amqtt broker (its FileAuthPlugin with argon2
hashes and its TopicAccessControlListPlugin) and for mosquitto (a PBKDF2-SHA512 password file
and an ACL file, `arena serve --write-mosquitto-config DIR`).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import warnings
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel, Field, ValidationError, field_validator

from persona_arena.core.validation import field_errors
from persona_arena.server.mqtt import BrokerUrl, Login
from persona_arena.server.protocol import (
    ADMIN_USER, PUBLIC_FILTER, SPECTATOR_USER, TOPIC_ROOT, agent_topic, check_agent_name,
)

log = structlog.get_logger(__name__)

Role = Literal["admin", "spectator", "agent"]
CREDENTIALS_SCHEMA = "persona-arena/mqtt-credentials@1"
MOSQUITTO_PBKDF2_ITERATIONS = 1000


class CredentialsError(ValueError):
    """A credentials file that cannot be used; the message names the file and the field."""


class Identity(BaseModel):
    role: Role
    password: str = Field(min_length=8)


class Credentials(BaseModel):
    """Every broker identity with its password (the file is written with mode 0600)."""

    schema_: Literal["persona-arena/mqtt-credentials@1"] = Field(default=CREDENTIALS_SCHEMA, alias="schema")
    users: dict[str, Identity]

    @field_validator("users")
    @classmethod
    def _roles_match_names(cls, users: dict[str, Identity]) -> dict[str, Identity]:
        for name, who in users.items():
            if name in (ADMIN_USER, SPECTATOR_USER):
                if who.role != name:
                    raise ValueError(f"user {name!r} must have role {name!r}")
            elif who.role != "agent":
                raise ValueError(f"user {name!r}: only {ADMIN_USER!r} and {SPECTATOR_USER!r} have that role")
            else:
                check_agent_name(name)
        missing = [n for n in (ADMIN_USER, SPECTATOR_USER) if n not in users]
        if missing:
            raise ValueError(f"missing identities: {', '.join(missing)}")
        return users

    @classmethod
    def generate(cls, agents: list[str] = ()) -> Credentials:  # type: ignore[assignment]
        users = {ADMIN_USER: Identity(role="admin", password=_new_password()),
                 SPECTATOR_USER: Identity(role="spectator", password=_new_password())}
        creds = cls(users=users)
        return creds.with_agents(agents)

    def with_agents(self, agents: list[str]) -> Credentials:
        """A copy that also has an identity for each of `agents` (existing passwords kept)."""
        users = dict(self.users)
        for name in agents:
            check_agent_name(name)
            users.setdefault(name, Identity(role="agent", password=_new_password()))
        return Credentials(users=users)

    @property
    def agents(self) -> list[str]:
        return sorted(n for n, who in self.users.items() if who.role == "agent")

    def login(self, username: str) -> Login:
        if username not in self.users:
            raise CredentialsError(f"no identity {username!r} in the credentials (known: {sorted(self.users)})")
        return Login(username, self.users[username].password)

    # -- files -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CredentialsError(f"{path}: no such credentials file") from None
        except ValidationError as err:
            raise CredentialsError(f"{path}: {field_errors(err, 'credentials')}") from None
        except ValueError as err:
            raise CredentialsError(f"{path}: {err}") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, self.model_dump_json(by_alias=True, indent=2) + "\n")

    @classmethod
    def load_or_create(cls, path: Path, agents: list[str] = ()) -> Credentials:  # type: ignore[assignment]
        """Loads `path` (creating it with fresh passwords if missing) and adds `agents`."""
        creds = cls.load(path) if path.exists() else cls.generate()
        updated = creds.with_agents(list(agents))
        if updated != creds or not path.exists():
            updated.save(path)
        return updated


def _new_password() -> str:
    return secrets.token_urlsafe(18)


def _write_private(path: Path, text: str) -> None:
    """Writes `text` readable by the owner only (passwords and hashes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def login_from_option(value: str, *, default_user: str) -> Login:
    """`--credentials`: a credentials file (JSON, as `arena serve` writes it; the identity is
    `default_user`) or `USER:PASSWORD`."""
    path = Path(value)
    if path.is_file():
        return Credentials.load(path).login(default_user)
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise CredentialsError(f"--credentials {value!r}: neither a credentials file nor USER:PASSWORD")
    return Login(user, password)


# -- topic permissions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Permissions:
    read: list[str] = field(default_factory=list)   # topic filters it may subscribe to
    write: list[str] = field(default_factory=list)  # topics it may publish to


def permissions(credentials: Credentials) -> dict[str, Permissions]:
    rules: dict[str, Permissions] = {}
    for name, who in credentials.users.items():
        if who.role == "admin":
            rules[name] = Permissions(read=[f"{TOPIC_ROOT}/#"], write=[f"{TOPIC_ROOT}/#"])
        elif who.role == "spectator":
            rules[name] = Permissions(read=[PUBLIC_FILTER])
        else:
            rules[name] = Permissions(read=[agent_topic(name, "inbox")],
                                      write=[agent_topic(name, "outbox"), agent_topic(name, "status")])
    return rules


# -- the embedded amqtt broker -------------------------------------------------------------
def amqtt_password_file(credentials: Credentials) -> str:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = PasswordHash((Argon2Hasher(),))
    return "".join(f"{name}:{hasher.hash(who.password)}\n" for name, who in sorted(credentials.users.items()))


def amqtt_config(credentials: Credentials, *, host: str, port: int, password_file: Path,
                 tls_cert: Path | None = None, tls_key: Path | None = None) -> dict[str, Any]:
    """amqtt 0.12 broker config: password-file authentication (no anonymous access) and
    per-user topic ACLs for subscribing and publishing."""
    rules = permissions(credentials)
    listener: dict[str, Any] = {"type": "tcp", "bind": f"{host}:{port}"}
    if tls_cert is not None:
        listener.update(ssl=True, certfile=str(tls_cert), keyfile=str(tls_key))
    return {
        "listeners": {"default": listener},
        "plugins": {
            "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(password_file)},
            "amqtt.plugins.topic_checking.TopicAccessControlListPlugin": {
                # `acl` is the subscribe ACL; a user with an empty list may do nothing.
                "acl": {name: p.read for name, p in rules.items()},
                "publish_acl": {name: p.write for name, p in rules.items()},
            },
        },
    }


class PortInUse(OSError):
    """The embedded broker's port is taken (by another broker, say)."""


class EmbeddedBroker:
    """amqtt running in this process and event loop, with auth and topic ACLs (and the holes
    of amqtt 0.12.1 closed: see `amqtt_guard`)."""

    def __init__(self, credentials: Credentials, *, state_dir: Path, host: str = "127.0.0.1", port: int = 1883,
                 tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both a certificate and a key file")
        self.credentials, self.state_dir, self.host, self.port = credentials, state_dir, host, port
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self._broker: Any = None

    @property
    def url(self) -> BrokerUrl:
        return BrokerUrl(self.host, self.port, tls=self.tls_cert is not None)

    async def start(self) -> None:
        import logging

        from persona_arena.server.amqtt_guard import GuardedBroker

        # amqtt logs every connection at INFO and its deprecation warnings through logging.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.state_dir / "amqtt-passwords"
        _write_private(password_file, amqtt_password_file(self.credentials))
        config = amqtt_config(self.credentials, host=self.host, port=self.port, password_file=password_file,
                              tls_cert=self.tls_cert, tls_key=self.tls_key)
        with warnings.catch_warnings():
            # amqtt 0.12's ACL plugin only takes the subscribe ACL under its deprecated name `acl`.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._broker = GuardedBroker(config, self.credentials)
        startup_log = logging.getLogger("amqtt.broker")
        startup_log.setLevel(logging.CRITICAL)  # a failed start is raised below, not also logged with a traceback
        try:
            await self._broker.start()
        except Exception as err:  # amqtt wraps the listener's OSError in its BrokerError
            await self.stop()
            if isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.EADDRINUSE:
                raise PortInUse(f"{self.host}:{self.port} is already in use") from None
            raise
        finally:
            startup_log.setLevel(logging.NOTSET)
        if self.port == 0:  # the OS chose a free port; amqtt 0.12 keeps the asyncio server here
            server = self._broker._servers["default"].instance
            self.port = server.sockets[0].getsockname()[1]
        log.info("broker.started", kind="amqtt", url=str(self.url))

    async def stop(self) -> None:
        if self._broker is not None:
            import logging

            # Messages still queued when we stop (a client's last will, say) have nobody left to
            # reach; amqtt warns "N messages not broadcasted" at the end of every run otherwise.
            shutdown_log = logging.getLogger("amqtt.broker")
            shutdown_log.setLevel(logging.ERROR)
            try:
                with contextlib.suppress(Exception):
                    await self._broker.shutdown()
            finally:
                shutdown_log.setLevel(logging.NOTSET)
            self._broker = None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


# -- mosquitto -----------------------------------------------------------------------------
def mosquitto_password_hash(password: str, *, salt: bytes | None = None,
                            iterations: int = MOSQUITTO_PBKDF2_ITERATIONS) -> str:
    """mosquitto 2's `$7$` format: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte hash, base64."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_acl(credentials: Credentials) -> str:
    lines = ["# persona-arena topic ACL (generated by `arena serve --write-mosquitto-config`)",
             "# No topic lines before the first `user`: anonymous clients get nothing.", ""]
    for name, rule in sorted(permissions(credentials).items()):
        lines.append(f"user {name}")
        both = [t for t in rule.read if t in rule.write]
        lines += [f"topic readwrite {t}" for t in both]
        lines += [f"topic read {t}" for t in rule.read if t not in both]
        lines += [f"topic write {t}" for t in rule.write if t not in both]
        lines.append("")
    return "\n".join(lines)


@dataclass(frozen=True)
class MosquittoFiles:
    config: Path
    passwords: Path
    acl: Path
    credentials: Path


def write_mosquitto_config(directory: Path, credentials: Credentials, *, host: str = "127.0.0.1",
                           port: int = 1883, tls_cert: Path | None = None, tls_key: Path | None = None,
                           run_as: str | None = None) -> MosquittoFiles:
    """Writes mosquitto.conf, a password file, an ACL file and the clear-text credentials
    (for handing out to workers) into `directory`. Start with `mosquitto -c DIR/mosquitto.conf`.

    Started as root, mosquitto drops to the `mosquitto` account (or `run_as`, its `user`
    option) before it reads the password and ACL files: written by root, they are handed to
    that account (still mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = MosquittoFiles(directory / "mosquitto.conf", directory / "passwords", directory / "acl",
                           directory / "credentials.json")
    _write_private(files.passwords, "".join(
        f"{name}:{mosquitto_password_hash(who.password)}\n" for name, who in sorted(credentials.users.items())))
    _write_private(files.acl, mosquitto_acl(credentials))
    _give_to(run_as or "mosquitto", files.passwords, files.acl)
    credentials.save(files.credentials)
    conf = [
        "# persona-arena broker (generated by `arena serve --write-mosquitto-config`)",
        f"listener {port} {host}",
        "allow_anonymous false",
        f"password_file {files.passwords.resolve()}",
        f"acl_file {files.acl.resolve()}",
        "max_queued_messages 10000",
        "set_tcp_nodelay true",  # small PUBACKs go out at once (no Nagle delay)
    ]
    if run_as is not None:
        conf.append(f"user {run_as}")
    if tls_cert is not None and tls_key is not None:
        conf += [f"certfile {tls_cert.resolve()}", f"keyfile {tls_key.resolve()}"]
    else:
        conf += ["# TLS: add `certfile` and `keyfile` lines (and connect with mqtts://)"]
    files.config.write_text("\n".join(conf) + "\n", encoding="utf-8")
    return files


def _give_to(account: str, *paths: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    try:
        who = pwd.getpwnam(account)
    except KeyError:
        return
    for path in paths:
        os.chown(path, who.pw_uid, who.pw_gid)

