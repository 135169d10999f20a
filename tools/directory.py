"""Manage a community's directory (grid and members) on a stage: import, export, history.

    python -m tools.directory import  --community changmu [--format yaml|csv] [--dry-run] [--actor NAME] PATH...
    python -m tools.directory export  --community changmu --format yaml|csv [--version N] [PATH]
    python -m tools.directory history --community changmu
    python -m tools.directory leave   --community changmu [--dry-run] [--actor NAME] MEMBER FROM TO
    python -m tools.directory leave   --community changmu --clear [--actor NAME] MEMBER [FROM TO]

The stage is GRIDLOOP_STAGE (required: there is no default stage to write to); the local
stack's AWS emulator is GRIDLOOP_AWS_ENDPOINT and its tables GRIDLOOP_DYNAMODB_ENDPOINT
(`make run` prints both). AWS credentials come from the usual places (AWS_PROFILE, ...);
the importer needs dynamodb:Scan, Query, GetItem and TransactWriteItems (PutItem,
ConditionCheckItem) on gridloop-STAGE-directory*.

import: PATH is the YAML file, or the CSV files (or the folder that holds them; see
chalicelib/domain/directory_io/__init__.py for the layout). Everything is checked first; every
problem is printed as FILE:LINE: message and nothing is written. Otherwise the
directory becomes the next version, recorded as made by --actor (default: your user
name). --dry-run checks and shows what would change, and writes nothing.
export: YAML to PATH or stdout ("-"); CSV into the folder PATH (UTF-8 with a BOM, so
that Excel reads the Chinese). --version exports an older version (to roll back: export
it, then import it).
leave: mark a member away (on leave) from FROM to TO, so that nothing is assigned to
them meanwhile. FROM and TO are dates (YYYY-MM-DD, Asia/Shanghai, both days included)
or ISO date-times with an offset. --clear takes FROM..TO out of their leave (without
FROM TO: all of it; use it when someone comes back early). Applied like an import: the
next version, recorded as made by --actor.

Exit status: 0 done, 1 usage or unknown community or member, 2 problems in the file (or
the dates), 3 the directory changed meanwhile (run it again).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CSV_ENCODING = "utf-8-sig"


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text; UTF-8 (with or without a BOM), else GB18030 (what a Chinese Excel
    saves as plain "CSV"), with a note saying so."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("gb18030"), f"{path.name}: not UTF-8; read as GB18030 (GBK)"


def source_files(paths: Sequence[str], format: str | None) -> tuple[dict[str, str], str, list[str]]:
    """({name: text}, format, notes) for the import's PATH arguments."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv"))
            format = format or "csv"
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"no such file or folder: {raw}")
    if format is None:
        suffixes = {p.suffix.lower() for p in files}
        if suffixes <= {".yaml", ".yml"}:
            format = "yaml"
        elif suffixes == {".csv"}:
            format = "csv"
        else:
            raise SystemExit("cannot tell the format from the file names: give --format yaml or csv")
    texts, notes = {}, []
    for path in files:
        text, note = read_text(path)
        texts[path.name] = text
        if note:
            notes.append(note)
    return texts, format, notes


def write_csv(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        target = folder / name
        target.write_text(text, encoding=CSV_ENCODING, newline="")
        written.append(target)
    return written


def default_actor() -> str:
    return os.environ.get("GRIDLOOP_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.directory", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--community", required=True, help="the community's id, e.g. changmu")

    imp = commands.add_parser("import", parents=[common], help="check and apply a directory file")
    imp.add_argument("--format", choices=("yaml", "csv"), help="default: from the file names")
    imp.add_argument("--actor", default=None, help="who makes this change (kept in the history)")
    imp.add_argument("--dry-run", action="store_true", help="check and show the changes; write nothing")
    imp.add_argument("paths", nargs="+", metavar="PATH")

    exp = commands.add_parser("export", parents=[common], help="write the directory out")
    exp.add_argument("--format", choices=("yaml", "csv"), required=True)
    exp.add_argument("--version", type=int, default=None, help="an older version (default: the current one)")
    exp.add_argument("path", nargs="?", default="-", metavar="PATH",
                     help="YAML: a file or - for stdout; CSV: a folder")

    his = commands.add_parser("history", parents=[common], help="list the versions, newest first")
    his.add_argument("--json", action="store_true", help="everything, as JSON lines")

    lv = commands.add_parser("leave", parents=[common], help="mark a member away for a period, or clear it")
    lv.add_argument("--clear", action="store_true", help="take FROM..TO (default: everything) out of their leave")
    lv.add_argument("--actor", default=None, help="who makes this change (kept in the history)")
    lv.add_argument("--dry-run", action="store_true", help="check and show the changes; write nothing")
    lv.add_argument("member", metavar="MEMBER", help="the member's id, e.g. m10")
    lv.add_argument("start", nargs="?", metavar="FROM", help="first day (YYYY-MM-DD) or ISO date-time")
    lv.add_argument("end", nargs="?", metavar="TO", help="last day, included (YYYY-MM-DD), or ISO date-time")
    return parser


def main(argv: Sequence[str] | None = None, container: Any = None) -> int:
    args = _parser().parse_args(argv)
    if container is None:
        if not os.environ.get("GRIDLOOP_STAGE"):
            print("set GRIDLOOP_STAGE to the stage to work on (local, dev or prod)", file=sys.stderr)
            return 1
        from chalicelib.bootstrap import Container
        container = Container()
    admin = container.directory_admin
    stage = container.config.stage
    try:
        if args.command == "import":
            return _import(admin, args, stage, container.config.directory_ttl)
        if args.command == "export":
            return _export(admin, args, stage)
        if args.command == "leave":
            return _leave(admin, args, stage, container.config.directory_ttl)
        return _history(admin, args)
    except LookupError as error:   # UnknownCommunity
        print(str(error).strip("'\""), file=sys.stderr)
        return 1


def _import(admin: Any, args: argparse.Namespace, stage: str, ttl: float) -> int:
    files, format, notes = source_files(args.paths, args.format)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    result = _applied(lambda: admin.import_community(files, format, args.actor or default_actor(),
                                                     community_id=args.community, dry_run=args.dry_run),
                      "Run the import again.")
    return result if isinstance(result, int) else _report(result, args, stage, ttl)


def _applied(apply: Any, retry_hint: str) -> Any:
    """The result of a directory change, or the exit status when it was refused: 2 when
    the directory has problems (listed), 3 when someone else changed it meanwhile."""
    from chalicelib.domain.directory_io import DirectoryImportError
    from chalicelib.services.ports import DirectoryConflict

    try:
        return apply()
    except DirectoryImportError as error:
        for problem in [*error.problems, *error.warnings]:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s): nothing was changed.", file=sys.stderr)
        return 2
    except DirectoryConflict as error:
        print(f"{error}. {retry_hint}", file=sys.stderr)
        return 3


def _report(result: Any, args: argparse.Namespace, stage: str, ttl: float, warnings: bool = True) -> int:
    for warning in result.warnings if warnings else ():
        print(warning)
    if not result.changed:
        print(f"{stage}/{result.community_id}: no changes; it stays at version {result.version}.")
    elif args.dry_run:
        print(f"{stage}/{result.community_id}: dry run, nothing written. Would make version "
              f"{result.version}: {result.summary}")
    else:
        print(f"{stage}/{result.community_id}: version {result.version} applied: {result.summary}")
        print(f"Handlers use it within {ttl:g} s (their directory cache).")
    return 0


def _leave(admin: Any, args: argparse.Namespace, stage: str, ttl: float) -> int:
    from chalicelib.domain import leave

    if (args.start is None) != (args.end is None) or (args.start is None and not args.clear):
        print("give FROM and TO (only --clear may leave them out)", file=sys.stderr)
        return 1
    period = None
    if args.start is not None:
        try:
            period = leave.parse_period(args.start, args.end)
        except leave.LeaveError as error:
            print(f"leave of {args.member}: {error}", file=sys.stderr)
            return 2
    result = _applied(lambda: admin.set_leave(args.community, args.member, period, args.actor or default_actor(),
                                              clear=args.clear, dry_run=args.dry_run),
                      "Run the command again.")
    if isinstance(result, int):
        return result
    # The warnings (kept with the version) are about the whole directory, on the lines of a
    # file the operator never saw: `import --dry-run` of an export shows them.
    status = _report(result, args, stage, ttl, warnings=False)
    if not args.dry_run:
        member = admin.community(args.community).members[args.member]
        periods = ", ".join(leave.describe(p) for p in member.leave) or "none"
        print(f"{member.id} ({member.name}) is on leave: {periods}")
    return status


def _export(admin: Any, args: argparse.Namespace, stage: str) -> int:
    exported = admin.export_community(args.community, args.format, version=args.version)
    if args.format == "csv":
        if args.path == "-":
            print("CSV is several files: give a folder to write them to", file=sys.stderr)
            return 1
        for path in write_csv(Path(args.path), exported):
            print(f"wrote {path}", file=sys.stderr)
    elif args.path == "-":
        sys.stdout.write(exported)
    else:
        Path(args.path).write_text(exported, encoding="utf-8")
        print(f"wrote {args.path}", file=sys.stderr)
    return 0


def _history(admin: Any, args: argparse.Namespace) -> int:
    versions = admin.history(args.community)
    if not versions:
        print(f"no history for {args.community!r}", file=sys.stderr)
        return 1
    for v in versions:
        if args.json:
            print(json.dumps({"community_id": v.community_id, "version": v.version,
                              "created_at": v.created_at, "actor": v.actor, "source": v.source,
                              "summary": v.summary, "changes": v.changes, "warnings": list(v.warnings)},
                             ensure_ascii=False))
        else:
            when = datetime.fromtimestamp(v.created_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
            flags = f"  ({len(v.warnings)} warning{'s' if len(v.warnings) > 1 else ''})" if v.warnings else ""
            print(f"v{v.version}  {when}  {v.actor}  [{v.source}]  {v.summary}{flags}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
