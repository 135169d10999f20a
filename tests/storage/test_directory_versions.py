"""The directory with history (chalicelib/adapters/directory_versions.py) on both engines:
each import is one transaction that writes a history item and the current document only
if nobody committed since it was read, and checks every other community too; so two
imports at once cannot both win, and the history is never overwritten."""
from __future__ import annotations

import threading

import pytest

from chalicelib.domain.directory import Community
from chalicelib.domain.directory_io import parse_yaml
from chalicelib.services.directory_admin import DirectoryAdmin
from chalicelib.services.ports import DirectoryConflict, DirectoryVersion
from tests.functional.test_directory_admin import CHANGMU, CHANGMU_V2, GARANG, NEW_MEMBER, edit


@pytest.fixture
def versioned(bare_stack):
    """The demo directory imported as an operator would: version 1 of each community."""
    from devstack.resources import load_demo_directory

    load_demo_directory(bare_stack.directory_store)
    return bare_stack


def version_2(document: dict, actor: str = "clerk") -> DirectoryVersion:
    return DirectoryVersion("changmu", 2, 2000.0, actor, "yaml changmu.yaml", "v2", {"members": {}},
                            document=document)


def test_a_commit_becomes_the_current_document_and_the_newest_version(versioned):
    store = versioned.directory_store
    # GIVEN version 1 of each community
    before = store.snapshot()
    assert {cid: s.version for cid, s in before.items()} == {"changmu": 1, "garang": 1}
    assert store.latest_version("changmu") == 1
    # WHEN version 2 of changmu is committed against what was read
    document = parse_yaml(CHANGMU_V2).community.to_dict()
    store.commit(version_2(document), {cid: s.version for cid, s in before.items()})
    # THEN it is the current document, and the history lists it first, without documents
    after = store.snapshot()
    assert (after["changmu"].version, after["changmu"].document) == (2, document)
    assert [(v.version, v.actor, v.document) for v in store.history("changmu")] == [
        (2, "clerk", None), (1, "devstack (demo data)", None)]
    assert store.get_version("changmu", 1).document == before["changmu"].document
    assert store.get_version("changmu", 3) is None
    assert store.load().communities["changmu"] == Community.from_dict(document)


def test_a_commit_against_a_stale_read_is_a_conflict_and_writes_nothing(versioned):
    store = versioned.directory_store
    expected = {cid: s.version for cid, s in store.snapshot().items()}
    store.commit(version_2(parse_yaml(CHANGMU_V2).community.to_dict(), "clerk A"), expected)
    rival = DirectoryVersion("changmu", 3, 3000.0, "clerk B", "yaml changmu.yaml", "v3", {},
                             document=parse_yaml(CHANGMU).community.to_dict())
    # WHEN another commit comes with the versions read before version 2
    with pytest.raises(DirectoryConflict):
        store.commit(rival, expected)
    # THEN neither its history item nor its document was written
    assert [v.version for v in store.history("changmu")] == [2, 1]
    assert store.snapshot()["changmu"].version == 2


def test_the_history_is_append_only_an_existing_version_is_never_overwritten(versioned):
    store = versioned.directory_store
    expected = {cid: stored.version for cid, stored in store.snapshot().items()}
    forged = DirectoryVersion("changmu", 1, 0.0, "someone", "yaml x.yaml", "rewritten", {},
                              document=parse_yaml(CHANGMU_V2).community.to_dict())
    with pytest.raises(DirectoryConflict):
        store.commit(forged, expected)           # the current item's condition holds; version 1 exists
    [v1] = store.history("changmu")
    assert (v1.actor, v1.summary.startswith("first version")) == ("devstack (demo data)", True)
    assert versioned.directory_model.get("changmu").version == 1


def test_two_imports_at_the_same_time_one_wins_and_one_conflicts(versioned, monkeypatch):
    store = versioned.directory_store
    both_read = threading.Barrier(2, timeout=20)
    real_snapshot = store.snapshot

    def snapshot_then_wait():
        taken = real_snapshot()
        both_read.wait()               # neither commits before both have read version 1
        return taken

    monkeypatch.setattr(store, "snapshot", snapshot_then_wait)
    outcomes: dict[str, object] = {}
    texts = {"A": CHANGMU_V2, "B": edit(CHANGMU, ("    leader: m35", "    leader: m20"))}

    def run(name: str) -> None:
        try:
            outcomes[name] = DirectoryAdmin(store).import_community(texts[name], "yaml", f"clerk {name}").version
        except DirectoryConflict as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=(name,)) for name in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(o).__name__ for o in outcomes.values()) == ["DirectoryConflict", "int"]
    [winner] = [name for name, o in outcomes.items() if o == 2]
    monkeypatch.setattr(store, "snapshot", real_snapshot)
    assert [(v.version, v.actor) for v in DirectoryAdmin(store).history("changmu")][0] == (2, f"clerk {winner}")
    assert Community.from_dict(versioned.directory_model.get("changmu").document) == \
        parse_yaml(texts[winner]).community


def test_a_phone_given_to_another_community_meanwhile_makes_this_import_conflict(versioned, monkeypatch):
    # Each import alone is valid; both together would put one phone in two communities,
    # and then every handler's directory load would fail. The transaction checks that the
    # other communities are still at the versions the import was validated against.
    store = versioned.directory_store
    real_commit = store.commit
    phone = "+8613971400041"
    garang_text = GARANG + NEW_MEMBER.replace("m47", "m10")

    def commit_after_garang(record, expected):
        monkeypatch.setattr(store, "commit", real_commit)
        DirectoryAdmin(store).import_community(garang_text, "yaml", "garang clerk")
        real_commit(record, expected)

    monkeypatch.setattr(store, "commit", commit_after_garang)
    with pytest.raises(DirectoryConflict):
        DirectoryAdmin(store).import_community(CHANGMU + NEW_MEMBER, "yaml", "changmu clerk")
    directory = store.load()                                      # still loads: no phone twice
    assert directory.member_by_phone(phone).community_id == "garang"
    assert len(DirectoryAdmin(store).history("changmu")) == 1
