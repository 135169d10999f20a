"""Directory management on the real adapters (moto): imports are checked whole and applied
atomically as versions with an audit record; concurrent imports cannot both win (the
store's transaction itself: tests/storage/test_directory_versions.py, on both engines); exports
give back what was imported; the operators' CLI (tools/directory.py) does all of it."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.directory import Community
from chalicelib.domain.directory_io import DirectoryImportError, export_csv, parse, parse_csv, parse_yaml
from chalicelib.services.directory_admin import DirectoryAdmin, UnknownCommunity
from chalicelib.services.ports import DirectoryConflict
from tools.directory import main as cli

ROOT = Path(__file__).resolve().parents[2]
CHANGMU = (ROOT / "data/directory/changmu.yaml").read_text(encoding="utf-8")
GARANG = (ROOT / "data/directory/garang.yaml").read_text(encoding="utf-8")
NEW_MEMBER = """- id: m47
  name: 新成员
  phone: '+8613971400041'
  roles:
  - volunteer
  category: at_home
"""


def edit(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur exactly once"
        text = text.replace(old, new)
    return text


def remove_member(text: str, member_id: str) -> str:
    start = text.index(f"- id: {member_id}\n")
    end = text.find("\n- id: ", start + 1)
    return text[:start] + (text[end + 1:] if end != -1 else "")


# v2 of changmu: b02-3's away stairwell leader replaced by the building leader, a member
# added, an elderly volunteer removed, a phone changed.
CHANGMU_V2 = remove_member(edit(CHANGMU, ("    leader: m34", "    leader: m11"),
                                ("phone: '+8613971041976'", "phone: '+8613971041977'")), "m40") + NEW_MEMBER


def stored_items(stack) -> dict[str, list]:
    """Every item of both directory tables, as plain data: to tell whether anything changed."""
    return {"current": sorted((r.community_id, r.version, r.document) for r in stack.directory_model.scan()),
            "history": sorted((r.community_id, int(r.version), r.actor)
                              for r in stack.directory_history_model.scan())}


@pytest.fixture
def admin(aws_stack):
    return aws_stack.directory_admin


# -- versions and audit --------------------------------------------------------------------------

def test_the_demo_directory_is_version_1_of_each_community_with_an_audit_record(aws_stack, admin):
    for cid, members in (("changmu", 46), ("garang", 9)):
        [v1] = admin.history(cid)
        assert (v1.version, v1.actor, v1.source) == (1, "devstack (demo data)", f"yaml {cid}.yaml")
        assert v1.summary.startswith(f"first version: {members} members")
        assert aws_stack.directory_model.get(cid).version == 1
    [v1] = admin.history("changmu")
    lines = CHANGMU.splitlines()
    assert [w.split(": warning: ")[0] for w in v1.warnings] == [
        f"changmu.yaml:{lines.index('    leader: m34') + 1}", f"changmu.yaml:{lines.index('    leader: m35') + 1}"]


def test_a_second_import_is_version_2_with_who_when_and_what_changed(aws_stack, admin, clock):
    before = aws_stack.directory().communities["changmu"]
    assert before.chain_for("changmu-02-3")[0].holder == "m11"          # m34 is away: m11 steps in

    result = admin.import_community({"changmu.yaml": CHANGMU_V2}, "yaml", "clerk 卓玛", community_id="changmu")

    assert (result.applied, result.version, result.previous_version) == (True, 2, 1)
    v2, v1 = admin.history("changmu")
    assert (v2.version, v2.actor, v2.created_at, v2.source) == (2, "clerk 卓玛", clock.now, "yaml changmu.yaml")
    assert v2.summary == ("members: 1 added (m47), 1 removed (m40), 1 changed (m05: phone); "
                          "stairwell leaders: b02-3 m34→m11")
    assert v2.changes["unit_leaders"] == {"b02-3": ["m34", "m11"]}
    assert v2.changes["members"] == {"added": ["m47"], "removed": ["m40"], "changed": {"m05": ["phone"]}}
    assert [w.split(": warning: ")[1].split(" leader")[0] for w in v2.warnings] == ["stairwell unit b11-2"]
    assert v1.version == 1
    # The old version is kept whole; the current one is what handlers read.
    assert Community.from_dict(admin._store.get_version("changmu", 1).document) == before
    assert aws_stack.directory_model.get("changmu").version == 2
    now = aws_stack.directory().communities["changmu"]          # this container's cache was invalidated
    assert now.units["b02-3"].leader_id == "m11" and "m47" in now.members and "m40" not in now.members
    assert now.members["m05"].phone == "+8613971041977"


def test_handlers_unchanged_directory_reader_sees_the_new_version(aws_stack, admin):
    from chalicelib.adapters.dynamo import DynamoDirectoryStore, build_directory_model

    admin.import_community(CHANGMU_V2, "yaml", "clerk")
    plain = DynamoDirectoryStore(build_directory_model("gridloop-local-directory", "us-east-1", None))
    assert plain.load().communities["changmu"].units["b02-3"].leader_id == "m11"


def test_an_import_that_changes_nothing_makes_no_new_version(aws_stack, admin):
    before = stored_items(aws_stack)
    result = admin.import_community({"changmu.yaml": CHANGMU}, "yaml", "clerk")
    assert (result.applied, result.changed, result.version, result.summary) == (False, False, 1, "no changes")
    assert admin.import_community(CHANGMU, "yaml", "clerk", dry_run=True).changed is False
    assert stored_items(aws_stack) == before


def test_a_dry_run_says_what_would_change_and_writes_nothing(aws_stack, admin):
    before = stored_items(aws_stack)
    result = admin.import_community(CHANGMU_V2, "yaml", "clerk", dry_run=True)
    assert (result.applied, result.changed, result.version) == (False, True, 2)
    assert "stairwell leaders: b02-3 m34→m11" in result.summary
    assert stored_items(aws_stack) == before


# -- atomic: a bad file changes nothing ------------------------------------------------------------

def test_a_bad_file_changes_nothing_and_names_every_problem(aws_stack, admin):
    before = stored_items(aws_stack)
    bad = edit(CHANGMU_V2, ("  grid: g3\n  leader: m22", "  grid: g7\n  leader: m22"),     # building 13
               ("    leader: m28\n- id: b20", "    leader:\n- id: b20"))                      # unit b19-3
    with pytest.raises(DirectoryImportError) as caught:
        admin.import_community({"changmu.yaml": bad}, "yaml", "clerk")
    lines = bad.splitlines()
    assert [(p.file, p.line, p.message.split(":")[0]) for p in caught.value.problems] == [
        ("changmu.yaml", lines.index("  grid: g7") + 1, "building b13"),
        ("changmu.yaml", lines.index("    leader:") + 1, "stairwell unit b19-3 has no leader (楼道长)"),
    ]
    assert stored_items(aws_stack) == before
    assert len(admin.history("changmu")) == 1


def test_a_member_of_another_community_is_refused_on_its_line(aws_stack, admin):
    before = stored_items(aws_stack)
    garang_phone = aws_stack.directory().member("garang", "m03").phone
    text = CHANGMU + NEW_MEMBER.replace("'+8613971400041'", f"'{garang_phone}'")
    with pytest.raises(DirectoryImportError) as caught:
        admin.import_community({"changmu.yaml": text}, "yaml", "clerk")
    [problem] = caught.value.problems
    assert problem.line == text.splitlines().index(f"  phone: '{garang_phone}'") + 1
    assert "belongs to member m03 (马永福) of community garang" in problem.message
    assert stored_items(aws_stack) == before


def test_a_file_of_another_community_is_refused(aws_stack, admin):
    with pytest.raises(DirectoryImportError, match="this file is the directory of 'garang', not of 'changmu'"):
        admin.import_community({"garang.yaml": GARANG}, "yaml", "clerk", community_id="changmu")


# -- concurrent imports ------------------------------------------------------------------------------

def test_when_another_import_commits_first_then_this_one_fails_cleanly(aws_stack, admin, monkeypatch):
    store = aws_stack.directory_store
    real_commit = store.commit
    rival = DirectoryAdmin(store)
    rival_text = edit(CHANGMU, ("    leader: m35", "    leader: m20"))

    def commit_after_a_rival(record, expected):
        monkeypatch.setattr(store, "commit", real_commit)
        rival.import_community(rival_text, "yaml", "clerk B")         # read after us, commits first
        real_commit(record, expected)

    monkeypatch.setattr(store, "commit", commit_after_a_rival)
    with pytest.raises(DirectoryConflict):
        admin.import_community(CHANGMU_V2, "yaml", "clerk A")
    assert [(v.version, v.actor) for v in admin.history("changmu")] == [(2, "clerk B"), (1, "devstack (demo data)")]
    current = Community.from_dict(aws_stack.directory_model.get("changmu").document)
    assert current == parse_yaml(rival_text).community                 # B's whole, none of A's


def test_after_an_unversioned_put_the_next_import_continues_the_history(aws_stack, admin):
    # put_community (kept for compatibility) overwrites without a version.
    admin.import_community(CHANGMU_V2, "yaml", "clerk")
    aws_stack.directory_store.put_community(parse_yaml(CHANGMU).community)
    assert aws_stack.directory_model.get("changmu").version is None
    result = admin.import_community(CHANGMU_V2, "yaml", "clerk")
    assert (result.applied, result.version) == (True, 3)


# -- export ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_export_gives_back_what_was_imported(aws_stack, admin, fmt):
    admin.import_community(CHANGMU_V2, "yaml", "clerk")
    exported = admin.export_community("changmu", fmt)
    files = {"changmu.yaml": exported} if fmt == "yaml" else exported
    assert parse(files, fmt).community == parse_yaml(CHANGMU_V2).community
    if fmt == "yaml":
        assert exported.startswith("# gridloop directory of 常牧家园 (changmu), version 2, exported ")
    old = admin.export_community("changmu", fmt, version=1)
    assert parse({"v1.yaml": old} if fmt == "yaml" else old, fmt).community == parse_yaml(CHANGMU).community


def test_an_old_version_exported_and_imported_again_is_a_rollback(aws_stack, admin):
    admin.import_community(CHANGMU_V2, "yaml", "clerk")
    result = admin.import_community(admin.export_community("changmu", "csv", version=1), "csv", "clerk")
    assert result.version == 3
    assert result.changes["unit_leaders"] == {"b02-3": ["m11", "m34"]}
    assert aws_stack.directory().communities["changmu"] == parse_yaml(CHANGMU).community


def test_exporting_an_unknown_community_or_version_says_so(admin):
    with pytest.raises(UnknownCommunity):
        admin.export_community("nowhere", "yaml")
    with pytest.raises(UnknownCommunity):
        admin.export_community("changmu", "yaml", version=9)


# -- the CLI ---------------------------------------------------------------------------------------------

def test_cli_exports_csv_that_a_clerk_edits_and_imports_as_version_2(aws_stack, tmp_path, capsys):
    folder = tmp_path / "changmu"
    assert cli(["export", "--community", "changmu", "--format", "csv", str(folder)]) == 0
    shipped = ROOT / "data/directory/csv/changmu"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {p.name: p.read_bytes() for p in shipped.iterdir()}

    units = folder / "units.csv"
    units.write_text(units.read_text(encoding="utf-8-sig").replace("b02,3,m34", "b02,3,m11"), encoding="utf-8-sig")
    assert cli(["import", "--community", "changmu", "--actor", "clerk 卓玛", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "local/changmu: version 2 applied: stairwell leaders: b02-3 m34→m11" in out

    assert cli(["history", "--community", "changmu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["v2", "v1"]
    assert "clerk 卓玛" in lines[0] and ("[csv buildings.csv, community.csv, grids.csv, households.csv, members.csv, "
                                         "teams.csv, units.csv]") in lines[0]
    assert aws_stack.directory_model.get("changmu").version == 2


def test_cli_prints_every_problem_with_its_line_and_changes_nothing(aws_stack, tmp_path, capsys):
    before = stored_items(aws_stack)
    files = export_csv(parse_yaml(CHANGMU).community)
    files["units.csv"] = files["units.csv"].replace("b01,2,m10", "b01,2,").replace("b03,1,m12", "b99,1,m12")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert cli(["import", "--community", "changmu", *(str(tmp_path / n) for n in files)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "units.csv:3: error: stairwell unit b01-2 has no leader (楼道长): every stairwell unit needs one" in err
    assert "units.csv:8: error: stairwell unit b99-1: unknown building 'b99' (not in the buildings)" in err
    assert err[-1] == "2 problem(s): nothing was changed."
    assert stored_items(aws_stack) == before


def test_cli_reads_a_gbk_csv_as_a_chinese_excel_saves_it(aws_stack, tmp_path, capsys):
    files = export_csv(parse_yaml(CHANGMU_V2).community)
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode("gb18030"))
    assert cli(["import", "--community", "changmu", "--actor", "clerk", str(tmp_path)]) == 0
    assert "read as GB18030" in capsys.readouterr().err
    assert aws_stack.directory_model.get("changmu").version == 2
    assert parse_csv(files).community == parse_yaml(CHANGMU_V2).community


def test_cli_yaml_round_trip_through_a_file_and_stdout(aws_stack, tmp_path, capsys):
    path = tmp_path / "changmu.yaml"
    path.write_text(CHANGMU_V2, encoding="utf-8")
    assert cli(["import", "--community", "changmu", "--dry-run", str(path)]) == 0
    assert "dry run, nothing written. Would make version 2" in capsys.readouterr().out
    assert aws_stack.directory_model.get("changmu").version == 1
    assert cli(["import", "--community", "changmu", str(path)]) == 0
    assert "local/changmu: version 2 applied" in capsys.readouterr().out
    assert cli(["import", "--community", "changmu", "--dry-run", str(path)]) == 0
    assert "local/changmu: no changes; it stays at version 2." in capsys.readouterr().out
    assert cli(["export", "--community", "changmu", "--format", "yaml"]) == 0
    assert parse_yaml(capsys.readouterr().out).community == parse_yaml(CHANGMU_V2).community


def test_cli_says_when_it_lost_a_race_and_needs_a_stage(aws_stack, tmp_path, capsys, monkeypatch):
    path = tmp_path / "changmu.yaml"
    path.write_text(CHANGMU_V2, encoding="utf-8")

    def lose(record, expected):
        raise DirectoryConflict("the directory changed")

    monkeypatch.setattr(aws_stack.directory_store, "commit", lose)
    assert cli(["import", "--community", "changmu", str(path)], container=aws_stack) == 3
    assert "Run the import again" in capsys.readouterr().err
    monkeypatch.delenv("GRIDLOOP_STAGE")
    assert cli(["history", "--community", "changmu"]) == 1
    assert "set GRIDLOOP_STAGE" in capsys.readouterr().err


# -- leave: a member away for a while -----------------------------------------------------------------

DEC_1, DEC_11 = 1796054400.0, 1796054400.0 + 10 * 86400      # 2026-12-01 and 2026-12-11, 00:00 Asia/Shanghai


def stored_community(stack, cid: str = "changmu") -> Community:
    return Community.from_dict(stack.directory_model.get(cid).document)


def test_cli_marks_a_member_on_leave_as_an_audited_version_and_clears_it(aws_stack, capsys):
    assert cli(["leave", "--community", "changmu", "--actor", "clerk 卓玛", "m10", "2026-12-01", "2026-12-10"]) == 0
    out = capsys.readouterr().out
    assert "local/changmu: version 2 applied: members: 1 changed (m10: leave)" in out
    assert "m10 (周毛) is on leave: 2026-12-01 – 2026-12-10" in out
    assert "warning" not in out
    m10 = stored_community(aws_stack).members["m10"]
    assert m10.leave == ((DEC_1, DEC_11),)
    assert (m10.available(DEC_1 - 1), m10.available(DEC_1), m10.available(DEC_11 - 1), m10.available(DEC_11)) == \
        (True, False, False, True)
    [v2, v1] = aws_stack.directory_admin.history("changmu")
    assert (v2.version, v2.actor, v2.source) == (2, "clerk 卓玛", "leave m10 2026-12-01 – 2026-12-10")
    assert v2.changes["members"]["changed"] == {"m10": ["leave"]}
    assert len(v2.warnings) == len(v1.warnings)                   # checked like any import
    exported = aws_stack.directory_admin.export_community("changmu", "yaml")
    assert "  leave:\n  - from: '2026-12-01'\n    to: '2026-12-10'\n" in exported

    # back early: from 2026-12-05 on, the leave is taken out
    assert cli(["leave", "--community", "changmu", "--clear", "--actor", "clerk",
                "m10", "2026-12-05", "2026-12-10"]) == 0
    assert "m10 (周毛) is on leave: 2026-12-01 – 2026-12-04" in capsys.readouterr().out
    assert cli(["leave", "--community", "changmu", "--clear", "--actor", "clerk", "m10"]) == 0
    out = capsys.readouterr().out
    assert "local/changmu: version 4 applied: members: 1 changed (m10: leave)" in out
    assert "m10 (周毛) is on leave: none" in out
    assert stored_community(aws_stack) == parse_yaml(CHANGMU).community        # as it was
    assert cli(["history", "--community", "changmu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["v4", "v3", "v2", "v1"]
    assert "[leave m10 cleared: all]" in lines[0] and "[leave m10 cleared: 2026-12-05 – 2026-12-10]" in lines[1]


def test_cli_leave_with_times_and_a_dry_run(aws_stack, capsys):
    before = stored_items(aws_stack)
    assert cli(["leave", "--community", "changmu", "--dry-run", "m06", "2026-12-01T08:30+08:00",
                "2026-12-01T18:00:00+08:00"]) == 0
    assert "dry run, nothing written. Would make version 2: members: 1 changed (m06: leave)" in \
        capsys.readouterr().out
    assert stored_items(aws_stack) == before
    assert cli(["leave", "--community", "changmu", "--actor", "clerk", "m06", "2026-12-01T08:30+08:00",
                "2026-12-01T18:00:00+08:00"]) == 0
    assert "m06 (赵永红) is on leave: 2026-12-01T08:30:00+08:00 – 2026-12-01T18:00:00+08:00" in \
        capsys.readouterr().out
    assert stored_community(aws_stack).members["m06"].leave == ((DEC_1 + 8.5 * 3600, DEC_1 + 18 * 3600),)
    # the same leave again changes nothing and makes no version
    assert cli(["leave", "--community", "changmu", "--actor", "clerk", "m06", "2026-12-01T08:30+08:00",
                "2026-12-01T18:00:00+08:00"]) == 0
    assert "local/changmu: no changes; it stays at version 2." in capsys.readouterr().out


@pytest.mark.parametrize("args, status, message", [
    (["m10", "2026-12-10", "2026-12-01"], 2, "leave of m10: 'to' 2026-12-01 is before 'from' 2026-12-10"),
    (["m10", "2026-12-01", "soon"], 2, "leave of m10: 'soon' is not a date"),
    (["m99", "2026-12-01", "2026-12-10"], 1, "no member 'm99' in the directory of changmu"),
    (["m10", "2026-12-01"], 1, "give FROM and TO"),
    (["m10"], 1, "give FROM and TO"),
], ids=["to-before-from", "not-a-date", "unknown-member", "no-to", "no-period"])
def test_cli_leave_refuses_a_bad_period_or_member_and_changes_nothing(aws_stack, capsys, args, status, message):
    before = stored_items(aws_stack)
    assert cli(["leave", "--community", "changmu", "--actor", "clerk", *args]) == status
    assert message in capsys.readouterr().err
    assert stored_items(aws_stack) == before


def test_cli_leave_for_an_unknown_community_says_so(aws_stack, capsys):
    assert cli(["leave", "--community", "nowhere", "m10", "2026-12-01", "2026-12-10"]) == 1
    assert "no community 'nowhere' in the directory" in capsys.readouterr().err


def test_a_leave_conflicts_when_an_import_commits_first_and_loses_nothing(aws_stack, admin, monkeypatch):
    # The leave is applied to the version it read: if someone imports meanwhile, the leave
    # fails (run it again) instead of silently undoing their import.
    store = aws_stack.directory_store
    real_commit = store.commit
    rival_text = edit(CHANGMU, ("    leader: m35", "    leader: m20"))

    def commit_after_a_rival(record, expected):
        monkeypatch.setattr(store, "commit", real_commit)
        DirectoryAdmin(store).import_community(rival_text, "yaml", "clerk B")
        real_commit(record, expected)

    monkeypatch.setattr(store, "commit", commit_after_a_rival)
    with pytest.raises(DirectoryConflict):
        admin.set_leave("changmu", "m10", (DEC_1, DEC_11), "clerk A")
    assert [(v.version, v.actor) for v in admin.history("changmu")] == [(2, "clerk B"), (1, "devstack (demo data)")]
    assert stored_community(aws_stack) == parse_yaml(rival_text).community
