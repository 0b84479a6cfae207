"""Benchmark vaultsync against the recipes people use instead; write docs/BENCHMARKS.md.

Builds the data sets once into a cache (default .bench/, git-ignored), runs each
scenario several times as real processes, takes the median, and computes every ratio
from figures measured in this same run: the machine is noisy, so only ratios count.

    scripts/bench            # full sizes, writes docs/BENCHMARKS.md (under 10 minutes)
    scripts/bench --quick    # CI-sized, about a minute, writes .bench/BENCHMARKS-quick.md
    scripts/bench --profile  # also cProfile one extra run of each targeted vaultsync scenario
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from bench_transcript import transcript_group, write_transcript

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
DATA_VERSION = 2  # bump when a generator changes: cached data sets are then rebuilt
OLD_NS = 1_767_225_600 * 10**9  # generated files are dated 2026-01-01: never "racily clean"
PROJECTS = ("second-brain", "yt-transcript", "billing-service", "home-lab", "travel-plans")
SHARES = (812, 455, 301, 212, 122)  # one seed's real vault: 1,902 records in 5 projects
WORDS = (
    "user prefers concise answers deploys on fridays the billing service uses postgres "
    "weekly report client acme deadline moved to march budget approved dark mode late "
    "evening transcripts stored as markdown skip short videos obsidian daily notes template"
).split()


@dataclass(frozen=True)
class Sizes:
    name: str
    records_a: int = 1_902
    records_b: int = 100_000
    memories: int = 20_000
    dims: int = 1_536
    entities: int = 50_000
    relations: int = 100_000
    history: int = 10_000
    back: int = 5_000
    changed: int = 100
    reps: int = 5
    big_reps: int = 3  # sync of the ~600 MB export, at most: see big_budget_s
    big_budget_s: float = 150.0  # fewer runs of the export's sync when one takes long
    import_reps: int = 3  # first import, at most: see import_budget_s
    import_budget_s: float = 45.0  # no further round when one took longer
    disk_gb: float = 10.0
    transcript_mb: int = 30
    appends: int = 20


FULL = Sizes("full")
QUICK = Sizes(
    "quick",
    records_b=5_000,
    memories=500,
    dims=1_536,
    entities=5_000,
    relations=10_000,
    history=1_000,
    back=500,
    reps=3,
    big_reps=3,
    import_reps=2,
    disk_gb=1.0,
    transcript_mb=5,
    appends=10,
)


# -- processes ------------------------------------------------------------------------------


@dataclass
class Proc:
    wall: float
    rss_mb: float  # peak RSS of the process or of any child it waited for
    rc: int
    out: str
    err: str


def run(
    cmd: Sequence[str | Path],
    env: Mapping[str, str],
    cwd: Path | None = None,
    stdin: bytes | None = None,
    timeout: float = 1200.0,
) -> Proc:
    """Run `cmd` to completion; wall time from spawn to reap, peak RSS from wait4."""
    with (
        tempfile.TemporaryFile() as inp,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdin=inp, stdout=out, stderr=err, env=dict(env), cwd=cwd
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Proc(
            wall,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def must(proc: Proc, what: str) -> Proc:
    if proc.rc != 0:
        raise BenchError(f"{what}: exit {proc.rc}: {last_line(proc.err or proc.out)}")
    return proc


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


class BenchError(Exception):
    pass


@dataclass
class Sample:
    """Repeated measurements of one thing; the first failure stops it."""

    walls: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    error: str | None = None

    def add(self, proc: Proc, ok: Iterable[int] = (0,)) -> Proc:
        if self.error is None:
            if proc.rc in ok:
                self.walls.append(proc.wall)
                self.rss.append(proc.rss_mb)
            else:
                self.error = f"exit {proc.rc}: {last_line(proc.err or proc.out)}"
        return proc

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.walls and not self.error else None

    @property
    def peak_mb(self) -> float:
        return max(self.rss, default=0.0)

    def spread(self) -> str:
        return f"{len(self.walls)} runs, {min(self.walls):.3f}–{max(self.walls):.3f} s"


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    limit: float
    kind: str  # "ratio": vaultsync / peer; "seconds": vaultsync's own wall time
    key: str = ""  # names the explanation shown when the target is missed

    def text(self) -> str:
        return f"≤ {self.limit:g}×" if self.kind == "ratio" else f"< {self.limit:g} s"


@dataclass
class Row:
    scenario: str
    ours: Sample
    peer_name: str = ""
    peer: Sample | None = None
    target: Target | None = None
    status: str = ""  # "not built yet", "skipped (...)": shown instead of figures
    unit: str = "s"  # "MB": a size, not a time

    def ratio(self) -> float | None:
        ours = self.ours.median
        peer = self.peer.median if self.peer else None
        return ours / peer if ours is not None and peer else None

    def verdict(self) -> tuple[str, bool]:
        """(text, missed)."""
        if self.status:
            return self.status, False
        for who, sample in (("vaultsync", self.ours), ("peer", self.peer)):
            if sample is not None and sample.error:
                return f"FAILED ({who}: {sample.error})", True
        t = self.target
        if t is None:
            return "— (context)", False
        value = self.ratio() if t.kind == "ratio" else self.ours.median
        if value is None:
            return "no figure", True
        unit = "×" if t.kind == "ratio" else " s"
        if value <= t.limit:
            return "met", False
        return f"**MISSED** ({value:.2f}{unit} > {t.limit:g}{unit})", True


@dataclass
class MemRow:
    what: str
    peak_mb: float
    largest: int
    note: str = ""
    key: str = ""  # names the explanation shown when the limit is exceeded

    def limit_mb(self) -> float:
        return 2 * self.largest / MB + 150


@dataclass
class Group:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    groups: list[Group] = field(default_factory=list)
    memory: list[MemRow] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)


# -- data sets ------------------------------------------------------------------------------


def record(rng: random.Random, project: str, i: int) -> dict[str, object]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "content": " ".join(rng.choices(WORDS, k=rng.randint(4, 24))).capitalize(),
        "timestamp": 1_764_600_000 + 60 * i,
        "metadata": {"project": project, "source": "agent"},
    }


def write_records(folder: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    counts = [count * s // sum(SHARES) for s in SHARES]
    counts[0] += count - sum(counts)
    i = 0
    for project, n in zip(PROJECTS, counts, strict=True):
        (folder / project).mkdir(parents=True)
        for _ in range(n):
            doc = record(rng, project, i)
            path = folder / project / f"{doc['id']}.json"
            path.write_text(json.dumps(doc, indent=2))
            os.utime(path, ns=(OLD_NS, OLD_NS))
            i += 1


def export_memory(rng: random.Random, i: int, dims: int) -> str:
    return json.dumps(
        {
            "id": f"mem_{i:06d}",
            "content": " ".join(rng.choices(WORDS, k=rng.randint(4, 24))).capitalize(),
            "embedding": [round(rng.gauss(0.0, 0.03), 14) for _ in range(dims)],
            "metadata": {"client": "acme", "source": "agent"},
            "created_at": f"2026-01-{1 + i % 28:02d}T12:00:00Z",
        }
    )


def write_export(path: Path, memories: int, dims: int) -> None:
    rng = random.Random(3)
    meta = {"version": "1.0", "user_id": "bench", "memory_count": memories}
    with open(path, "w") as f:
        f.write(f'{{"metadata": {json.dumps(meta)}, "memories": [')
        for i in range(memories):
            f.write((", " if i else "") + export_memory(rng, i, dims))
        links = (
            {"source_id": f"mem_{i:06d}", "target_id": f"mem_{i + 1:06d}", "rel_type": "next"}
            for i in range(memories - 1)
        )
        f.write('], "relationships": [' + ", ".join(map(json.dumps, links)) + "]}")
    os.utime(path, ns=(OLD_NS, OLD_NS))


def entity(rng: random.Random, i: int) -> str:
    observations = [" ".join(rng.choices(WORDS, k=rng.randint(3, 10))) for _ in range(3)]
    doc = {
        "type": "entity",
        "name": f"entity_{i}",
        "entityType": rng.choice(("person", "project", "technology", "place")),
        "observations": observations,
    }
    return json.dumps(doc, separators=(",", ":"))


def write_graph(path: Path, entities: int, relations: int) -> None:
    rng = random.Random(4)
    lines = [entity(rng, i) for i in range(entities)]
    for _ in range(relations):
        a, b = rng.randrange(entities), rng.randrange(entities)
        rel = {
            "type": "relation",
            "from": f"entity_{a}",
            "to": f"entity_{b}",
            "relationType": rng.choice(("knows", "uses", "maintains", "depends_on")),
        }
        lines.append(json.dumps(rel, separators=(",", ":")))
    path.write_text("\n".join(lines))  # the MCP server writes no final newline
    os.utime(path, ns=(OLD_NS, OLD_NS))


@dataclass(frozen=True)
class Data:
    a: Path
    b: Path
    export: Path
    graph: Path
    transcript: Path


def ensure_data(cache: Path, sizes: Sizes, only: set[str] | frozenset[str] = frozenset()) -> Data:
    """Generate each data set unless the cache already holds it with these parameters
    (with `only`, just the data sets of those groups: `--only e` needs no 545 MB export)."""
    base = cache / f"data-{sizes.name}"
    data = Data(
        base / "a",
        base / "b",
        base / "c" / "export.json",
        base / "d" / "memory.jsonl",
        base / "e" / "session.jsonl",
    )
    jobs: list[tuple[Path, object, Callable[[Path], None]]] = [
        (data.a, sizes.records_a, lambda p: write_records(p, sizes.records_a, 1)),
        (data.b, sizes.records_b, lambda p: write_records(p, sizes.records_b, 2)),
        (
            data.export.parent,
            [sizes.memories, sizes.dims],
            lambda p: write_export(p / data.export.name, sizes.memories, sizes.dims),
        ),
        (
            data.graph.parent,
            [sizes.entities, sizes.relations],
            lambda p: write_graph(p / data.graph.name, sizes.entities, sizes.relations),
        ),
        (
            data.transcript.parent,
            [sizes.transcript_mb],
            lambda p: write_transcript(
                p / data.transcript.name, sizes.transcript_mb * MB, tuple(WORDS), OLD_NS
            ),
        ),
    ]
    for folder, params, make in jobs:
        if only and folder.relative_to(base).parts[0] not in only | {"a"}:  # hooks use (a)
            continue
        marker = folder.with_name(folder.name + ".done")
        stamp = json.dumps({"version": DATA_VERSION, "params": params})
        if marker.exists() and marker.read_text() == stamp:
            continue
        say(f"generating {folder} ...")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        make(folder)
        marker.write_text(stamp)
    return data


def list_files(folder: Path) -> tuple[list[str], int]:
    """Relative paths of every file below `folder`, sorted, and the largest size."""
    rels, largest = [], 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            rels.append(os.path.relpath(path, folder))
            largest = max(largest, os.stat(path).st_size)
    return sorted(rels), largest


def edit_records(src: Path, rels: Sequence[str], rep: int) -> None:
    """The same edit in every copy: a revised memory, written as agents write it (temp file
    and rename). The rename also keeps hard-linked copies apart: see link_tree."""
    for rel in rels:
        path = src / rel
        doc = json.loads(path.read_bytes())
        doc["content"] = f"revision {rep} of {doc['id']}: the user changed their mind"
        doc["timestamp"] = 1_770_000_000 + rep
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        os.replace(tmp, path)


def add_export_memory(path: Path, rep: int, dims: int) -> None:
    """Insert one memory at the end of the export's memories (rewriting only the tail)."""
    marker = b'], "relationships": ['
    size = path.stat().st_size
    with open(path, "r+b") as f:
        tail_at = max(0, size - 4 * MB)
        f.seek(tail_at)
        tail = f.read()
        cut = tail_at + tail.rindex(marker)
        f.seek(cut)
        rest = f.read()
        f.seek(cut)
        f.write(b", " + export_memory(random.Random(rep), 900_000 + rep, dims).encode() + rest)


def add_graph_entity(path: Path, rep: int) -> None:
    with open(path, "ab") as f:
        f.write(b"\n" + entity(random.Random(rep), 900_000 + rep).encode())


# -- the harness ----------------------------------------------------------------------------

SHELL_RECIPE = 'cp -ru "$1"/. "$2"/ && cd "$2" && git add -A && git commit -q -m sync'
PLUMBING_RECIPE = (
    'cd "$1" && xargs -0 cp --parents -t "$2" < "$3" && cd "$2" && '
    'git update-index -z --add --stdin < "$3" && t=$(git write-tree) && '
    'c=$(git commit-tree -p HEAD -m sync "$t") && git update-ref HEAD "$c"'
)
GITPYTHON_RECIPE = """
import shutil, sys
from pathlib import Path
import git
src, vault = Path(sys.argv[1]), Path(sys.argv[2])
changed = [p for p in Path(sys.argv[3]).read_text().split("\\n") if p]
for rel in changed:
    (vault / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / rel, vault / rel)
repo = git.Repo(vault)
repo.index.add(changed)
repo.index.commit("sync")
repo.close()
"""
STAT_WALK = """
import os, sys
def walk(folder):
    for e in os.scandir(folder):
        if e.is_dir(follow_symlinks=False):
            walk(e.path)
        else:
            os.stat(e.path)
walk(sys.argv[1])
"""
PARSE_JSON = "import json, sys; json.loads(open(sys.argv[1], 'rb').read())"
PARSE_LINES = (
    "import json, sys; "
    "[json.loads(l) for l in open(sys.argv[1], 'rb').read().split(b'\\n') if l.strip()]"
)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, sizes: Sizes, work: Path, profile: bool, exe: str | None) -> None:
        self.sizes = sizes
        self.work = work
        self.profiling = profile
        self.validation: list[str] = []
        self.python = sys.executable
        beside = Path(sys.executable).parent / "vaultsync"
        self.exe = exe or (str(beside) if beside.exists() else shutil.which("vaultsync") or "")
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "VAULTSYNC_"))}
        # vaultsync runs as installed, from .pyc files: a session that sets this would
        # have every run compile vaultsync's modules again (~0.1 s of each sync).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ident = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
        env.update(
            {f"GIT_{who}_{k}": v for who in ("AUTHOR", "COMMITTER") for k, v in ident.items()}
        )
        env.update(HOME=str(home), VAULTSYNC_HOST="bench", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
        env["PATH"] = f"{Path(self.exe).parent}{os.pathsep}{env.get('PATH', '')}"
        # An installed vaultsync has its bytecode compiled (pip does it at install): with
        # PYTHONDONTWRITEBYTECODE set, every run would compile its modules again (~80 ms).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env = env
        self.report = Report()
        self._built: dict[str, bool] = {}

    # vaultsync
    def vs(self, *args: str | Path, cwd: Path | None = None) -> Proc:
        return run([self.exe, *args], self.env, cwd=cwd)

    def sync(self, vault: Path) -> Proc:
        return self.vs("sync", "--vault", vault, "--quiet")

    def built(self, command: str) -> bool:
        if command not in self._built:
            self._built[command] = self.vs(command, "--help").rc == 0
        return self._built[command]

    def set_aside(self, path: Path) -> None:
        """Out of the way without deleting it (see LAST_REMOVAL): into the work folder's
        trash, which goes when the run ends."""
        if path.exists():
            trash = self.work / ".trash"
            trash.mkdir(parents=True, exist_ok=True)
            path.rename(trash / uuid.uuid4().hex)

    def new_vault(self, vault: Path, sources: Sequence[tuple[Path, str]]) -> Path:
        self.set_aside(vault)
        must(self.vs("init", "--vault", vault, "--quiet"), "vaultsync init")
        for path, name in sources:
            must(self.vs("track", path, "--vault", vault, "--name", name, "--quiet"), "track")
        return vault

    def profile(self, label: str, *args: str | Path) -> None:
        """One more run under cProfile: the top of its cumulative profile goes in the report."""
        if not self.profiling:
            return
        out = self.work / "profile.out"
        cmd = [self.python, "-m", "cProfile", "-o", out, "-m", "vaultsync", *args]
        proc = run(cmd, self.env)
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.sort_stats("cumulative").print_stats(r"vaultsync/|\{", 30)  # ours and builtins
        body = text.getvalue()
        body = body[body.find("   ncalls") :] if "   ncalls" in body else body
        self.report.profiles.append((f"{label} ({proc.wall:.3f} s under cProfile)", body))

    # git and the peers
    def git(self, *args: str | Path, cwd: Path, stdin: bytes | None = None) -> Proc:
        return must(run(["git", *args], self.env, cwd=cwd, stdin=stdin), f"git {args[0]}")

    def head(self, vault: Path) -> str:
        return self.git("rev-parse", "HEAD", cwd=vault).out.strip()

    def subject(self, vault: Path) -> str:
        return self.git("log", "-1", "--format=%s", cwd=vault).out.strip()

    def new_git(self, vault: Path) -> Path:
        self.set_aside(vault)
        vault.mkdir(parents=True)
        self.git("init", "-q", "-b", "main", cwd=vault)
        # No detached auto-gc in the peers: a background repack would steal the CPU from
        # the next measurement (vaultsync's own vaults turn it off as well).
        self.git("config", "gc.auto", "0", cwd=vault)
        return vault

    def clone_for_index_only(self, origin: Path, vault: Path) -> None:
        """A vault for the recipes that touch only the changed paths (GitPython's index.add,
        git plumbing): the same history and index as `origin`, objects shared, no work tree
        checked out (neither recipe reads a file it was not given)."""
        remove(vault)
        self.git("clone", "-q", "--shared", "--no-checkout", origin, vault, cwd=origin.parent)
        self.git("config", "gc.auto", "0", cwd=vault)
        self.git("read-tree", "HEAD", cwd=vault)

    def shell(self, src: Path, vault: Path) -> Proc:
        return run(["bash", "-c", SHELL_RECIPE, "shell", src, vault], self.env)

    def gitpython(self, src: Path, vault: Path, listing: Path) -> Proc:
        return run([self.python, "-c", GITPYTHON_RECIPE, src, vault, listing], self.env)

    def plumbing(self, src: Path, vault: Path, listing0: Path) -> Proc:
        return run(["bash", "-c", PLUMBING_RECIPE, "plumbing", src, vault, listing0], self.env)

    def stat_walk(self, folder: Path) -> Proc:
        return run([self.python, "-c", STAT_WALK, folder], self.env)

    def parse(self, path: Path, lines: bool) -> Proc:
        return run([self.python, "-c", PARSE_LINES if lines else PARSE_JSON, path], self.env)


# When this process last deleted a folder. ext4 as this machine mounts it skips an inode
# freed within the last minute (five, while its inode table block is dirty) when it
# allocates one, reading that block to know: creating 20,000 files right after 20,000
# were deleted took 12-15 s of kernel time instead of 1.2 s (perf: recently_deleted,
# find_inode_bit). The first imports used to remove the previous round's vault just
# before the next round: that, more than CPU load, made the ratio swing.
LAST_REMOVAL = [-1e9]
REMOVAL_QUIET_S = 65.0


def remove(path: Path) -> None:
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)
        LAST_REMOVAL[0] = time.monotonic()


def link_tree(src: Path, dst: Path) -> None:
    """A copy made of hard links: creating 100,000 files takes 10-30 s on this machine's
    disk, linking them 1-2 s. Safe because nothing writes into a source copy in place:
    the contenders only read it, and edit_records replaces files by rename."""
    remove(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(src), str(dst)], check=True)


def copy_tree(src: Path, dst: Path) -> None:
    """A copy with the same mtimes (tar: cp -a is 5x slower at creating files here)."""
    remove(dst)
    dst.mkdir(parents=True)
    subprocess.run(f'tar -C "{src}" -cf - . | tar -C "{dst}" -xf -', shell=True, check=True)


# -- scenarios: one-file-per-memory records ---------------------------------------------


@dataclass(frozen=True)
class RecordsSpec:
    key: str
    title: str
    data: Path
    gitpython_import: bool
    import_target: Target | None = None
    unchanged_target: Target | None = None
    changed_target: Target | None = None
    import_reps: int = 1


@dataclass(frozen=True)
class Tool:
    name: str
    src: Path
    vault: Path


TOOLS = ("vaultsync", "shell", "gitpython", "plumbing")
PEER_NAMES = {
    "shell": "shell recipe: `cp -ru SRC/. VAULT/ && git add -A && git commit`",
    "gitpython": "GitPython: copy + `repo.index.add(changed)` + `index.commit`",
    "plumbing": "git plumbing: cp + `update-index` + `write-tree` + `commit-tree` (floor)",
}


def records_group(b: Bench, spec: RecordsSpec) -> Group:
    say(f"{spec.title}: copying the data for each contender")
    rels, largest = list_files(spec.data)
    tools = {
        n: Tool(n, b.work / spec.key / n / "src", b.work / spec.key / n / "vault") for n in TOOLS
    }
    for tool in tools.values():
        link_tree(spec.data, tool.src)  # all before any import: linking changes ctimes
    group = Group(spec.title)
    group.rows += first_import(b, spec, tools, rels)
    group.rows.append(unchanged(b, spec, tools["vaultsync"]))
    group.rows += changed(b, spec, tools, rels)
    b.report.memory.append(peak_of(spec.title, group.rows, largest, key=f"{spec.key}-memory"))
    return group


def peak_of(title: str, rows: Sequence[Row], largest: int, note: str = "", key: str = "") -> MemRow:
    worst = max(rows, key=lambda r: r.ours.peak_mb)
    return MemRow(title, worst.ours.peak_mb, largest, f"in: {worst.scenario}. {note}".strip(), key)


def dirty_mb() -> float:
    """Data written but not yet on disk (Dirty + Writeback in /proc/meminfo)."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return 0.0
    kb = [int(line.split()[1]) for line in lines if line.startswith(("Dirty:", "Writeback:"))]
    return sum(kb) / 1024


PROBE_FILES = 2000  # created to see whether creating files is slow right now
PROBE_SLOW_S = 0.3  # ~0.04 s when it is not; 1.2-1.5 s after 100,000 deletions
PROBE_WAIT_S = 180.0  # at most this long for it to settle
PROBES = [0, float("inf")]  # probes made, the fastest seen


def creation_time(work: Path) -> float:
    """Seconds to create PROBE_FILES empty files in a new folder of `work` (kept, not
    deleted: a deletion is what makes creates slow)."""
    PROBES[0] += 1
    folder = work / f"create-probe-{PROBES[0]}"
    folder.mkdir(parents=True)
    t0 = time.monotonic()
    for i in range(PROBE_FILES):
        os.close(os.open(folder / str(i), os.O_CREAT | os.O_WRONLY, 0o644))
    took = time.monotonic() - t0
    PROBES[1] = min(PROBES[1], took)
    return took


def settle(work: Path) -> None:
    """Before a first import: the previous contender's writes (100,000 copies, loose
    objects, a removed vault: 50-570 MB here) flushed to disk, so that they are not
    written back during the next contender's run, which vaultsync's fsyncs would wait
    for; no deletion by this run within the last minute (see LAST_REMOVAL); and file
    creation at its usual speed, whoever deleted files before (another run's work folder
    is removed at its end, a test suite cleans up): a probe of 2,000 creates, waited
    out up to PROBE_WAIT_S."""
    before = dirty_mb()
    t0 = time.monotonic()
    os.sync()
    say(f"flushed {before:.0f} MB of dirty pages in {time.monotonic() - t0:.1f} s")
    wait = REMOVAL_QUIET_S - (time.monotonic() - LAST_REMOVAL[0])
    if wait > 0:  # see LAST_REMOVAL; the vaults of earlier rounds are set aside instead
        say(f"waiting {wait:.0f} s: file creation is slow for a minute after a deletion")
        time.sleep(wait)
    deadline = time.monotonic() + PROBE_WAIT_S
    while (took := creation_time(work)) > max(PROBE_SLOW_S, 3 * PROBES[1]):
        if time.monotonic() > deadline:
            say(f"creating {PROBE_FILES} files still takes {took:.2f} s: measuring anyway")
            break
        say(f"creating {PROBE_FILES} files took {took:.2f} s (others' deletions): waiting")
        time.sleep(10)


def write_listing(path: Path, rels: Sequence[str]) -> tuple[Path, Path]:
    """The changed files, newline-separated (GitPython) and NUL-separated (xargs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rels) + "\n")
    nul = path.with_suffix(".nul")
    nul.write_bytes(b"".join(r.encode() + b"\0" for r in rels))
    return path, nul


def first_import(b: Bench, spec: RecordsSpec, tools: dict[str, Tool], rels: list[str]) -> list[Row]:
    vs, sh, gp, pl = (tools[n] for n in TOOLS)
    every, _ = write_listing(b.work / spec.key / "all.txt", rels)
    ours, shell, gitpy = Sample(), Sample(), Sample()
    for rep in range(spec.import_reps):
        say(f"{spec.title}: first import, run {rep + 1} of at most {spec.import_reps}")
        b.new_vault(vs.vault, [(vs.src, "records")])
        settle(b.work)
        ours.add(b.sync(vs.vault))
        b.new_git(sh.vault)
        settle(b.work)
        shell.add(b.shell(sh.src, sh.vault))
        load = os.getloadavg()[0]
        if len(ours.walls) == len(shell.walls) == rep + 1:
            say(
                f"first import {rep + 1}: vaultsync {ours.walls[-1]:.1f} s, shell recipe "
                f"{shell.walls[-1]:.1f} s ({ours.walls[-1] / shell.walls[-1]:.2f}x), "
                f"load {load:.1f}"
            )
        if spec.gitpython_import and rep == 0:  # once: it is slow, and context only
            gitpy.add(b.gitpython(gp.src, b.new_git(gp.vault), every))
        if ours.walls and ours.walls[-1] + shell.walls[-1] > b.sizes.import_budget_s:
            break  # one more round would not fit in the run's time budget
    for peer in (gp, pl)[1 if spec.gitpython_import else 0 :]:
        b.clone_for_index_only(sh.vault, peer.vault)
    scenario = f"first import ({len(rels):,} files{', 1 run' if len(ours.walls) == 1 else ''})"
    gp_row = Row(
        scenario, ours, "GitPython: copy + `repo.index.add(all)` + `index.commit` (1 run)", gitpy
    )
    if not spec.gitpython_import:
        gp_row.status = "not run: GitPython's pure-Python index.add of every file takes minutes"
    return [Row(scenario, ours, PEER_NAMES["shell"], shell, spec.import_target), gp_row]


def unchanged(b: Bench, spec: RecordsSpec, vs: Tool) -> Row:
    say(f"{spec.title}: sync with nothing changed x{b.sizes.reps}")
    b.sync(vs.vault)  # warm-up: the page cache, and .pyc files others may have invalidated
    b.stat_walk(vs.src)
    head = b.head(vs.vault)
    ours, walk = Sample(), Sample()
    for _ in range(b.sizes.reps):
        ours.add(b.sync(vs.vault))
        walk.add(b.stat_walk(vs.src))
    if b.head(vs.vault) != head:
        ours.error = "a sync with nothing changed made a commit"
    b.profile(f"{spec.title}: sync, nothing changed", "sync", "--vault", vs.vault, "--quiet")
    peer = "bare stat walk: `python -c` process, os.scandir + stat of every file"
    return Row("sync, nothing changed", ours, peer, walk, spec.unchanged_target)


def changed(b: Bench, spec: RecordsSpec, tools: dict[str, Tool], rels: list[str]) -> list[Row]:
    n = b.sizes.changed
    say(f"{spec.title}: sync with {n} files changed x{b.sizes.reps}")
    picks = rels[:: max(1, len(rels) // n)][:n]
    listing, listing0 = write_listing(b.work / spec.key / "changed.txt", picks)
    runners: dict[str, Callable[[Tool], Proc]] = {
        "vaultsync": lambda t: b.sync(t.vault),
        "shell": lambda t: b.shell(t.src, t.vault),
        "gitpython": lambda t: b.gitpython(t.src, t.vault, listing),
        "plumbing": lambda t: b.plumbing(t.src, t.vault, listing0),
    }
    samples = {name: Sample() for name in TOOLS}
    for rep in range(b.sizes.reps):
        for name, tool in tools.items():
            edit_records(tool.src, picks, rep)
            samples[name].add(runners[name](tool))
    vs = tools["vaultsync"]
    if samples["vaultsync"].error is None and f"~{len(picks)} " not in b.subject(vs.vault):
        samples["vaultsync"].error = f"last commit is {b.subject(vs.vault)!r}"
    if b.profiling:
        edit_records(vs.src, picks, b.sizes.reps)
        b.profile(f"{spec.title}: sync, {n} changed", "sync", "--vault", vs.vault, "--quiet")
    scenario = f"sync, {len(picks)} files changed"
    ours = samples["vaultsync"]
    return [
        Row(scenario, ours, PEER_NAMES["shell"], samples["shell"], spec.changed_target),
        Row(scenario, ours, PEER_NAMES["gitpython"], samples["gitpython"]),
        Row(scenario, ours, PEER_NAMES["plumbing"], samples["plumbing"]),
    ]


# -- scenarios: one big document ----------------------------------------------------------


def document_group(
    b: Bench, title: str, data: Path, lines: bool, add: Callable[[Path, int], None], most: int
) -> Group:
    """One big file: its first import, then syncs after one memory is added each time.
    The sync's runs are limited to what fits in the time budget (at least one)."""
    key = data.parent.name
    src = b.work / key / "src" / data.name
    copy_tree(data.parent, src.parent)
    vault = b.new_vault(b.work / key / "vault", [(src, key)])
    size_mb = src.stat().st_size / MB
    say(f"{title}: first import ({size_mb:.0f} MB)")
    imported, ours, parsed = Sample(), Sample(), Sample()
    one = imported.add(b.sync(vault)).wall
    reps = max(1, min(most, int(b.sizes.big_budget_s // max(one, 1e-3))))
    say(f"{title}: sync after one memory added x{reps}")
    for rep in range(reps):
        add(src, rep)
        ours.add(b.sync(vault))
        parsed.add(b.parse(src, lines))
    if ours.error is None and "~1 " not in b.subject(vault):
        ours.error = f"last commit is {b.subject(vault)!r}"
    if b.profiling:
        add(src, reps)
        b.profile(f"{title}: sync, one memory added", "sync", "--vault", vault, "--quiet")
    peer = f"python process: read + `json.loads` {'each line' if lines else 'the file'}"
    group = Group(
        title,
        [
            Row(f"first import ({size_mb:.0f} MB, 1 run)", imported, peer, parsed),
            Row(
                "sync, one memory added"
                + (f" ({reps} run{'s' if reps > 1 else ''})" if reps < b.sizes.reps else ""),
                ours,
                peer,
                parsed,
                Target(3, "ratio", f"{key}-add"),
            ),
        ],
    )
    note = f"A process that only reads and parses it peaks at {parsed.peak_mb:.0f} MB."
    b.report.memory.append(peak_of(title, group.rows, src.stat().st_size, note, f"{key}-memory"))
    return group


# -- scenarios: history --------------------------------------------------------------------

HIST_FILES = 1_000


def hist_path(k: int) -> str:
    return f"hist/p{k % 10:02d}/f{k:04d}.json"


def build_history(b: Bench, root: Path, commits: int) -> Path:
    """A vault with `commits` sync-like commits, written by git fast-import directly:
    the first adds HIST_FILES memories, each later one revises one of them in turn."""
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "note.json").write_text('{"id": "n", "content": "placeholder"}')
    vault = b.new_vault(root / "vault", [(src, "hist")])
    start = int(time.time()) + 60
    chunks = []
    for i in range(commits):
        keys = range(HIST_FILES) if i == 0 else [i % HIST_FILES]
        stamp = f"bench <bench@example.invalid> {start + i} +0000"
        iso = datetime.fromtimestamp(start + i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        counts = f"+{HIST_FILES} ~0" if i == 0 else "+0 ~1"
        msg = f"vaultsync: {iso} {counts} -0\n\nVaultsync-Host: bench\n".encode()
        chunks.append(f"commit refs/heads/main\nauthor {stamp}\ncommitter {stamp}\n".encode())
        chunks.append(b"data %d\n%s\n" % (len(msg), msg))
        if i == 0:
            chunks.append(f"from {b.head(vault)}\n".encode())
        for k in keys:
            doc = json.dumps({"id": f"f{k:04d}", "content": f"revision {i}"}).encode()
            chunks.append(f"M 100644 inline {hist_path(k)}\n".encode())
            chunks.append(b"data %d\n%s\n" % (len(doc), doc))
        chunks.append(b"\n")
    b.git("fast-import", "--quiet", cwd=vault, stdin=b"".join(chunks))
    b.git("reset", "-q", "--hard", "HEAD", cwd=vault)
    return vault


def history_group(b: Bench) -> Group:
    s = b.sizes
    group = Group(f"History: a {s.history:,}-commit vault against a 10-commit one")
    say(f"history: building vaults of {s.history:,} and 10 commits")
    big = build_history(b, b.work / "hist-big", s.history)
    small = build_history(b, b.work / "hist-small", 10)
    path = hist_path(0)
    at = {
        big: b.git("rev-parse", f"HEAD~{s.back}", cwd=big).out.strip(),
        small: b.git("rev-parse", "HEAD~5", cwd=small).out.strip(),
    }
    peer = "the same on a 10-commit vault"
    ops: list[tuple[str, str, Callable[[Path], Proc]]] = [
        (
            f"restore one file at {s.back:,} commits back",
            "restore",
            lambda v: b.vs(
                "restore",
                "--vault",
                v,
                "--at",
                at[v],
                path,
                "--to",
                fresh(v.parent / "out"),
                "--yes",
            ),
        ),
        (f"`log {path} -n 20`", "log", lambda v: b.vs("log", "--vault", v, path, "-n", "20")),
        (
            f"plain `git log -n 20 -- {path}` (context)",
            "",
            lambda v: run(["git", "log", "-n", "20", "--", path], b.env, cwd=v),
        ),
    ]
    for scenario, command, op in ops:
        target = Target(2, "ratio", command) if command else None
        if command and not b.built(command):
            group.rows.append(Row(scenario, Sample(), status=f"not built yet (`{command}`)"))
            continue
        say(f"history: {scenario} x{s.reps}")
        ours, base = Sample(), Sample()
        op(big), op(small)  # warm-up
        for _ in range(s.reps):
            ours.add(op(big))
            base.add(op(small))
        group.rows.append(Row(scenario, ours, peer, base, target))
    return group


def fresh(folder: Path) -> Path:
    remove(folder)
    return folder


# -- scenarios: hooks and the watcher -----------------------------------------------------


def hooks_group(b: Bench, data: Path) -> Group:
    group = Group("Git hooks and the watcher")
    for command, scenario, body in (
        ("hooks", "post-commit hook, commit touching no tracked file", hook_rows),
        ("watch", "watch: latency from a write to its commit", watch_rows),
    ):
        if not b.built(command):
            group.rows.append(Row(scenario, Sample(), status=f"not built yet (`{command}`)"))
            continue
        say(f"hooks and watch: {scenario}")
        try:
            group.rows.append(body(b, data, scenario))
        except Exception as exc:  # a command still being built must not stop the run
            group.rows.append(Row(scenario, Sample(error=f"{type(exc).__name__}: {exc}")))
    return group


def source_repo(b: Bench, root: Path, data: Path) -> Path:
    """A git repository holding 50 memory files and a note that is not tracked
    (`notes.txt`: Markdown is a memory format, so a `.md` note would be tracked)."""
    repo = root
    remove(repo)
    (repo / "memories").mkdir(parents=True)
    for path in sorted((data / PROJECTS[0]).iterdir())[:50]:
        shutil.copyfile(path, repo / "memories" / path.name)
    (repo / "notes.txt").write_text("notes\n")
    b.git("init", "-q", "-b", "main", cwd=repo)
    b.git("add", "-A", cwd=repo)
    b.git("commit", "-q", "-m", "start", cwd=repo)
    return repo


def hook_rows(b: Bench, data: Path, scenario: str) -> Row:
    hooked = source_repo(b, b.work / "hooks" / "repo", data)
    plain = source_repo(b, b.work / "hooks" / "plain", data)
    vault = b.new_vault(b.work / "hooks" / "vault", [(hooked, "repo")])
    must(b.sync(vault), "vaultsync sync")
    must(b.vs("hooks", "install", "--repo", hooked, "--vault", vault), "vaultsync hooks install")
    env = {**b.env, "VAULTSYNC_VAULT": str(vault)}
    head = b.head(vault)
    ours, base = Sample(), Sample()
    for rep in range(b.sizes.reps + 1):
        for repo, sample in ((hooked, ours), (plain, base)):
            (repo / "notes.txt").write_text(f"notes, revision {rep}\n")
            proc = run(["git", "commit", "-q", "-am", f"note {rep}"], env, cwd=repo)
            if rep:  # the first round is a warm-up
                sample.add(proc)
        time.sleep(0.3)  # a hook that went to the background must not overlap the next
    if b.head(vault) != head:
        ours.error = "the hook made a vault commit although no tracked file changed"
    return Row(
        scenario,
        ours,
        "the same `git commit` without the hook",
        base,
        Target(0.25, "seconds", "hook"),
    )


def watch_rows(b: Bench, data: Path, scenario: str) -> Row:
    src = b.work / "watch" / "src"
    copy_tree(data / PROJECTS[-1], src)
    vault = b.new_vault(b.work / "watch" / "vault", [(src, "watched")])
    must(b.sync(vault), "vaultsync sync")
    log = open(b.work / "watch" / "watch.log", "wb")  # open as long as the watcher runs
    proc = subprocess.Popen(
        [b.exe, "watch", "--vault", str(vault)], stdout=log, stderr=log, env=b.env
    )
    latency = Sample()
    try:
        time.sleep(3)  # let it start and finish its first scan
        target = next(src.iterdir())
        for rep in range(b.sizes.reps):
            before = b.head(vault)
            doc = json.loads(target.read_bytes())
            doc["content"] = f"watched revision {rep}"
            start = time.perf_counter()
            target.write_text(json.dumps(doc, indent=2))
            latency.add(wait_for_commit(b, vault, before, start, proc))
            time.sleep(1)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return Row(scenario, latency, status="" if latency.walls or latency.error else "no figure")


def wait_for_commit(
    b: Bench, vault: Path, before: str, start: float, watcher: subprocess.Popen[bytes]
) -> Proc:
    ref = vault / ".git" / "refs" / "heads" / "main"
    while time.perf_counter() - start < 30:
        if watcher.poll() is not None:
            return Proc(0, 0, watcher.returncode or 1, "", "the watcher exited")
        try:
            now = ref.read_text().strip()
        except OSError:
            now = before
        if now != before:
            return Proc(time.perf_counter() - start, 0, 0, "", "")
        time.sleep(0.005)
    return Proc(0, 0, 1, "", "no commit within 30 s of the write")


# -- context -------------------------------------------------------------------------------


def context_group(b: Bench) -> Group:
    say("context: start-up")
    group = Group("Context: process start-up on this machine")
    ours, bare = Sample(), Sample()
    b.vs("--help")
    for _ in range(b.sizes.reps):
        ours.add(b.vs("--help"))
        bare.add(run([b.python, "-c", "pass"], b.env))
    group.rows.append(Row("`vaultsync --help` (imports, no work)", ours, "`python -c pass`", bare))
    return group


# -- the report ---------------------------------------------------------------------------

# Shown under a table when its target is missed: where vaultsync's time goes, from
# cProfile (`--profile`), `python -X importtime`, a git wrapper logging each git child's
# time and peak RSS, an RSS sampler and tracemalloc, all on the full data sets, at the
# vaultsync commits named in each text; re-profile when the code moves on (`--profile`).
OBSTACLES: dict[str, str] = {
    "b-unchanged": (
        "at 8fa69f8 it takes ~0.70 s: start-up and imports ~0.06 s (`vaultsync.commands.sync` "
        "imports in 50 ms), loading the 13.5 MB `.last_sync` ~0.075 s, the scan ~0.5 s: its "
        "100,000 stat calls cost what the bare walk costs (~0.3 s) and the Python work per "
        "entry (suffix test, dict lookup, four comparisons) ~0.2 s more. Threads do not "
        "help: stat of cached inodes is CPU-bound (1, 2 and 4 threads: 0.31-0.33 s). git's C "
        "code refreshes a 100,000-entry index in 0.17 s here (`git update-index --refresh`): "
        "a state kept as a git index per source (`GIT_INDEX_FILE` + `--work-tree=SOURCE`, "
        "`git diff-files`) would bring the scan under the bare walk, racy-timestamp handling "
        "included. Landed (perf branch, issue 8; gitindex.py): `git ls-files -m` over a "
        "git index per source finds in-place edits in C, and Python lists only the folders "
        "whose mtime/ctime moved (git's `ls-files -o` cannot stand in for that: it never "
        "lists a FIFO, does not follow a symlink inside the source, stops at a nested "
        "repository). Measured by hand at 100,000 files while the test suite ran (5 runs "
        "each, medians): 4.5 s against 3.9 s for the walk (1.15x; main 9.0 s, 2.3x). What "
        "is left: loading the 13.5 MB JSON `.last_sync` (~0.1 s idle; it must become lazy, "
        "or per folder, to reach 0.8x), start-up and imports (~0.1 s), and git's own pass "
        "(~0.15 s)."
    ),
    "b-changed": (
        "at ab10efc (a lab copy of this data set: ~0.6 s wall, 0.67 s under cProfile): the "
        "commit is written in-process (smallcommit.py: the five changed 1.1 MB trees "
        "patched as bytes ~0.01 s, their old versions read ahead in threads while the scan "
        "runs; one ~7 MB pack published with fsync ~0.02 s; the vault's index ~0.02 s), the "
        "per-source git indexes are written side by side and each big source's changed "
        "entries go to a journal instead of its whole detail file (~0.04 s for both). What "
        "is left: the scan ~0.19 s (reading the five detail files ~0.07 s, listing the five "
        "folders the renamed files moved ~0.05 s, set operations ~0.03 s), start-up and "
        "imports ~0.1 s (dataclasses alone imports inspect and ast: ~15 ms), reading, "
        "checking and copying the 100 files ~0.09 s. Next: detail columns loaded without "
        "making 100,000 Python ints (array columns, the name index made on first use)."
    ),
    "e-append": (
        "at ab10efc (~0.2 s): start-up and imports ~0.06 s, the read ~0.02 s, the blob id "
        "and the prefix proof (two SHA-1s of 30 MB) now side by side on two cores ~0.02 s, "
        "the delta pack ~0.04 s (HEAD's 7.6 MB base entry copied, CRC-checked and hashed "
        "into each new pack: git keeps no thin packs, so a delta's base must be in its "
        "pack), the commit written in-process (no fast-import) ~0.015 s, the state and "
        "observers ~0.01 s. Under load the Python part stretches more than the recipe's C. "
        "Next: a pack of ours that holds several versions' deltas against one base copy."
    ),
    "b-import": (
        "at 71222c4 (20,000 files profiled: 4.7 s): the work-tree copies ~25% (a new file "
        "is now written in place, not by temp file and rename: -8%), reading ~13%, "
        "validating ~10% and secret-scanning ~7% of the files, handing fast-import the "
        "commit ~5%, `update-index` hashing the copies again for the vault's index and "
        "the per-source index's refresh hashing the sources again ~7%. The ratio used to "
        "swing (1.25-3.96x) mostly from the bench itself: it deleted the previous round's "
        "100,000-file vault right before the next import, and this machine's ext4 makes "
        "creating files slow for a minute after many were deleted (12-15 s of kernel time "
        "for 20,000 files instead of 1.2 s: recently_deleted / find_inode_bit); earlier "
        "vaults are now set aside. Under CPU load vaultsync's Python work still stretches "
        "more than the recipe's C: `git checkout-index -u` writing the copies and their "
        "index stat in C would take most of the first two parts."
    ),
    "c-add": (
        "at acdc3cd it takes ~22 s: vaultsync's own work ~11.5 s (parse 7.3 s, validate "
        "0.2 s, secret scan 1.6 s, read + hash 0.6 s, work-tree copy 1.6 s), fast-import "
        "compressing the 545 MB once at zlib level 1 ~8.5 s, update-index ~1.2 s. Before "
        "b336820 and acdc3cd git deflated it three times at level 6 (88 s): into "
        "fast-import's pack, into a loose object (packs under `fastimport.unpackLimit` are "
        "exploded) and in `update-index` (files over `core.bigFileThreshold` are streamed "
        "through deflate even when the blob exists)."
    ),
    "d-add": (
        "at 8fa69f8 it takes ~1.25 s against 0.57 s: the line-by-line parse ~0.5 s "
        "(`jsonparse.parse_lines` runs two regex matches per line besides raw_decode), "
        "validation of 150,000 values ~0.13 s, the summary from the lines that differ "
        "~0.14 s, fast-import ~0.16 s, start-up ~0.06 s."
    ),
    "b-memory": (
        "per-file bookkeeping, not content: at 8fa69f8 each file keeps, until the commit, "
        "its path string, two 4-int stat lists (scan and read), its blob id and a Candidate: "
        "~1.1 KB per file by tracemalloc, ~115 MB for 100,000 files, plus ~45 MB to build the "
        "100,000-line fast-import commit and the state JSON at the end and ~30 MB of "
        "interpreter and imports; the git processes stay under 60 MB. Writing each file's "
        "fast-import line and state entry as it is read, and keeping stats as plain tuples "
        "of the state's own columns, would keep it near flat. Since then the fast-import "
        "lines and the stats are kept so (the per-file Change is what remains); on "
        "2026-12-03 the first import peaked at 151-155 MB at 5b4f43d and at ab10efc alike "
        "(vaultsync's own process; the largest git, fast-import, 56 MB), 1-5 MB over."
    ),
    "c-memory": (
        "parsing alone peaks at 1.76 GB in a bare process (bytes, decoded text and 30 "
        "million Python floats: 3.2× the file); vaultsync also holds the file's bytes while "
        "it parses (+545 MB: 2.3 GB). A limit of 2× the file needs a streaming validator "
        "(one memory at a time, e.g. ijson) and the blob streamed from the file."
    ),
    "d-memory": (
        "at 8fa69f8 the peak (~200 MB) is in the parse of the file: vaultsync decodes the "
        "whole file into one str (18.6 MB) and splits it into a list of 150,000 line strings "
        "(~27 MB) while the parsed values (106 MB by tracemalloc) and the bytes are alive; "
        "the parse-only peer keeps the bytes, their split and the values (153-157 MB). "
        "Parsing each line's bytes as it is reached (no whole-file str, no list of lines) "
        "would save ~45 MB and fit the 187 MB limit."
    ),
}


def fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} MB"


def table(group: Group, why: Mapping[str, str]) -> list[str]:
    out = [
        f"### {group.title}",
        "",
        "| scenario | vaultsync | compared with | its time | ratio | target | result |",
        "| --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    missed: list[str] = []
    for row in group.rows:
        verdict, miss = row.verdict()
        if miss and row.target and row.target.key in why:
            missed.append(f"- *{row.scenario}*: {why[row.target.key]}")
        if row.status:
            out.append(
                f"| {row.scenario} | — | {row.peer_name} | — | — | "
                f"{row.target.text() if row.target else ''} | {verdict} |"
            )
            continue
        ratio = row.ratio()
        fmt = fmt_s if row.unit == "s" else fmt_mb
        out.append(
            f"| {row.scenario} | {fmt(row.ours.median)} | {row.peer_name or '—'} | "
            f"{fmt(row.peer.median if row.peer else None)} | "
            f"{f'{ratio:.2f}×' if ratio is not None else '—'} | "
            f"{row.target.text() if row.target else '—'} | {verdict} |"
        )
    return out + [""] + group.notes + sorted(set(missed)) + ([""] if missed else [])


def memory_table(rows: Sequence[MemRow], explain: Mapping[str, str]) -> list[str]:
    out = [
        "### Peak memory (largest RSS of vaultsync or of a git process it ran)",
        "",
        "| data set | vaultsync peak | largest file | limit: 2× largest + 150 MB | result | note |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    why: list[str] = []
    for r in rows:
        ok = r.peak_mb <= r.limit_mb()
        verdict = "met" if ok else f"**MISSED** ({r.peak_mb:.0f} MB > {r.limit_mb():.0f} MB)"
        note = r.note
        if not ok and r.key in explain:
            why.append(f"- *{r.what}*: {explain[r.key]}")
        out.append(
            f"| {r.what} | {r.peak_mb:.0f} MB | {r.largest / MB:.1f} MB | "
            f"{r.limit_mb():.0f} MB | {verdict} | {note} |"
        )
    return out + [""] + why + ([""] if why else [])


def machine(command: str, sizes: Sizes, elapsed: float) -> list[str]:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "vaultsync"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
        f"run took {elapsed / 60:.1f} min ({sizes.name} sizes; then the work folder is removed)",
        f"- machine: {platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
        f"{mem:.1f} GiB RAM; Python {platform.python_version()}; {git}",
        f"- vaultsync at `{rev}`" + (" with uncommitted changes in vaultsync/" if dirty else ""),
        f"- command: `{command}`",
    ]


METHOD = """\
How it is measured: every figure is the median wall time of a whole process, from spawn
to exit, of {reps} runs; a first import and the large export's sync run at most
{import_reps} and {big_reps} times, and once only when a single run takes longer than the
time budget allows (the row then says "1 run"). Runs of the contenders alternate, so a
noisy moment hits all of them. vaultsync runs as the installed command (`vaultsync sync
--vault V --quiet`) with `HOME` pointed at a temporary folder, `GIT_CONFIG_NOSYSTEM=1` and
a git identity from the environment. Each contender has its own copy of the data and gets
the same edits (the same {changed} files revised the same way, before each run). The peer
vaults are plain `git init` repositories with auto-gc off (a detached repack would run
into the next measurement); vaultsync's vault has its own settings (fsync of objects,
refs and index). Only ratios are targets: this machine is noisy, absolute figures move by
2× between runs. Histories are built with `git fast-import` (one small revision per
commit), not by thousands of syncs."""


def render(b: Bench, command: str, elapsed: float) -> str:
    s = b.sizes
    lines = [
        "# Benchmarks",
        "",
        "Output of `scripts/bench` (regenerate it with that command: "
        "the data sets are cached in `.bench/`; `--quick` runs CI-sized data in about a "
        "minute).",
        "",
    ]
    lines += machine(command, s, elapsed) + [""]
    lines += [
        METHOD.format(
            reps=s.reps, import_reps=s.import_reps, big_reps=s.big_reps, changed=s.changed
        ),
        "",
    ]
    missed = [r for g in b.report.groups for r in g.rows if r.verdict()[1]]
    missed_mem = [m for m in b.report.memory if m.peak_mb > m.limit_mb()]
    targeted = [r for g in b.report.groups for r in g.rows if r.target]
    lines.append(
        f"Targets: {len(targeted) + len(b.report.memory) - len(missed) - len(missed_mem)}"
        f" met, {len(missed) + len(missed_mem)} missed."
    )
    # The diagnoses were profiled on the full data sets: they would mislead next to others.
    why = OBSTACLES if s.name == "full" else {}
    if not why:
        lines.append(
            "Where the time goes when a target is missed: see docs/BENCHMARKS.md "
            "(diagnosed on the full data sets)."
        )
    lines.append("")
    for group in b.report.groups:
        lines += table(group, why)
    if b.report.memory:
        lines += memory_table(b.report.memory, why)
    lines += b.validation
    for label, body in b.report.profiles:
        lines += [
            f"<details><summary>profile: {label}</summary>",
            "",
            "```",
            body.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


# -- main -----------------------------------------------------------------------------------


def validation_table(quick: bool) -> list[str]:
    """The validation issue's figures: check() against json.loads, in this same run."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_validate

    if quick:
        return bench_validate.markdown(memories=200, dims=1536, entities=10_000, repeat=2)
    return bench_validate.markdown(memories=2000, dims=1536, entities=100_000, repeat=3)


def check_disk(cache: Path, sizes: Sizes) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache).free / 2**30
    if free < sizes.disk_gb:
        sys.exit(
            f"bench: {cache} has {free:.1f} GiB free; the {sizes.name} run needs about "
            f"{sizes.disk_gb:g} GiB (data sets, one copy per contender, the vaults). "
            "Free some space or pass --cache DIR on a larger disk."
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized data (about a minute)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / ".bench",
        help="where data sets are generated and kept (default: .bench/)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="the markdown file to write (default: "
        "docs/BENCHMARKS.md for a full run, .bench/BENCHMARKS-quick.md otherwise)",
    )
    parser.add_argument("--reps", type=int, help="runs per scenario (default 5, quick 3)")
    parser.add_argument(
        "--import-runs",
        type=int,
        help="first imports of each records set, whatever they take (default: at most 3, "
        "fewer when one round exceeds the time budget)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma list of groups: context,a,b,c,d,"
        "history,hooks,validation (the output then goes to the cache)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one extra run of each targeted vaultsync scenario",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument(
        "--vaultsync",
        metavar="COMMAND",
        help="the vaultsync to measure (default: the one beside this python)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def groups(b: Bench, data: Data) -> list[tuple[str, Callable[[], Group]]]:
    s = b.sizes
    a = RecordsSpec(
        "a",
        f"(a) {s.records_a:,} memory records in 5 project folders",
        data.a,
        gitpython_import=True,
        unchanged_target=Target(0.25, "seconds", "a-unchanged"),
        import_reps=s.import_reps,
    )
    big = RecordsSpec(
        "b",
        f"(b) {s.records_b:,} memory records",
        data.b,
        gitpython_import=False,
        import_target=Target(1.5, "ratio", "b-import"),
        unchanged_target=Target(0.8, "ratio", "b-unchanged"),
        changed_target=Target(0.5, "ratio", "b-changed"),
        import_reps=s.import_reps,
    )
    export = f"(c) export of {s.memories:,} memories with {s.dims}-dimension embeddings"
    graph = f"(d) MCP memory.jsonl: {s.entities:,} entities, {s.relations:,} relations"
    return [
        ("context", lambda: context_group(b)),
        ("a", lambda: records_group(b, a)),
        ("b", lambda: records_group(b, big)),
        (
            "c",
            lambda: document_group(
                b,
                export,
                data.export,
                False,
                lambda p, r: add_export_memory(p, r, s.dims),
                s.big_reps,
            ),
        ),
        ("d", lambda: document_group(b, graph, data.graph, True, add_graph_entity, s.reps)),
        (
            "e",
            lambda: transcript_group(
                b,
                f"(e) agent transcript: {s.transcript_mb} MB of JSON Lines, {s.appends} appends",
                data.transcript,
                s.appends,
                tuple(WORDS),
            ),
        ),
        ("history", lambda: history_group(b)),
        ("hooks", lambda: hooks_group(b, data.a)),
    ]


def attempt(name: str, make: Callable[[], Group]) -> Group:
    """A group whose set-up fails is reported as such; the other groups still run."""
    try:
        return make()
    except (BenchError, OSError, subprocess.CalledProcessError) as exc:
        say(f"group {name} failed: {exc}")
        return Group(f"group {name}", [Row("set-up", Sample(error=str(exc)))])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.reps:
        sizes = replace(sizes, reps=args.reps)
    if args.import_runs:
        sizes = replace(sizes, import_reps=args.import_runs, import_budget_s=float("inf"))
    only = {g for g in args.only.split(",") if g}
    output = args.output or (
        ROOT / "docs" / "BENCHMARKS.md"
        if not (args.quick or only)
        else args.cache / f"BENCHMARKS-{sizes.name}.md"
    )
    check_disk(args.cache, sizes)
    started = time.monotonic()
    data = ensure_data(args.cache, sizes, only)
    work = args.cache / f"work-{sizes.name}"
    remove(work)
    b = Bench(sizes, work, args.profile, args.vaultsync)
    try:
        for name, make in groups(b, data):
            if not only or name in only:
                b.report.groups.append(attempt(name, make))
        command = " ".join(["scripts/bench", *(argv if argv is not None else sys.argv[1:])])
        if not only or "validation" in only:
            say("measuring validation against parsing")
            b.validation = validation_table(args.quick)
        text = render(b, command, time.monotonic() - started)
        print(text)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        say(f"wrote {output}")
    finally:
        if not args.keep:
            say(f"removing {work}")
            remove(work)
    missed = any(r.verdict()[1] for g in b.report.groups for r in g.rows)
    missed = missed or any(m.peak_mb > m.limit_mb() for m in b.report.memory)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
