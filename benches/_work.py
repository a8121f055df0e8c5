"""The workloads, one function per (section, library family). Each returns what the caller
needs to check the result; none of them times anything.

loro and loro_c share one code path (same public API); pycrdt has its own, with UTF-8 byte
positions (see ``Trace.utf8_txns``).
"""
import random


# ---------------------------------------------------------------------------------------
# 1. local apply

def apply_loro(lib, trace, per_txn=False, on_doc=None):
    """Fresh doc, every patch of `trace` through LoroText.insert/delete. One commit at the
    end, or (per_txn) one commit after each trace transaction. `on_doc(doc)` runs first
    (e.g. to subscribe; what it returns is kept alive for the replay). Returns (doc, text)."""
    doc = lib.LoroDoc()
    doc.peer_id = 1
    keep = on_doc(doc) if on_doc is not None else None  # noqa: F841 (alive for the replay)
    text = doc.get_text("text")
    insert = text.insert
    delete = text.delete
    if per_txn:
        commit = doc.commit
        for txn in trace.txns:
            for pos, n_del, ins in txn:
                if n_del:
                    delete(pos, n_del)
                if ins:
                    insert(pos, ins)
            commit()
    else:
        for pos, n_del, ins in trace.patches:
            if n_del:
                delete(pos, n_del)
            if ins:
                insert(pos, ins)
        doc.commit()
    return doc, text.to_string()


def apply_pycrdt(pycrdt, trace):
    """pycrdt: one transaction per trace transaction (UTF-8 byte positions), whatever the
    commit mode asked of loro. Returns (doc, text).

    Not one transaction for the whole trace: Yrs merges blocks only when a transaction
    ends, so a 260k-edit transaction makes every positional lookup scan all the unmerged
    blocks (about 200 s for automerge-paper instead of about 15 s).
    """
    doc = pycrdt.Doc(client_id=1)
    text = doc.get("text", type=pycrdt.Text)
    insert = text.insert
    transaction = doc.transaction
    for patches in trace.utf8_txns:
        if len(patches) == 1 and not (patches[0][1] and patches[0][2]):
            # a lone insert or delete: its own implicit transaction is the same thing,
            # without the cost of an explicit context manager
            pos, n_del, ins = patches[0]
            if n_del:
                del text[pos:pos + n_del]
            else:
                insert(pos, ins)
            continue
        with transaction():
            for pos, n_del, ins in patches:
                if n_del:
                    del text[pos:pos + n_del]
                if ins:
                    insert(pos, ins)
    return doc, str(text)


def apply_fn(name, module, trace, per_txn=False):
    """Zero-argument callable replaying `trace` with library `name`; returns (doc, text)."""
    if name == "pycrdt":
        return lambda: apply_pycrdt(module, trace)
    return lambda: apply_loro(module, trace, per_txn)


# ---------------------------------------------------------------------------------------
# 2./3. export and import of the full history

def export_all(name, module, doc):
    """All of `doc`'s history as one binary update blob."""
    if name == "pycrdt":
        return doc.get_update()
    return doc.export(module.ExportMode.Updates(module.VersionVector()))


def import_all(name, module, blobs):
    """A fresh doc imports each blob of `blobs` in order; returns the materialised text."""
    if name == "pycrdt":
        doc = module.Doc()
        text = doc.get("text", type=module.Text)
        for blob in blobs:
            doc.apply_update(blob)
        return str(text)
    doc = module.LoroDoc()
    text = doc.get_text("text")
    for blob in blobs:
        doc.import_(blob)
    return text.to_string()


# ---------------------------------------------------------------------------------------
# 4. concurrent traces: one peer per agent

class ReplayError(Exception):
    pass


def _missing_ancestors(txns, seen, parents, last_own):
    """Indexes of the ancestors of a txn (given its `parents`) not in `seen`, marking them
    seen; ascending, which is a causal order. Raises ReplayError when the agent's own
    previous txn `last_own` is not an ancestor (the agent's doc would then hold edits the
    txn's positions do not account for, and replaying would need a fork)."""
    missing = []
    stack = list(parents)
    reached = last_own < 0
    while stack:
        x = stack.pop()
        if seen[x]:
            if x == last_own:
                reached = True
            continue
        seen[x] = 1
        missing.append(x)
        stack.extend(txns[x][0])
    if not reached:
        raise ReplayError("an agent's next txn does not descend from its previous one")
    missing.sort()
    return missing


def replay_concurrent(name, module, ctrace):
    """Replay a concurrent trace with one doc per agent (untimed preparation for the merge
    benchmark). Each txn is applied on its agent's doc after importing the per-txn blobs of
    every ancestor that agent has not seen; right after the txn (commit), its own blob is
    exported from the version before it. Returns (per-agent full-history blobs, per-txn
    blobs)."""
    txns = ctrace.txns
    n_agents = ctrace.num_agents
    blobs = [None] * len(txns)
    seen = [bytearray(len(txns)) for _ in range(n_agents)]
    last = [-1] * n_agents
    if name == "pycrdt":
        if not ctrace.ascii:
            raise ReplayError("pycrdt replay needs UTF-8 positions; trace is not ASCII")
        docs = [module.Doc(client_id=a + 1) for a in range(n_agents)]
        texts = [d.get("text", type=module.Text) for d in docs]
        for i, (parents, agent, patches) in enumerate(txns):
            doc, text = docs[agent], texts[agent]
            for x in _missing_ancestors(txns, seen[agent], parents, last[agent]):
                doc.apply_update(blobs[x])
            state = doc.get_state()
            with doc.transaction():
                for pos, n_del, ins in patches:
                    if n_del:
                        del text[pos:pos + n_del]
                    if ins:
                        text.insert(pos, ins)
            blobs[i] = doc.get_update(state)
            seen[agent][i] = 1
            last[agent] = i
        return [d.get_update() for d in docs], blobs
    Updates = module.ExportMode.Updates
    docs = []
    for a in range(n_agents):
        d = module.LoroDoc()
        d.peer_id = a + 1
        docs.append(d)
    texts = [d.get_text("text") for d in docs]
    for i, (parents, agent, patches) in enumerate(txns):
        doc, text = docs[agent], texts[agent]
        for x in _missing_ancestors(txns, seen[agent], parents, last[agent]):
            doc.import_(blobs[x])
        vv = doc.oplog_vv
        for pos, n_del, ins in patches:
            if n_del:
                text.delete(pos, n_del)
            if ins:
                text.insert(pos, ins)
        doc.commit()
        blobs[i] = doc.export(Updates(vv))
        seen[agent][i] = 1
        last[agent] = i
    return [d.export(Updates(module.VersionVector())) for d in docs], blobs


# ---------------------------------------------------------------------------------------
# 5. many small updates

SMALL_VARIANTS = ("typing at end", "random positions")


def small_edits(variant, n, seed=1234):
    """[(code point position, one-character string)] for `n` one-character inserts into an
    initially empty text. ASCII only, so the positions are valid for pycrdt as they are."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz "
    out = []
    for i in range(n):
        pos = i if variant == "typing at end" else rng.randint(0, i)
        out.append((pos, letters[i % len(letters)]))
    return out


def small_roundtrips(name, module, edits):
    """Doc A makes each edit, commits, exports the update since its version before the edit;
    doc B imports it. Returns (total update bytes, text of A, text of B)."""
    total = 0
    if name == "pycrdt":
        a = module.Doc(client_id=1)
        b = module.Doc(client_id=2)
        ta = a.get("text", type=module.Text)
        tb = b.get("text", type=module.Text)
        get_state, get_update, apply_update = a.get_state, a.get_update, b.apply_update
        insert = ta.insert
        for pos, ch in edits:
            state = get_state()
            insert(pos, ch)
            update = get_update(state)
            apply_update(update)
            total += len(update)
        return total, str(ta), str(tb)
    a = module.LoroDoc()
    a.peer_id = 1
    b = module.LoroDoc()
    b.peer_id = 2
    ta = a.get_text("text")
    tb = b.get_text("text")
    Updates = module.ExportMode.Updates
    insert, commit, export, import_ = ta.insert, a.commit, a.export, b.import_
    for pos, ch in edits:
        vv = a.oplog_vv
        insert(pos, ch)
        commit()
        update = export(Updates(vv))
        import_(update)
        total += len(update)
    return total, ta.to_string(), tb.to_string()


# ---------------------------------------------------------------------------------------
# 7. scaling

def scaled_patches(trace, n_ops):
    """The first `n_ops` patches of `trace` repeated; repetition k has its positions offset
    by the length of the document before it (k * len(endContent)), so each repetition
    edits a fresh copy appended at the end. Returns (patches, expected final text or None
    when the last repetition is cut short)."""
    base_len = len(trace.end)
    src = trace.patches
    out = []
    k = 0
    while len(out) < n_ops:
        off = k * base_len
        take = min(len(src), n_ops - len(out))
        if off:
            out.extend([(pos + off, n_del, ins) for pos, n_del, ins in src[:take]])
        else:
            out.extend(src[:take])
        k += 1
    full = n_ops % len(src) == 0
    return out, (trace.end * k if full else None)


def apply_patches_loro(lib, patches):
    """Fresh doc, `patches` through the text API, one commit. Returns the text."""
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    insert = text.insert
    delete = text.delete
    for pos, n_del, ins in patches:
        if n_del:
            delete(pos, n_del)
        if ins:
            insert(pos, ins)
    doc.commit()
    return text.to_string()


# ---------------------------------------------------------------------------------------
# 8. thread scaling: N threads, each importing into documents of its own

def threaded_imports(module, blob, n_threads, per_thread):
    """Start `n_threads` threads together; each imports `blob` into `per_thread` fresh
    documents of its own (materialising the text). Returns the texts (for checking)."""
    import threading
    barrier = threading.Barrier(n_threads)
    texts, errors = [], []

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                doc = module.LoroDoc()
                text = doc.get_text("text")
                doc.import_(blob)
                texts.append(text.to_string())
        except BaseException as exc:    # re-raised in the measuring thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return texts


# 8. many peers

def many_peer_history(lib, n_peers, per_peer, seed=7, replicas=1, sync_every=25):
    """A long-lived document edited in many sessions, each with its own peer id (as Loro
    recommends): `n_peers` peers make `per_peer` commits each, in random order, each a
    random text insert/delete or map set on top of the document's frontier. With
    `replicas` > 1 the commits land on that many replicas, which sync one random pair every
    `sync_every` commits and all at the end (concurrent history). Returns the update blob of
    the whole history and the final text."""
    rng = random.Random(seed)
    docs = [lib.LoroDoc() for _ in range(replicas)]
    lengths = [0] * replicas
    peers = [rng.getrandbits(62) + 1 for _ in range(n_peers)]
    order = [p for p in peers for _ in range(per_peer)]
    rng.shuffle(order)
    # a session lives on one replica (two replicas must never commit as the same peer)
    home = {p: rng.randrange(replicas) for p in peers}
    for i, p in enumerate(order):
        if replicas > 1 and i % sync_every == sync_every - 1:
            a, b = rng.sample(range(replicas), 2)
            docs[b].import_(docs[a].export(lib.ExportMode.Updates(docs[b].oplog_vv)))
            lengths[b] = len(docs[b].get_text("text").to_string())
        ri = home[p]
        doc = docs[ri]
        text, kv = doc.get_text("text"), doc.get_map("map")
        length = lengths[ri]
        doc.peer_id = p
        r = rng.random()
        if r < 0.2 and length > 20:
            k = rng.randint(1, 5)
            text.delete(rng.randrange(length - k), k)
            length -= k
        elif r < 0.7:
            s = "".join(rng.choice("abcdefgh ") for _ in range(rng.randint(1, 8)))
            text.insert(rng.randint(0, length), s)
            length += len(s)
        else:
            kv.insert(f"k{rng.randrange(64)}", rng.randrange(1000))
        doc.commit()
        lengths[ri] = length
    doc = docs[0]
    for other in docs[1:]:
        doc.import_(other.export(lib.ExportMode.Updates(doc.oplog_vv)))
    return doc.export(lib.ExportMode.Updates(lib.VersionVector())), doc.get_text("text").to_string()


def import_blob(lib, blob):
    """A fresh doc imports `blob` and materialises its text. Returns (doc, text)."""
    doc = lib.LoroDoc()
    doc.import_(blob)
    return doc, doc.get_text("text").to_string()


def edit_export_rounds(lib, doc, n, seed=11):
    """`n` times on `doc`: read the version, insert a character, commit, export the update
    since that version (what a server does for each local edit it relays). Returns the
    total bytes exported."""
    rng = random.Random(seed)
    doc.peer_id = rng.getrandbits(62) + 1
    text = doc.get_text("text")
    length = len(text.to_string())
    total = 0
    for _ in range(n):
        vv = doc.oplog_vv
        text.insert(rng.randint(0, length), "x")
        length += 1
        doc.commit()
        total += len(doc.export(lib.ExportMode.Updates(vv)))
    return total
