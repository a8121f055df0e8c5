"""Differential tests: random multi-peer sessions replayed in `loro` (oracle) and `loro_c`.

Every session is driven by one seeded ``random.Random``. Random choices are made from the
oracle's state only, then the same operation is applied to both libraries, so the two runs
see the same script as long as they agree. Checked:

* after every local op: the edited peer's deep value (and the op's return value);
* after every sync: the receiving peer's deep value and version vector;
* at the end: all peers fully synced, identical deep values across peers and libraries,
  equal ``oplog_vv``; and JSON crossing (loro_c's export imported by loro and vice versa).

Some syncs are "crossed": loro_c's export is imported by the oracle's peer and the oracle's
export by loro_c's peer. Failures name the seed; rerun one with
``LORO_C_DIFF_SEEDS=17 python -m pytest -q tests/test_differential.py``.
``LORO_C_DIFF_SESSIONS=N`` runs seeds 0..N-1 (default 300).

JSON is lossy for bytes (they come back as a list of ints, spec 5.4), so values are compared
exactly between the two libraries for the same peer, but with bytes normalised to lists
across peers.
"""
import os
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)  # index 0: oracle, 1: system under test


def _seeds():
    explicit = os.environ.get("LORO_C_DIFF_SEEDS")
    if explicit:
        return [int(s) for s in explicit.replace(",", " ").split()]
    return list(range(int(os.environ.get("LORO_C_DIFF_SESSIONS", "300"))))


# --------------------------------------------------------------------------------------
# value helpers

def canon(v, bytes_as_list=False):
    """A type-tagged, order-insensitive form of a LoroValue (True != 1, 1 != 1.0)."""
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("float", v)
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, (bytes, bytearray)):
        if bytes_as_list:
            return ("list", tuple(("int", b) for b in v))
        return ("bytes", bytes(v))
    if isinstance(v, (list, tuple)):
        return ("list", tuple(canon(x, bytes_as_list) for x in v))
    if isinstance(v, dict):
        return ("map", tuple(sorted((k, canon(x, bytes_as_list)) for k, x in v.items())))
    if isinstance(v, (loro.ContainerID, loro_c.ContainerID)):
        # e.g. LoroList.pop() of a child container returns its ContainerID
        return ("cid", getattr(v, "peer", None), getattr(v, "counter", None),
                getattr(v, "name", None))
    return ("other", type(v).__name__, repr(v))


def unwrap(v):
    """ValueOrContainer -> the container or the plain value."""
    c = getattr(v, "container", None)
    if c is not None:
        return c
    if type(v).__name__.startswith("ValueOrContainer"):
        return v.value
    return v


def kind_of(obj):
    return {
        "LoroText": "text",
        "LoroList": "list",
        "LoroMap": "map",
        "LoroCounter": "counter",
    }.get(type(obj).__name__)


def vv_dict(vv, peers):
    return {p: vv.get_last(p) for p in peers if vv.get_last(p) is not None}


def brief(v, limit=300):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


class Mismatch(AssertionError):
    pass


# --------------------------------------------------------------------------------------
# random content

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJ     \n"
    "éßü"            # 2-byte UTF-8
    "中文字"          # 3-byte UTF-8, CJK
    "😀𝄞🎉"           # non-BMP: 4-byte UTF-8, 2 UTF-16 units
)
MAP_KEYS = ("a", "b", "c", "key", "ké", "😀")
INNER_KEYS = ("x", "y", "z")
FLOATS = (0.5, -1.25, 3.141592653589793, 1e100, -2.5e-8, 0.1, 1234.0)
COUNTER_DELTAS = (1, 2, 3, -1, 7, 0.5, 1.25, -2.75, 10.0)  # dyadic: sums are exact
CONTAINER_KINDS = ("text", "list", "map", "counter")


def rand_text(rng):
    n = rng.choice((1, 1, 1, 2, 3, 5)) if rng.random() < 0.9 else rng.randint(6, 30)
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def rand_value(rng, depth=0):
    r = rng.random()
    if r < 0.2:
        return rng.choice((0, 1, -1, 42, 2**31, -(2**40), 2**62 + 12345, -(2**63), 2**63 - 1))
    if r < 0.32:
        return rng.choice(FLOATS)
    if r < 0.5:
        return rand_text(rng)
    if r < 0.56:
        return None
    if r < 0.64:
        return rng.random() < 0.5
    if r < 0.72:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 4)))
    if depth >= 2:
        return rng.randint(-5, 5)
    if r < 0.86:
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(INNER_KEYS): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


# --------------------------------------------------------------------------------------
# operations
#
# An op is (path, method, args). path = (kind, root_name, steps) where steps is a tuple of
# ("k", key) / ("i", index) hops through nested containers. An argument ("new", kind) means
# "a fresh detached container of that kind from the same library".

ROOTS = {"text": ("text", "text", ()), "list": ("list", "list", ()),
         "map": ("map", "map", ()), "counter": ("counter", "counter", ())}


def touch_roots(doc):
    """Create the four root handles. In loro a root shows up in get_deep_value() once it
    has been fetched, so every doc, in both libraries, fetches all of them up front."""
    doc.get_text("text")
    doc.get_list("list")
    doc.get_map("map")
    doc.get_counter("counter")
    return doc


def resolve(lib, doc, path):
    kind, name, steps = path
    c = getattr(doc, "get_" + kind)(name)
    for hop, key in steps:
        c = unwrap(c.get(key))
    return c


def materialise(lib, arg):
    if isinstance(arg, tuple) and len(arg) == 2 and arg[0] == "new":
        return {"text": lib.LoroText, "list": lib.LoroList,
                "map": lib.LoroMap, "counter": lib.LoroCounter}[arg[1]]()
    return arg


def nested_containers(doc):
    """Paths of the containers nested in the root map and root list (oracle doc)."""
    found = []

    def walk(c, path_prefix, steps, depth):
        k = kind_of(c)
        if k == "map":
            for key in sorted(c.keys()):
                child = unwrap(c.get(key))
                ck = kind_of(child)
                if ck:
                    s = steps + (("k", key),)
                    found.append((ck, path_prefix, s))
                    if depth < 3:
                        walk(child, path_prefix, s, depth + 1)
        elif k == "list":
            n = len(c)
            for i in range(n):
                child = unwrap(c.get(i))
                ck = kind_of(child)
                if ck:
                    s = steps + (("i", i),)
                    found.append((ck, path_prefix, s))
                    if depth < 3:
                        walk(child, path_prefix, s, depth + 1)

    walk(doc.get_map("map"), ("map", "map"), (), 0)
    walk(doc.get_list("list"), ("list", "list"), (), 0)
    return [((prefix[0], prefix[1], steps), k) for k, prefix, steps in found]


class PeerCursor:
    def __init__(self):
        self.pos = 0


def gen_text_op(rng, t, cursor):
    n = t.len_unicode
    r = rng.random()
    if n == 0 or r < 0.55:
        # insert: mostly continue typing at the cursor, sometimes jump
        pos = cursor.pos if (rng.random() < 0.6 and cursor.pos <= n) else rng.randint(0, n)
        s = rand_text(rng)
        cursor.pos = pos + len(s)
        sub = rng.random()
        if sub < 0.08:
            return "insert_utf8", (len(t.to_string()[:pos].encode("utf-8")), s)
        if sub < 0.16:
            return "insert_utf16", (len(t.to_string()[:pos].encode("utf-16-le")) // 2, s)
        return "insert", (pos, s)
    if r < 0.9:
        # delete: forward, backspace, or a range
        kind = rng.random()
        if kind < 0.4:
            pos = min(cursor.pos, n - 1) if rng.random() < 0.6 else rng.randrange(n)
            length = 1
        elif kind < 0.75:
            pos = (min(cursor.pos, n) - 1) if (rng.random() < 0.6 and cursor.pos > 0) \
                else rng.randrange(n)
            length = 1
        else:
            pos = rng.randrange(n)
            length = rng.randint(1, min(n - pos, 12))
        cursor.pos = pos
        sub = rng.random()
        if sub < 0.08:
            s = t.to_string()
            return "delete_utf8", (len(s[:pos].encode("utf-8")),
                                   len(s[pos:pos + length].encode("utf-8")))
        if sub < 0.16:
            s = t.to_string()
            return "delete_utf16", (len(s[:pos].encode("utf-16-le")) // 2,
                                    len(s[pos:pos + length].encode("utf-16-le")) // 2)
        return "delete", (pos, length)
    # splice
    pos = rng.randint(0, n)
    length = rng.randint(0, min(n - pos, 4))
    s = rand_text(rng)
    cursor.pos = pos + len(s)
    return "splice", (pos, length, s)


def gen_list_op(rng, lst, allow_containers=True):
    n = len(lst)
    r = rng.random()
    if n == 0 or r < 0.45:
        if allow_containers and rng.random() < 0.08:
            return "insert_container", (rng.randint(0, n), ("new", rng.choice(CONTAINER_KINDS)))
        return "insert", (rng.randint(0, n), rand_value(rng))
    if r < 0.6:
        if allow_containers and rng.random() < 0.08:
            return "push_container", (("new", rng.choice(CONTAINER_KINDS)),)
        return "push", (rand_value(rng),)
    if r < 0.88:
        pos = rng.randrange(n)
        length = 1 if rng.random() < 0.7 else rng.randint(1, min(n - pos, 6))
        return "delete", (pos, length)
    if r < 0.97:
        return "pop", ()
    return "clear", ()


def gen_map_op(rng, m, allow_containers=True):
    r = rng.random()
    key = rng.choice(MAP_KEYS)
    if r < 0.55:
        return "insert", (key, rand_value(rng))
    if r < 0.75:
        present = sorted(m.keys())
        if present and rng.random() < 0.85:
            key = rng.choice(present)
        return "delete", (key,)
    if r < 0.97 and allow_containers:
        kind = rng.choice(CONTAINER_KINDS)
        if key not in m.keys() and rng.random() < 0.3:
            return "get_or_create_container", (key, ("new", kind))
        return "insert_container", (key, ("new", kind))
    if sorted(m.keys()) and rng.random() < 0.5:
        return "clear", ()
    return "insert", (key, rand_value(rng))


def gen_counter_op(rng):
    delta = rng.choice(COUNTER_DELTAS)
    return ("increment" if rng.random() < 0.7 else "decrement"), (delta,)


# Per-session mix of targets: (text, list, map, counter, nested) weights.
PROFILES = (
    (33, 23, 24, 8, 12),   # mixed
    (33, 23, 24, 8, 12),
    (80, 5, 5, 2, 8),      # mostly text: long documents, runs, many deletes
    (10, 70, 10, 2, 8),    # mostly list
    (10, 10, 45, 5, 30),   # maps and nested containers
)


def gen_op(rng, ref_doc, cursor, profile):
    """Choose a container and an operation from the oracle's current state."""
    target = rng.choices(("text", "list", "map", "counter", "nested"), weights=profile)[0]
    if target == "nested":
        nested = nested_containers(ref_doc)
        if nested:
            path, kind = rng.choice(nested)
            depth = len(path[2])
            c = resolve(loro, ref_doc, path)
            if kind == "text":
                method, args = gen_text_op(rng, c, PeerCursor())
            elif kind == "list":
                method, args = gen_list_op(rng, c, allow_containers=depth < 2)
            elif kind == "map":
                method, args = gen_map_op(rng, c, allow_containers=depth < 2)
            else:
                method, args = gen_counter_op(rng)
            return path, method, args
        target = "map"
    path = ROOTS[target]
    c = resolve(loro, ref_doc, path)
    if target == "text":
        return (path,) + gen_text_op(rng, c, cursor)
    if target == "list":
        return (path,) + gen_list_op(rng, c)
    if target == "map":
        return (path,) + gen_map_op(rng, c)
    return (path,) + gen_counter_op(rng)


def describe_op(path, method, args):
    kind, name, steps = path
    where = name + "".join(f"[{k!r}]" for _, k in steps)
    return f"{where}.{method}{brief(tuple(args), 120)}"


def canon_result(res):
    k = kind_of(res)
    if k:
        return ("container", k)
    return canon(unwrap(res))


# --------------------------------------------------------------------------------------
# the session

class Session:
    def __init__(self, seed):
        self.seed = seed
        self.rng = rng = random.Random(seed)
        n = rng.randint(2, 5)
        peers = set()
        while len(peers) < n:
            r = rng.random()
            if r < 0.35:
                peers.add(rng.randint(1, 64))
            elif r < 0.7:
                peers.add(rng.randrange(2**63, 2**64 - 1))
            else:
                peers.add(rng.randrange(65, 2**63))
        self.peers = sorted(peers)
        rng.shuffle(self.peers)
        self.docs = [[], []]  # docs[lib_index][peer_index]
        for li, lib in enumerate(LIBS):
            for p in self.peers:
                d = lib.LoroDoc()
                d.peer_id = p
                self.docs[li].append(touch_roots(d))
        self.cursors = [PeerCursor() for _ in self.peers]
        self.profile = rng.choice(PROFILES)
        self.log = []
        self.step = 0

    # -- reporting
    def fail(self, what):
        tail = "\n  ".join(self.log[-25:])
        raise Mismatch(
            f"[seed {self.seed}] step {self.step}: {what}\n"
            f"peers: {self.peers}\n"
            f"last actions (of {len(self.log)}):\n  {tail}\n"
            f"rerun: LORO_C_DIFF_SEEDS={self.seed} python -m pytest -q tests/test_differential.py"
        )

    def call_sut(self, what, fn, *args):
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001 - report anything loro_c raises
            self.fail(f"loro_c raised {type(e).__name__}: {e} during {what}")

    # -- checks
    def check_peer(self, i, what, exact=True):
        ref = self.docs[0][i].get_deep_value()
        sut = self.call_sut(f"get_deep_value of peer {self.peers[i]}",
                            self.docs[1][i].get_deep_value)
        if canon(ref) != canon(sut):
            self.fail(f"{what}: deep value of peer {self.peers[i]} differs\n"
                      f"  loro:   {brief(ref, 1500)}\n  loro_c: {brief(sut, 1500)}")

    def check_vv(self, i, what):
        ref = vv_dict(self.docs[0][i].oplog_vv, self.peers)
        sut = vv_dict(self.call_sut("oplog_vv", lambda: self.docs[1][i].oplog_vv), self.peers)
        if ref != sut:
            self.fail(f"{what}: oplog_vv of peer {self.peers[i]} differs\n"
                      f"  loro:   {ref}\n  loro_c: {sut}")

    # -- actions
    def local_op(self, i):
        ref_doc = self.docs[0][i]
        path, method, args = gen_op(self.rng, ref_doc, self.cursors[i], self.profile)
        desc = f"peer#{i} {describe_op(path, method, args)}"
        self.log.append(desc)
        ref_c = resolve(loro, ref_doc, path)
        ref_res = getattr(ref_c, method)(*[materialise(loro, a) for a in args])
        sut_c = self.call_sut("resolving " + desc, resolve, loro_c, self.docs[1][i], path)
        if kind_of(sut_c) != kind_of(ref_c):
            self.fail(f"{desc}: container resolves to {type(sut_c).__name__}, "
                      f"loro has {type(ref_c).__name__}")
        sut_res = self.call_sut(desc, getattr(sut_c, method),
                                *[materialise(loro_c, a) for a in args])
        if canon_result(ref_res) != canon_result(sut_res):
            self.fail(f"{desc}: return value differs: loro {brief(ref_res)}, "
                      f"loro_c {brief(sut_res)}")
        self.check_peer(i, desc)

    def commit(self, i):
        self.log.append(f"peer#{i} commit")
        self.docs[0][i].commit()
        self.call_sut("commit", self.docs[1][i].commit)

    def sync(self, src, dst, crossed=False):
        self.commit(src)
        self.commit(dst)
        tag = " (crossed)" if crossed else ""
        desc = f"sync peer#{src} -> peer#{dst}{tag}"
        self.log.append(desc)
        exports = []
        for li in (0, 1):
            s, d = self.docs[li][src], self.docs[li][dst]
            if li == 0:
                exports.append(s.export_json_updates(d.oplog_vv, s.oplog_vv))
            else:
                exports.append(self.call_sut("export_json_updates of " + desc,
                                             lambda: s.export_json_updates(d.oplog_vv,
                                                                           s.oplog_vv)))
        if crossed:
            exports.reverse()
        try:
            st = self.docs[0][dst].import_json_updates(exports[0])
        except BaseException as e:  # loro raises BaseException subclasses on panics
            if crossed:
                self.fail(f"loro rejected loro_c's JSON during {desc}: {e}\n"
                          f"  json: {brief(exports[0], 2000)}")
            raise
        if st.pending is not None:
            self.fail(f"{desc}: loro reports pending {st.pending} (harness bug?)")
        self.call_sut("import_json_updates of " + desc,
                      self.docs[1][dst].import_json_updates, exports[1])
        self.check_peer(dst, desc)
        self.check_vv(dst, desc)

    def full_sync(self):
        n = len(self.peers)
        for i in range(1, n):
            self.sync(i, 0)
        for i in range(1, n):
            self.sync(0, i)

    def crossing(self, i, what):
        """loro_c's full export into a fresh loro doc, loro's into a fresh loro_c doc."""
        ref, sut = self.docs[0][i], self.docs[1][i]
        ref_json = ref.export_json_updates(loro.VersionVector(), ref.oplog_vv)
        sut_json = self.call_sut("full export_json_updates",
                                 lambda: sut.export_json_updates(loro_c.VersionVector(),
                                                                 sut.oplog_vv))
        into_loro = touch_roots(loro.LoroDoc())
        into_loro.peer_id = 7777
        try:
            into_loro.import_json_updates(sut_json)
        except BaseException as e:
            self.fail(f"{what}: loro rejected loro_c's full JSON export: {e}\n"
                      f"  json: {brief(sut_json, 2000)}")
        into_sut = loro_c.LoroDoc()
        into_sut.peer_id = 7777
        self.call_sut("get_text/get_list/get_map/get_counter", touch_roots, into_sut)
        self.call_sut("import of loro's full JSON export",
                      into_sut.import_json_updates, ref_json)
        want = canon(ref.get_deep_value(), bytes_as_list=True)
        for name, d in (("loro <- loro_c JSON", into_loro), ("loro_c <- loro JSON", into_sut)):
            got = self.call_sut(f"deep value ({name})", d.get_deep_value)
            if canon(got, bytes_as_list=True) != want:
                self.fail(f"{what}: {name} of peer {self.peers[i]} differs\n"
                          f"  expected: {brief(ref.get_deep_value(), 1500)}\n"
                          f"  got:      {brief(got, 1500)}")
        got_vv = vv_dict(into_loro.oplog_vv, self.peers)
        want_vv = vv_dict(ref.oplog_vv, self.peers)
        if got_vv != want_vv:
            self.fail(f"{what}: loro <- loro_c JSON has vv {got_vv}, expected {want_vv}")

    def run(self):
        rng = self.rng
        n = len(self.peers)
        steps = rng.randint(20, 150) if rng.random() < 0.6 else rng.randint(150, 600)
        active = rng.randrange(n)
        for self.step in range(steps):
            r = rng.random()
            if r < 0.7:
                if rng.random() < 0.3:
                    active = rng.randrange(n)
                self.local_op(active)
            elif r < 0.8:
                self.commit(rng.randrange(n))
            else:
                src, dst = rng.sample(range(n), 2)
                self.sync(src, dst, crossed=rng.random() < 0.25)
        self.step = steps
        for i in range(n):
            self.commit(i)
        self.crossing(rng.randrange(n), "before full sync")
        self.full_sync()

        # identical across peers (bytes normalised) and libraries (exact, per peer)
        want = canon(self.docs[0][0].get_deep_value(), bytes_as_list=True)
        for li, lib in enumerate(LIBS):
            for i in range(n):
                got = self.docs[li][i].get_deep_value()
                if canon(got, bytes_as_list=True) != want:
                    self.fail(f"after full sync: {lib.__name__} peer {self.peers[i]} "
                              f"differs from loro peer {self.peers[0]}\n"
                              f"  want: {brief(self.docs[0][0].get_deep_value(), 1500)}\n"
                              f"  got:  {brief(got, 1500)}")
        ref_vv = self.docs[0][0].oplog_vv
        for i in range(n):
            for li in (0, 1):
                vv = self.docs[li][i].oplog_vv
                if li == 1:
                    vv = self.call_sut("VersionVector.encode",
                                       lambda: loro.VersionVector.decode(vv.encode()))
                if vv != ref_vv:
                    self.fail(f"after full sync: oplog_vv of {LIBS[li].__name__} peer "
                              f"{self.peers[i]} is {vv_dict(vv, self.peers)}, "
                              f"expected {vv_dict(ref_vv, self.peers)}")
        self.crossing(0, "after full sync")


@pytest.mark.parametrize("seed", _seeds(), ids=lambda s: f"seed={s}")
def test_random_session(seed):
    Session(seed).run()
