"""Structural invariants of the core (B-trees, atom index, tracker records) after random local
edits and random concurrent merges, plus import atomicity and pending changes."""
import json
import os
import random

import pytest

import loro
import loro_c

ROUNDS = int(os.environ.get("LORO_C_INVARIANT_ROUNDS", "12"))
ALPHABET = "abcxyz é😀中"


def random_text_edit(rng, text, model):
    n = len(model)
    if n == 0 or rng.random() < 0.6:
        pos = rng.choice([0, n, rng.randint(0, n)])
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4)))
        text.insert(pos, s)
        return model[:pos] + s + model[pos:]
    pos = rng.randint(0, n - 1)
    k = rng.randint(1, min(6, n - pos))
    text.delete(pos, k)
    return model[:pos] + model[pos + k:]


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_local_edits_keep_invariants(seed):
    """Thousands of local edits: the text matches a str model and every checker passes, through
    leaf and internal-node splits."""
    rng = random.Random(seed)
    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    model = ""
    for step in range(2500):
        model = random_text_edit(rng, text, model)
        if rng.random() < 0.2:
            doc.commit()
        if step % 250 == 0:
            doc._check_invariants()
            assert text.to_string() == model
    doc._check_invariants()
    assert text.to_string() == model
    assert text.len_utf8 == len(model.encode("utf-8"))
    assert text.len_utf16 == len(model.encode("utf-16-le")) // 2


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_concurrent_merges_keep_invariants(seed):
    """Peers edit concurrently and merge often, so the tracker retreats and advances across
    split spans; after each merge the checkers pass and the result equals loro's."""
    rng = random.Random(1000 + seed)
    n = rng.randint(2, 4)
    peers = sorted({rng.randrange(1, 2**64 - 1) for _ in range(n)})
    n = len(peers)
    ours, theirs = [], []
    for p in peers:
        a, b = loro_c.LoroDoc(), loro.LoroDoc()
        a.peer_id = b.peer_id = p
        ours.append(a)
        theirs.append(b)
    for step in range(300):
        i = rng.randrange(n)
        if rng.random() < 0.15:
            j = rng.randrange(n)
            if i != j:
                for docs in (ours, theirs):
                    docs[j].commit()
                    docs[i].commit()
                    docs[j].import_json_updates(docs[i].export_json_updates(docs[j].oplog_vv, docs[i].oplog_vv))
                ours[j]._check_invariants()
                assert ours[j].get_deep_value() == theirs[j].get_deep_value()
            continue
        t_ours, t_theirs = ours[i].get_text("t"), theirs[i].get_text("t")
        lst_ours, lst_theirs = ours[i].get_list("l"), theirs[i].get_list("l")
        m = len(t_theirs.to_string())
        r = rng.random()
        if r < 0.45 or m == 0:
            pos = rng.randint(0, m)
            s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5)))
            t_ours.insert(pos, s)
            t_theirs.insert(pos, s)
        elif r < 0.7:
            pos = rng.randint(0, m - 1)
            k = rng.randint(1, min(5, m - pos))
            t_ours.delete(pos, k)
            t_theirs.delete(pos, k)
        elif r < 0.9 or len(lst_theirs) == 0:
            pos = rng.randint(0, len(lst_theirs))
            v = rng.randint(-5, 5)
            lst_ours.insert(pos, v)
            lst_theirs.insert(pos, v)
        else:
            pos = rng.randrange(len(lst_theirs))
            lst_ours.delete(pos, 1)
            lst_theirs.delete(pos, 1)
    final_ours, final_theirs = loro_c.LoroDoc(), loro.LoroDoc()
    for a, b in zip(ours, theirs):
        a.commit()
        b.commit()
        final_ours.import_json_updates(a.export_json_updates(loro_c.VersionVector(), a.oplog_vv))
        final_theirs.import_json_updates(b.export_json_updates(loro.VersionVector(), b.oplog_vv))
    final_ours._check_invariants()
    assert final_ours.get_deep_value() == final_theirs.get_deep_value()


def _two_change_updates():
    """JSON updates of two changes: a good one, then one whose delete does not fit."""
    src = loro.LoroDoc()
    src.peer_id = 5
    src.get_text("t").insert(0, "hello")
    src.commit()
    src.get_text("t").delete(1, 2)
    src.commit()
    src.get_map("m").insert("k", 1)
    src.commit()
    data = json.loads(src.export_json_updates(loro.VersionVector(), src.oplog_vv))
    return data


def test_import_is_all_or_nothing_when_a_later_op_does_not_fit():
    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    doc.get_text("t").insert(0, "abc")
    doc.get_map("m").insert("x", [1, 2])
    doc.commit()
    before_value, before_vv = doc.get_deep_value(), doc.oplog_vv
    data = _two_change_updates()
    ops = data["changes"][0]["ops"]
    # the delete is the second op; make it reach past the text at its version
    delete = next(o for o in ops if o["content"]["type"] == "delete")
    delete["content"]["pos"] = 40
    with pytest.raises(loro_c.DecodeError):
        doc.import_json_updates(json.dumps(data))
    assert doc.get_deep_value() == before_value
    assert doc.oplog_vv == before_vv
    doc._check_invariants()
    # the document still works and converges afterwards
    doc.get_text("t").insert(3, "!")
    doc.commit()
    other = loro.LoroDoc()
    other.import_json_updates(doc.export_json_updates(loro_c.VersionVector(), doc.oplog_vv))
    assert other.get_deep_value() == doc.get_deep_value() == {"t": "abc!", "m": {"x": [1, 2]}}


def test_import_rejects_container_type_confusion_atomically():
    doc = loro_c.LoroDoc()
    doc.get_text("t").insert(0, "abc")
    doc.commit()
    before = doc.get_deep_value()
    data = _two_change_updates()
    data["changes"][0]["ops"][0]["container"] = "cid:root-t:List"
    with pytest.raises(loro_c.LoroError):
        doc.import_json_updates(json.dumps(data))
    assert doc.get_deep_value() == before
    doc._check_invariants()


def test_pending_changes_apply_when_dependencies_arrive():
    src = loro.LoroDoc()
    src.peer_id = 9
    text = src.get_text("t")
    chunks = []
    vv = loro.VersionVector()
    for word in ["one ", "two ", "three"]:
        text.insert(len(text.to_string()), word)
        src.commit()
        chunks.append(src.export_json_updates(vv, src.oplog_vv))
        vv = src.oplog_vv
    doc, ref = loro_c.LoroDoc(), loro.LoroDoc()
    status = doc.import_json_updates(chunks[2])
    ref.import_json_updates(chunks[2])
    assert status.pending is not None and status.pending.inner() == {9: (8, 13)}
    assert doc.get_deep_value() == ref.get_deep_value()  # the root shows up empty, as in loro
    status = doc.import_json_updates(chunks[1])
    assert status.pending is not None
    status = doc.import_json_updates(chunks[0])
    assert status.pending is None
    assert doc.get_text("t").to_string() == "one two three"
    doc._check_invariants()
    # duplicates are ignored
    for c in chunks:
        doc.import_json_updates(c)
    assert doc.get_text("t").to_string() == "one two three"
    assert doc.len_ops == src.len_ops


def test_partially_known_change_is_trimmed():
    """A change overlapping what the receiver has is applied from the first unknown op."""
    src = loro.LoroDoc()
    src.peer_id = 3
    src.get_text("t").insert(0, "abcdef")
    src.commit()
    first = src.export_json_updates(loro.VersionVector(), src.oplog_vv)
    src.get_text("t").delete(1, 2)
    src.get_text("t").insert(0, "XY")
    src.commit()
    everything = src.export_json_updates(loro.VersionVector(), src.oplog_vv)
    doc = loro_c.LoroDoc()
    doc.import_json_updates(first)
    # `everything` is one merged change covering what doc already has plus new ops
    doc.import_json_updates(everything)
    assert doc.get_text("t").to_string() == src.get_text("t").to_string()
    doc._check_invariants()


def _ops_shape(lib, doc):
    data = json.loads(doc.export_json_updates(lib.VersionVector(), doc.oplog_vv))
    return [(ch["id"], ch["msg"], [(o["counter"], o["content"]) for o in ch["ops"]])
            for ch in data["changes"]]


@pytest.mark.parametrize("script", ["typing", "backspace", "forward_delete", "list_push", "messages"])
def test_ops_merge_across_commits_like_loro(script):
    """Consecutive edits committed one by one fold into the same ops as in loro, and a commit
    that cannot join the previous change (another message) gets its ops back."""
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 11
        t = doc.get_text("t")
        lst = doc.get_list("l")
        t.insert(0, "hello world")
        doc.commit()
        for i in range(6):
            if script == "typing":
                t.insert(11 + i, "abcdef"[i])
            elif script == "backspace":
                t.delete(10 - i, 1)
            elif script == "forward_delete":
                t.delete(2, 1)
            elif script == "list_push":
                lst.push(i)
            else:
                t.insert(11 + i, "x")
                if i % 2:
                    doc.set_next_commit_message(f"m{i}")
            doc.commit()
        return _ops_shape(lib, doc), doc.get_deep_value(), doc.len_changes
    ours, ref = run(loro_c), run(loro)
    assert ours == ref


def test_backspaced_runs_fold_back_into_one_span():
    """Typing a word and backspacing it leaves one deleted run, not one span per key."""
    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    t = doc.get_text("t")
    t.insert(0, "keep ")
    for i, ch in enumerate("mistake"):
        t.insert(5 + i, ch)
        doc.commit()
    for i in range(len("mistake")):
        t.delete(t.len_unicode - 1, 1)
        doc.commit()
    doc._check_invariants()
    assert t.to_string() == "keep "
    stats = doc._stats()
    assert stats["spans"] == 2          # "keep " and the deleted "mistake"
    assert stats["records"] <= 3


def test_get_container_returns_the_same_container():
    doc = loro_c.LoroDoc()
    child = doc.get_map("m").insert_container("c", loro_c.LoroList())
    child.push(1)
    again = doc.get_container(child.id)
    assert again == child and again.get_value() == [1]
    assert doc.has_container(child.id)
    missing = loro_c.ContainerID.Normal(99, 0, loro_c.ContainerType.Text())
    assert doc.get_container(missing) is None and not doc.has_container(missing)


@pytest.mark.parametrize("mod", [loro, loro_c], ids=["loro", "loro_c"])
def test_get_container_of_a_root_id_gives_the_root(mod):
    # a root id always names a container: get_container registers it as get_text does
    doc = mod.LoroDoc()
    text = doc.get_container(mod.ContainerID.Root("t", mod.ContainerType.Text()))
    assert type(text).__name__ == "LoroText"
    text.insert(0, "ab")
    assert doc.get_text("t").to_string() == "ab" and doc.get_deep_value() == {"t": "ab"}
    counter = doc.get_container(mod.ContainerID.Root("c", mod.ContainerType.Counter()))
    counter.increment(2)
    assert doc.get_deep_value() == {"t": "ab", "c": 2.0}
    # a root of a kind the library does not know: a handle with its id and document
    uid = mod.ContainerID.Root("u", mod.ContainerType.Unknown(7))
    unknown = doc.get_container(uid)
    assert type(unknown).__name__ == "LoroUnknown"
    assert unknown.id == uid and unknown.doc() is not None
    assert doc.get_container(mod.ContainerID.Normal(5, 1, mod.ContainerType.Unknown(7))) is None


def test_get_container_refuses_what_is_not_an_id():
    doc = loro_c.LoroDoc()
    with pytest.raises(loro_c.LoroTypeError, match="ContainerID"):
        doc.get_container("t")
    assert doc.get_deep_value() == {}
