"""`vaultsync schedule`: the cron line, systemd units and launchd plist it writes are run
the way cron / systemd would run them (a bare environment), and do a real sync."""

from __future__ import annotations

import configparser
import fcntl
import json
import os
import plistlib
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Env

# The real crontab edits the table of the user running the tests: only as root (a CI
# machine or a container, where scripts/test installs cron), with the table saved and put
# back, and one test run at a time. Elsewhere a stand-in on PATH keeps the table in a file.
REAL_CRONTAB = (
    bool(shutil.which("crontab"))
    and os.geteuid() == 0
    and not os.environ.get("VAULTSYNC_TEST_FAKE_CRONTAB")
)
FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1) (the real one is used when tests run as root): the table is a file.
table="$FAKE_CRONTAB_TABLE"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -r) rm -f "$table" ;;
  -) cat > "$table" ;;
  *) cat "$1" > "$table" ;;
esac
"""
OTHER = ["MAILTO=me@example.invalid", "# my backups", "0 3 * * * /usr/local/bin/backup --all"]


@pytest.fixture
def cron(env: Env, tmp_path: Path) -> Iterator[Env]:
    """A crontab holding someone else's lines already."""
    if REAL_CRONTAB:
        with open("/tmp/vaultsync-tests-crontab.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            saved = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
            try:
                _write_table(env, OTHER)
                yield env
            finally:
                if saved.returncode == 0:
                    subprocess.run(["crontab", "-"], input=saved.stdout, text=True, check=True)
                else:
                    subprocess.run(["crontab", "-r"], capture_output=True)
        return
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    env.env["PATH"] = f"{bin_dir}:{env.env['PATH']}"
    env.env["FAKE_CRONTAB_TABLE"] = str(tmp_path / "crontab.table")
    _write_table(env, OTHER)
    yield env


def _write_table(env: Env, lines: list[str]) -> None:
    text = "".join(f"{line}\n" for line in lines)
    subprocess.run(["crontab", "-"], input=text, text=True, env=env.env, check=True)


def table(env: Env) -> list[str]:
    proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True, env=env.env)
    return proc.stdout.splitlines()


def ours(env: Env) -> list[str]:
    return [line for line in table(env) if line.endswith(f"# vaultsync: {env.vault}")]


def bare_env(env: Env) -> dict[str, str]:
    """What cron and systemd give a job: no PYTHONPATH, no venv, no VAULTSYNC_* variables."""
    return {"PATH": "/usr/bin:/bin", "HOME": env.env["HOME"], "SHELL": "/bin/sh"}


def run_like_cron(env: Env, line: str) -> subprocess.CompletedProcess[str]:
    """Run a crontab line's command as cron does: /bin/sh -c, \\% unescaped, from HOME."""
    command = line.split(None, 5)[5].replace("\\%", "%")
    return subprocess.run(
        ["/bin/sh", "-c", command],
        env={**bare_env(env), **env_of_git(env)},
        cwd=env.home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def env_of_git(env: Env) -> dict[str, str]:
    # Not cron's, but keeps the commit identity and the user's git config out of the test.
    return {k: v for k, v in env.env.items() if k.startswith("GIT_")}


@pytest.fixture
def tracked(env: Env) -> Path:
    folder = env.home / "notes"
    folder.mkdir()
    (folder / "a.json").write_text('{"id": "a", "content": "first"}')
    env.vs("init")
    env.vs("track", str(folder))
    return folder


def test_cron_line_syncs_under_crons_bare_path(cron: Env, tracked: Path) -> None:
    out = cron.vs("schedule", "install").stdout
    assert "cron: installed: sync every 15m" in out
    [line] = ours(cron)
    assert line.startswith("*/15 * * * * ")
    assert f"--vault {cron.vault}" in line
    before = cron.commits()
    proc = run_like_cron(cron, line)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", "a successful run must not make cron mail"
    assert cron.commits() == before + 1
    assert "notes/a.json" in cron.head_files()


def test_install_keeps_other_lines_and_twice_changes_nothing(cron: Env, tracked: Path) -> None:
    cron.vs("schedule", "install")
    first = table(cron)
    assert first[: len(OTHER)] == OTHER
    assert cron.vs("schedule", "install").stdout.startswith("cron: already installed")
    assert table(cron) == first
    cron.vs("schedule", "install", "--every", "1h")
    assert [line.split()[:5] for line in ours(cron)] == [["0", "*", "*", "*", "*"]]
    assert [line for line in table(cron) if line not in ours(cron)] == OTHER


def test_failed_run_reaches_mail_and_the_vault_log(cron: Env, tracked: Path) -> None:
    cron.vs("schedule", "install", "--every", "5m")
    (tracked / "broken.json").write_text('{"id": ')
    proc = run_like_cron(cron, ours(cron)[0])
    assert "exit 1" in proc.stdout and "notes/broken.json" in proc.stdout  # what cron mails
    log = (cron.vault / ".vaultsync" / "cron.log").read_text()
    assert "exit 1" in log and "notes/broken.json" in log


def test_remove_takes_only_our_line(cron: Env, tracked: Path) -> None:
    cron.vs("schedule", "install")
    assert "cron: removed" in cron.vs("schedule", "remove").stdout
    assert table(cron) == OTHER
    assert "nothing was scheduled" in cron.vs("schedule", "remove").stdout


def test_show_without_a_vault_says_so(cron: Env, tracked: Path) -> None:
    """Not "nothing is scheduled, install it" for a folder that is no vault; and a
    schedule left behind by a vault since deleted is shown, with the warning."""
    err = cron.vs("schedule", "show", "--vault", str(cron.root / "nowhere"), code=2).stderr
    assert "no vault at" in err and "vaultsync init" in err
    cron.vs("schedule", "install")
    (cron.vault / "vaultsync.toml").rename(cron.root / "moved.toml")
    shown = cron.vs("schedule", "show", code=2)
    assert "cron:" in shown.stdout and "no vault at" in shown.stderr
    assert "vaultsync schedule remove" in shown.stderr
    (cron.root / "moved.toml").rename(cron.vault / "vaultsync.toml")
    cron.vs("schedule", "remove")


@pytest.mark.parametrize(
    ("every", "message"),
    [("7m", "divides 60"), ("30s", "once a minute"), ("5h", "divides 24"), ("soon", "interval")],
)
def test_intervals_cron_cannot_run_evenly_are_refused(
    cron: Env, tracked: Path, every: str, message: str
) -> None:
    err = cron.vs("schedule", "install", "--every", every, code=2).stderr
    assert message in err
    assert ours(cron) == []


def test_a_schedule_needs_a_vault(cron: Env) -> None:
    assert "vaultsync init" in cron.vs("schedule", "install", code=2).stderr
    assert ours(cron) == []


def test_cron_cannot_keep_a_watcher(cron: Env, tracked: Path) -> None:
    err = cron.vs("schedule", "install", "--backend", "cron", "--watch", code=2).stderr
    assert "--backend systemd" in err


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def unit_dir(env: Env) -> Path:
    return Path(env.env["XDG_CONFIG_HOME"]) / "systemd" / "user"


def test_systemd_timer_and_service_run_a_sync(env: Env, tracked: Path) -> None:
    out = env.vs("schedule", "install", "--backend", "systemd", "--every", "15m").stdout
    [timer] = unit_dir(env).glob("vaultsync-*.timer")
    [service] = unit_dir(env).glob("vaultsync-*.service")
    assert f"systemctl --user daemon-reload && systemctl --user enable --now {timer.name}" in out
    t = read_unit(timer)
    assert t["Timer"]["Persistent"] == "true"
    assert t["Timer"]["Unit"] == service.name
    assert t["Install"]["WantedBy"] == "timers.target"
    if shutil.which("systemd-analyze"):
        calendar = subprocess.run(
            ["systemd-analyze", "calendar", t["Timer"]["OnCalendar"]], capture_output=True
        )
        assert calendar.returncode == 0
        verify = subprocess.run(
            ["systemd-analyze", "verify", str(timer), str(service)],
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stderr
    s = read_unit(service)
    assert s["Service"]["Type"] == "oneshot"
    args = shlex.split(s["Service"]["ExecStart"])
    assert Path(args[0]).is_absolute() and str(env.vault) in args
    assert s["Service"]["Environment"] == "VAULTSYNC_HOST=testhost"
    before = env.commits()
    proc = subprocess.run(
        args, env={**bare_env(env), **env_of_git(env), "VAULTSYNC_HOST": "testhost"}, cwd="/"
    )
    assert proc.returncode == 0
    assert env.commits() == before + 1
    show = env.vs("schedule", "show").stdout
    assert "systemd: not enabled" in show and timer.name in show
    assert "succeeded" in show
    env.vs("schedule", "remove")
    assert list(unit_dir(env).glob("vaultsync-*")) == []


def test_systemd_watch_service_restarts_on_failure(env: Env, tracked: Path) -> None:
    env.vs("schedule", "install", "--backend", "systemd", "--watch")
    [service] = unit_dir(env).glob("vaultsync-watch-*.service")
    s = read_unit(service)
    assert s["Service"]["Restart"] == "on-failure"
    assert s["Service"]["KillMode"] == "mixed"  # stop signals the watcher, not its git
    assert shlex.split(s["Service"]["ExecStart"])[1:3] == ["watch", "--vault"]
    assert s["Install"]["WantedBy"] == "default.target"
    assert list(unit_dir(env).glob("*.timer")) == []


def test_launchd_plist_is_valid_and_runs_a_sync(env: Env, tracked: Path) -> None:
    out = env.vs("schedule", "install", "--backend", "launchd", "--every", "30m").stdout
    [path] = (env.home / "Library" / "LaunchAgents").glob("io.vaultsync.sync.*.plist")
    assert f"launchctl load -w {path}" in out
    doc = plistlib.loads(path.read_bytes())
    assert doc["StartInterval"] == 1800
    assert doc["Label"] == path.stem
    assert doc["EnvironmentVariables"]["VAULTSYNC_HOST"] == "testhost"
    before = env.commits()
    proc = subprocess.run(
        doc["ProgramArguments"],
        env={**doc["EnvironmentVariables"], "HOME": env.env["HOME"], **env_of_git(env)},
        cwd=doc["WorkingDirectory"],
    )
    assert proc.returncode == 0
    assert env.commits() == before + 1
    env.vs("schedule", "install", "--backend", "launchd", "--watch")
    [watch] = (env.home / "Library" / "LaunchAgents").glob("io.vaultsync.watch.*.plist")
    assert plistlib.loads(watch.read_bytes())["KeepAlive"] == {"SuccessfulExit": False}
    assert len(env.vs("schedule", "remove").stdout.splitlines()) == 2


def test_show_says_when_sync_last_ran_and_whether_it_failed(env: Env, tracked: Path) -> None:
    assert "last sync: never" in env.vs("schedule", "show").stdout
    assert "nothing is scheduled" in env.vs("schedule", "show").stdout
    env.vs("sync")
    assert "succeeded" in env.vs("schedule", "show").stdout
    # A run that commits but cannot push: the backup is local only, and show says so.
    env.vs("init", "--remote", str(env.root / "missing.git"))
    (tracked / "b.json").write_text('{"id": "b", "content": "second"}')
    env.vs("sync", code=4)
    out = env.vs("schedule", "show").stdout
    assert "did not fully succeed (exit 4)" in out and "missing.git" in out
    assert "last successful sync:" in out
    shown = json.loads(env.vs("schedule", "show", "--json").stdout)
    assert shown["last_run_ok"] is False and shown["installed"] == []
    assert shown["runs"]["last_exit"] == 4
