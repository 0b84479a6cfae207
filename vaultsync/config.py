"""vaultsync.toml -> typed objects; track/untrack/adopt edit it keeping the user's layout."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vaultsync.errors import ConfigError, UsageError, VaultNotFound
from vaultsync.fsutil import atomic_write, read_regular
from vaultsync.globs import GlobSet
from vaultsync.vault import Vault

CONFIG_NAME = "vaultsync.toml"
DEFAULT_INCLUDE = ("**/*.json", "**/*.jsonl", "**/*.md")
# Well-known credential files, left out of every folder source (SPEC "Secrets"): the
# secret scanner would reject them on every run, and a token file is no memory. A source
# whose include names one of them (`--include .credentials.json`) takes it on purpose.
CREDENTIAL_EXCLUDES = (
    "**/.credentials.json",  # Claude Code's OAuth tokens
    "**/auth.json",  # Codex CLI, opencode
    "**/oauth_creds.json",  # Gemini CLI
    "**/github-copilot/hosts.json",  # GitHub Copilot's OAuth tokens
    "**/github-copilot/apps.json",
    "**/credentials.json",
    "**/application_default_credentials.json",  # gcloud
    "**/.env",
    "**/.env.*",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/id_rsa",
    "**/id_dsa",
    "**/id_ecdsa",
    "**/id_ed25519",
    "**/id_ecdsa_sk",
    "**/id_ed25519_sk",
    "**/.netrc",
    "**/.git-credentials",
    "**/.pgpass",
)
SECRET_POLICIES = ("block", "warn", "off", "redact")
NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\Z")
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*\Z")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

CONFIG_TEMPLATE = """\
# vaultsync configuration: committed with the vault, so a clone knows its sources.
# Reference: vaultsync --help, and the README.

[vault]
branch = "main"
secrets = "block"          # block | warn | off | redact (commit with each secret replaced)
max_delete = 0.5           # a sync may delete at most this share of a source's files
push_timeout = "60s"
"""


@dataclass(frozen=True)
class Source:
    name: str
    path: str  # as written in the config: may start with ~
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    schema: str | Mapping[str, str] = "auto"
    host: str | None = None
    deletions: str = "follow"  # follow | keep: a file deleted on disk stays in the vault
    secrets: str | None = None  # block | warn | off | redact; None: the vault's setting
    kind: str | None = None  # "file" | "dir", recorded by track; None in older configs

    @property
    def root(self) -> Path:
        return Path(os.path.expanduser(self.path))

    def credential_excludes(self) -> tuple[str, ...]:
        """The built-in credential excludes that apply: all but those an include names
        (a pattern whose last part has no wildcard and that the exclude matches)."""
        named = [p for p in self.include if not any(c in p.rpartition("/")[2] for c in "*?[")]
        return tuple(
            p for p in CREDENTIAL_EXCLUDES if not any(GlobSet([p]).match(n) for n in named)
        )

    def on_this_host(self, host: str) -> bool:
        return self.host is None or self.host == host

    def is_single_file(self) -> bool:
        if self.kind is not None:
            return self.kind == "file"
        # An older config: a source whose path is (or was, when it is missing now) a file:
        # its name has a suffix its include globs would match, e.g. ~/mcp/memory.jsonl.
        root = self.root
        if root.exists():
            return root.is_file()
        return GlobSet(self.include).match(root.name)


@dataclass(frozen=True)
class Config:
    branch: str = "main"
    remote: str | None = None
    secrets: str = "block"
    max_delete: float = 0.5
    push_timeout_s: float = 60.0
    notify: str | None = None
    notify_cooldown_s: float = 3600.0
    heartbeat: str | None = None
    heartbeat_every_s: float = 3600.0
    forget_alert: float = 0.5
    metrics_dir: str | None = None
    sources: tuple[Source, ...] = field(default_factory=tuple)
    raw: bytes = b""  # the file as read: a hand edit is committed by the next sync

    def vault_path_of(self, path: Path) -> str | None:
        """The vault path of a file or folder on disk inside some source, else None."""
        path = Path(os.path.abspath(path))
        for src in self.sources:
            root = Path(os.path.abspath(src.root))
            if path == root:
                return f"{src.name}/{root.name}" if src.is_single_file() else src.name
            if root in path.parents:
                return f"{src.name}/{path.relative_to(root).as_posix()}"
        return None

    def disk_path_of(self, vault_path: str) -> Path | None:
        """Where a vault path lives on this machine (current config), else None."""
        name, _, rel = vault_path.partition("/")
        for src in self.sources:
            if src.name == name and rel:
                if src.is_single_file():
                    return src.root if rel == src.root.name else None
                return src.root / rel
        return None

    def schema_for(self, vault_path: str) -> str:
        """The schema a vault path is checked against: its source's rule for it, else auto."""
        from vaultsync.schemas import pick_schema

        name, _, rel = vault_path.partition("/")
        rules = next((s.schema for s in self.sources if s.name == name), "auto")
        return pick_schema(rules, rel)

    def secrets_for(self, src: Source) -> str:
        return src.secrets or self.secrets

    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none"
        raise UsageError(f"no source named {name!r} (sources: {known})")


def this_host() -> str:
    """The machine's name for `host` binding: $VAULTSYNC_HOST, else the hostname."""
    return os.environ.get("VAULTSYNC_HOST") or os.uname().nodename  # gethostname, sans socket


def parse_duration(text: str, key: str) -> float:
    m = _DURATION_RE.match(text)
    if not m:
        raise ConfigError(
            f"{CONFIG_NAME}: {key}: {text!r} is not a duration like '60s', '15m', '1h'"
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


def not_found(vault: Path) -> VaultNotFound:
    return VaultNotFound(
        f"no vault at {vault} ({CONFIG_NAME} is missing)",
        hint="create one with `vaultsync init`, or point --vault / $VAULTSYNC_VAULT at it",
    )


def load(vault: Path) -> Config:
    path = vault / CONFIG_NAME
    try:
        raw = _read_config(path)
    except FileNotFoundError:
        raise not_found(vault) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    _check_once(vault, raw, doc)
    return replace(from_dict(doc), raw=raw)


def _read_config(path: Path) -> bytes:
    """vaultsync.toml's bytes; a FIFO or a folder in its place is an error, never a hang."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{path} is not a regular file", hint="put the vault's config back")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read()
    finally:
        os.close(fd)


def _check_once(vault: Path, raw: bytes, doc: dict[str, Any]) -> None:
    """Validate against the shipped config schema, once per content: the same bytes
    checked before (their hash in .vaultsync/config.checked) are not checked again, so
    a no-change sync imports no schema code."""
    import hashlib

    digest = hashlib.sha256(raw).hexdigest()
    marker = Vault(vault).config_marker
    if read_regular(marker) == digest.encode():
        return
    from vaultsync import configcheck

    configcheck.check_config(doc)
    try:
        marker.parent.mkdir(exist_ok=True)
        atomic_write(marker, digest.encode(), durable=False)
    except OSError:
        pass  # a read-only vault still loads its config: it is only checked every time


def from_dict(doc: Mapping[str, Any]) -> Config:
    v = doc.get("vault", {})
    sources = tuple(_source(s) for s in doc.get("sources", []))
    names = [s.name for s in sources]
    if dup := {n for n in names if names.count(n) > 1}:
        raise ConfigError(f"{CONFIG_NAME}: sources: duplicate name {sorted(dup)[0]!r}")
    return Config(
        branch=v.get("branch", "main"),
        remote=v.get("remote"),
        secrets=v.get("secrets", "block"),
        max_delete=float(v.get("max_delete", 0.5)),
        push_timeout_s=parse_duration(v.get("push_timeout", "60s"), "vault.push_timeout"),
        notify=v.get("notify"),
        notify_cooldown_s=parse_duration(v.get("notify_cooldown", "1h"), "vault.notify_cooldown"),
        heartbeat=v.get("heartbeat"),
        heartbeat_every_s=parse_duration(v.get("heartbeat_every", "1h"), "vault.heartbeat_every"),
        forget_alert=float(v.get("forget_alert", 0.5)),
        metrics_dir=v.get("metrics_dir"),
        sources=sources,
    )


def _source(s: Mapping[str, Any]) -> Source:
    name = s.get("name", "")
    if not NAME_RE.match(name):
        raise ConfigError(
            f"{CONFIG_NAME}: sources: name {name!r} must be letters, digits, '.', '_', '-' "
            "and must not start with '.'"
        )
    if "path" not in s:
        raise ConfigError(f"{CONFIG_NAME}: sources.{name}: path is missing")
    return Source(
        name=name,
        path=s["path"],
        include=tuple(s.get("include", DEFAULT_INCLUDE)),
        exclude=tuple(s.get("exclude", ())),
        schema=s.get("schema", "auto"),
        host=s.get("host"),
        deletions=s.get("deletions", "follow"),
        secrets=s.get("secrets"),
        kind=s.get("kind"),
    )


def dropped_sources(committed: bytes, now: Config) -> list[str]:
    """Names of sources the committed configuration has and `now` does not."""
    try:
        doc = tomllib.loads(committed.decode("utf-8"))
        before = {s.get("name") for s in doc.get("sources", []) if isinstance(s, dict)}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        return []
    return sorted(str(n) for n in before - {s.name for s in now.sources} if n)


def display_path(path: Path) -> str:
    """A path under the user's home as `~/…`, so one vault serves the user on another machine."""
    home = Path.home()
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return path.as_posix()


# -- editing: tomlkit keeps the user's comments and layout ------------------------------


def _edit(vault: Path) -> Any:
    import tomlkit

    return tomlkit.parse((vault / CONFIG_NAME).read_text("utf-8"))


def _save(vault: Path, doc: Any) -> None:
    import tomlkit

    text = tomlkit.dumps(doc)
    from_dict(tomllib.loads(text))  # never write a config we could not load back
    atomic_write(vault / CONFIG_NAME, text.encode("utf-8"))


def add_source(vault: Path, src: Source) -> None:
    import tomlkit

    doc = _edit(vault)
    sources = doc.get("sources")
    if sources is None:
        sources = tomlkit.aot()
        doc.add(tomlkit.nl())
        doc.append("sources", sources)
    if any(s.get("name") == src.name for s in sources):
        raise UsageError(
            f"a source named {src.name!r} exists already", hint="choose another with --name NAME"
        )
    table = tomlkit.table()
    _fill(table, src)
    sources.append(table)
    _save(vault, doc)


def update_source(vault: Path, src: Source) -> None:
    """Rewrite the settings of the source named src.name (its comments stay)."""
    doc = _edit(vault)
    tables = [s for s in doc.get("sources") or [] if s.get("name") == src.name]
    if not tables:
        raise UsageError(f"no source named {src.name!r}")
    _fill(tables[0], src)
    _save(vault, doc)


def _fill(table: Any, src: Source) -> None:
    """A source's table holds only what differs from the defaults."""
    table["name"] = src.name
    table["path"] = src.path
    settings = {
        "include": list(src.include) if src.include != DEFAULT_INCLUDE else None,
        "exclude": list(src.exclude) or None,
        "schema": src.schema if src.schema != "auto" else None,
        "host": src.host,
        "kind": src.kind,
        "deletions": src.deletions if src.deletions != "follow" else None,
        "secrets": src.secrets,
    }
    for key, value in settings.items():
        if value is not None:
            if table.get(key) != value:  # an unchanged value keeps the user's layout
                table[key] = value
        elif key in table:
            del table[key]


def remove_source(vault: Path, name: str) -> None:
    doc = _edit(vault)
    sources = doc.get("sources") or []
    keep = [i for i, s in enumerate(sources) if s.get("name") == name]
    if not keep:
        raise UsageError(f"no source named {name!r}")
    del sources[keep[0]]
    if not sources:
        del doc["sources"]
    _save(vault, doc)


def set_host(vault: Path, names: list[str], host: str) -> None:
    doc = _edit(vault)
    by_name = {s.get("name"): s for s in doc.get("sources") or []}
    if missing := [n for n in names if n not in by_name]:
        raise UsageError(f"no source named {missing[0]!r}")
    for n in names:
        by_name[n]["host"] = host
    _save(vault, doc)


def set_remote(vault: Path, remote: str | None) -> None:
    """Name the remote a sync pushes to (None: push nowhere)."""
    doc = _edit(vault)
    if remote is not None:
        doc["vault"]["remote"] = remote
    elif "remote" in doc.get("vault", {}):
        del doc["vault"]["remote"]
    _save(vault, doc)
