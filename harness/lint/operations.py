"""Operations scripts and DR plans: a restore that cannot read what the backup writes, a maintenance
step that takes every replica away, and a recovery point objective no backup schedule in the run
can meet.

Commands are read from shell scripts, from the command and args of the run's containers (a backup
CronJob), and from fenced code blocks of a plan. Simple assignments (`N=3`, `N="${N:-3}"`) are
followed; anything computed at run time is not guessed at.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from harness.lint.documents import Document
from harness.lint.findings import Problem
from harness.lint.registry import check, kind
from harness.lint.run import Run
from harness.lint.workloads import containers, runs_mongodump, worst_backup_age_seconds

SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n"}
_RPO_HEADING = re.compile(r"recovery point objective|\bRPO\b", re.IGNORECASE)
_ENTRY = re.compile(
    r"^\s*[-*]?\s*(?P<name>[A-Za-z][\w /-]*?)\s*:\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)", re.I
)
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_DATABASE = re.compile(r"data\s*base|\bdb\b|mongo", re.IGNORECASE)
_ASSIGNMENT = re.compile(r"^(?:export\s+)?(?P<name>[A-Za-z_]\w*)=(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Command:
    line: int
    argv: tuple[str, ...]

    def flag(self, *names: str) -> str | None:
        """The value of --name=value or --name value; "" for a bare flag; None when absent."""
        for position, word in enumerate(self.argv):
            for name in names:
                if word == name:
                    following = self.argv[position + 1] if position + 1 < len(self.argv) else ""
                    return "" if following.startswith("-") else following
                if word.startswith(name + "="):
                    return word.split("=", 1)[1]
        return None


def _is_script(document: Document) -> bool:
    first = document.text.split("\n", 1)[0]
    return document.path.suffix in (".sh", ".bash") or (
        first.startswith("#!") and "sh" in first.rsplit("/", 1)[-1]
    )


@kind("shell", "operations scripts (sh, bash)")
def is_shell(document: Document) -> bool:
    return document.data is None and _is_script(document)


def _plan_texts(document: Document) -> Iterator[tuple[int, str]]:
    """(line of its first line, text) of each text of a document that reads as a DR plan."""
    if document.data is None:
        if not _is_script(document) and _RPO_HEADING.search(document.text):
            yield 1, document.text
        return
    if document.api_kind is not None and document.api_kind[1] == "ConfigMap":
        for key, value in (document.get("data") or {}).items():
            if isinstance(value, str) and _RPO_HEADING.search(value):
                yield document.line("data", key) + 1, value  # a block scalar starts on the next line


@kind("dr-plan", "disaster recovery plans (text with recovery point objectives)")
def is_dr_plan(document: Document) -> bool:
    return any(True for _ in _plan_texts(document))


def _logical_lines(text: str, first_line: int) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the line it starts on."""
    pending, start = "", first_line
    for number, line in enumerate(text.split("\n"), first_line):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def commands(text: str, first_line: int = 1) -> list[Command]:
    """The simple commands of a shell text, with assignments substituted where they are plain."""
    variables: dict[str, str] = {}
    found = []
    for line, logical in _logical_lines(text, first_line):
        lexer = shlex.shlex(logical, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError:
            continue  # an unbalanced quote: not a line we can read
        argv: list[str] = []
        for word in [*words, ";"]:
            if word in SEPARATORS:
                if argv:
                    found.append(Command(line, tuple(argv)))
                argv = []
                continue
            assignment = _ASSIGNMENT.match(word) if not argv else None
            if assignment:
                value = re.sub(r"^\$\{\w+:-(.*)\}$", r"\1", assignment["value"])
                variables[assignment["name"]] = value
                continue
            argv.append(re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m[1], m[0]), word))
    return found


def _fenced_blocks(text: str, first_line: int) -> Iterator[tuple[int, str]]:
    block: list[str] = []
    start, inside = 0, False
    for number, line in enumerate(text.split("\n"), first_line):
        if line.strip().startswith("```"):
            if inside:
                yield start, "\n".join(block)
            inside, block, start = not inside, [], number + 1
        elif inside:
            block.append(line)


def document_commands(document: Document) -> list[Command]:
    """Every command a document runs: a script's, a container's, a plan's code blocks'."""
    if document.data is None and _is_script(document):
        return commands(document.text)
    found = [
        command
        for start, text in _plan_texts(document)
        for block_start, block in _fenced_blocks(text, start)
        for command in commands(block, block_start)
    ]
    for at, container in containers(document):
        for field in ("command", "args"):
            for position, part in enumerate(container.get(field) or []):
                found += commands(str(part), document.line(*at, field, position))
    return found


def run_commands(run: Run, program: str) -> list[tuple[Document, Command]]:
    return [
        (d, c) for d in run.documents for c in document_commands(d) if c.argv and c.argv[0].endswith(program)
    ]


def _format(command: Command) -> tuple[bool, bool]:
    """(archive, gzip) of a mongodump or mongorestore: one archive file, or a folder of BSON files."""
    return command.flag("--archive") is not None, command.flag("--gzip") is not None


def _describe(archive: bool, gzip: bool) -> str:
    return f"{'one archive' if archive else 'a folder of BSON files'}{', gzip-compressed' if gzip else ''}"


@check(("shell", "dr-plan"), "restore-reads-backup")
def restore_reads_backup(document: Document, run: Run) -> Iterator[Problem]:
    """Every mongorestore reads the format a mongodump of the run writes: --archive with --archive,
    --gzip with --gzip (mongorestore skips .bson.gz files it was not told are compressed)."""
    dumps = [(d, c) for d, c in run_commands(run, "mongodump")]
    if not dumps:
        return
    written = {_format(c) for _, c in dumps}
    for restore in document_commands(document):
        if not restore.argv or not restore.argv[0].endswith("mongorestore"):
            continue
        read = _format(restore)
        if read not in written:
            source, dump = dumps[0]
            wrote = _format(dump)
            yield Problem(
                f"mongorestore reads {_describe(*read)}, "
                f"but the backup ({source.path.name}:{dump.line}) writes "
                f"{_describe(*wrote)}: the restore cannot read it; use the same --archive and --gzip flags",
                line=restore.line,
            )


@check(("shell", "dr-plan"), "maintenance-keeps-replicas")
def maintenance_keeps_replicas(document: Document, run: Run) -> Iterator[Problem]:
    """No step takes every replica away at once (scale to 0, delete all pods): the service is down for
    the whole step. Roll pods (kubectl rollout restart) or drain nodes under the PodDisruptionBudget."""
    floor = run.facts.min_available
    for command in document_commands(document):
        argv = command.argv
        if not argv or not argv[0].endswith("kubectl"):
            continue
        verb = _kubectl_verb(argv)
        if verb == "scale":
            replicas = command.flag("--replicas")
            if replicas is not None and replicas.isdigit() and int(replicas) < floor:
                what = "takes every replica away" if int(replicas) == 0 else f"leaves {replicas} replica(s)"
                yield Problem(
                    f"`{' '.join(argv)}` {what}, below the availability floor of {floor}: "
                    "the service is down "
                    "or unprotected for the whole step; use `kubectl rollout restart` or drain under the "
                    "PodDisruptionBudget",
                    line=command.line,
                )
        elif (
            verb == "delete"
            and any(w in argv for w in ("pod", "pods", "po"))
            and (command.flag("-l", "--selector") is not None or "--all" in argv)
        ):
            yield Problem(
                f"`{' '.join(argv)}` deletes every matching pod at once: use `kubectl rollout restart`",
                line=command.line,
            )


def _kubectl_verb(argv: tuple[str, ...]) -> str | None:
    """kubectl's subcommand, past global flags and their values (`kubectl -n ns scale ...`)."""
    words = iter(argv[1:])
    for word in words:
        if word in (
            "-n",
            "--namespace",
            "--context",
            "--kubeconfig",
            "--cluster",
            "--user",
            "-s",
            "--server",
        ):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _seconds(amount: str, unit: str) -> float | None:
    unit = unit.lower().rstrip("s") or "s"
    factor = _UNITS.get(unit) or _UNITS.get(unit[:3]) or _UNITS.get(unit[:1])
    return float(amount) * factor if factor else None


def objectives(text: str, first_line: int) -> Iterator[tuple[int, str, float]]:
    """(line, name, seconds) of each entry of a plan's recovery point objectives section."""
    inside = False
    for number, line in enumerate(text.split("\n"), first_line):
        if line.lstrip().startswith("#"):
            inside = bool(_RPO_HEADING.search(line))
            continue
        entry = _ENTRY.match(line) if inside else None
        seconds = _seconds(entry["amount"], entry["unit"]) if entry else None
        if entry and seconds is not None:
            yield number, entry["name"], seconds


@check("dr-plan", "rpo-backup-schedule")
def rpo_backup_schedule(document: Document, run: Run) -> Iterator[Problem]:
    """A database recovery point objective is met by some backup schedule in the run: a CronJob
    running mongodump whose longest gap, late start and run time stay within it."""
    backups = [(c.name, worst_backup_age_seconds(c)) for c in run.objects("CronJob") if runs_mongodump(c)]
    for start, text in _plan_texts(document):
        for line, name, rpo in objectives(text, start):
            if not _DATABASE.search(name) or any(age <= rpo for _, age in backups):
                continue
            found = (
                "; ".join(f"{cronjob} leaves backups up to {age}s old" for cronjob, age in backups)
                or "no CronJob in this run runs mongodump"
            )
            yield Problem(
                f"RPO {name} {rpo:g}s: no backup schedule in this run meets it ({found})", line=line
            )
