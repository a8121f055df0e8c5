"""Python protocols of the container handles (len, [], []=, del, in, +, counter arithmetic),
run side by side in `loro` and loro_c: each expression must give the same result, or fail in
both with matching kinds of error (loro's exception classes mapped to loro_c's), and a failed
statement must leave the document unchanged."""
import math

import pytest
from hypothesis import given, strategies as st

import loro
import loro_c
from loro_c import (LoroError, OutOfBoundsError, LoroTypeError, LoroValueError,
                    KeyNotFoundError)


def setup(lib):
    doc = lib.LoroDoc()
    doc.peer_id = 11
    t = doc.get_text("t")
    t.insert(0, "héllo😀wörld")
    l = doc.get_list("l")
    for v in (0, "a", [1, 2], None, 4.5, {"k": True}):
        l.push(v)
    l.insert_container(6, lib.LoroText()).insert(0, "child")
    m = doc.get_map("m")
    m.insert("a", 1)
    m.insert("b", None)
    m.insert_container("t", lib.LoroText()).insert(0, "x")
    c = doc.get_counter("c")
    c.increment(2.5)
    c2 = doc.get_counter("c2")
    c2.decrement(4)
    env = dict(doc=doc, t=t, l=l, m=m, c=c, c2=c2, lib=lib, dt=lib.LoroText(),
               dl=lib.LoroList(), dm=lib.LoroMap(), dc=lib.LoroCounter())
    return env


def deep(h):
    if hasattr(h, "to_string"):
        return h.to_string()
    if hasattr(h, "get_deep_value"):
        return h.get_deep_value()
    return h.value


def canon(x, lib):
    """A value comparable across the two libraries."""
    if isinstance(x, lib.ValueOrContainer):
        if lib.ValueOrContainer.is_value(x):
            return ("value", canon(x.value, lib))
        return ("container", type(x.container).__name__, canon(x.container.id, lib),
                canon(deep(x.container), lib))
    if isinstance(x, lib.ContainerID):
        return ("cid", getattr(x, "name", None), getattr(x, "peer", None),
                getattr(x, "counter", None))
    if isinstance(x, lib.LoroDoc):
        return ("doc", x.peer_id)
    if isinstance(x, (list, tuple)):
        return [canon(v, lib) for v in x]
    if isinstance(x, dict):
        return {k: canon(v, lib) for k, v in x.items()}
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, (lib.LoroText, lib.LoroList, lib.LoroMap, lib.LoroCounter)):
        return ("handle", type(x).__name__, canon(deep(x), lib))
    return (type(x).__name__, x)


def loro_kind(e):
    """The loro_c class expected for an exception loro raised."""
    msg = str(e)
    if isinstance(e, KeyError):
        return KeyNotFoundError
    if isinstance(e, IndexError) or isinstance(e, OverflowError):
        return OutOfBoundsError
    if isinstance(e, TypeError):
        return LoroTypeError
    if isinstance(e, ValueError):
        return LoroValueError
    if "out of bound" in msg or "middle of the codepoint" in msg:
        return OutOfBoundsError
    raise AssertionError(f"unmapped loro exception {type(e).__name__}: {e}")


def run(stmt, env):
    if stmt.startswith("!"):
        exec(stmt[1:], env)
        return None
    return eval(stmt, env)


def state(env, lib):
    return canon(env["doc"].get_deep_value(), lib)


def check(stmt, ref_env, sut_env):
    before = state(sut_env, loro_c)
    try:
        want = ("ok", canon(run(stmt, ref_env), loro))
    except BaseException as e:  # loro raises BaseException subclasses for its own errors
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        own = ("unsupported operand", "has no len()", "not supported between",
               "doesn't define")
        if type(e) in (TypeError,) and any(p in str(e) for p in own):
            want = ("pyerr", type(e))
        else:
            want = ("err", loro_kind(e))
    try:
        got = ("ok", canon(run(stmt, sut_env), loro_c))
    except LoroError as e:
        got = ("err", type(e))
        # bad input changes nothing
        assert state(sut_env, loro_c) == before, f"{stmt}: failed but changed the document"
    except Exception as e:  # noqa: BLE001
        # Python's own protocol errors (no such operator) are not loro's to map
        assert want[0] == "pyerr" and isinstance(e, want[1]), f"{stmt}: loro_c raised {e!r}"
        got = want
    if want[0] == "pyerr":
        assert got == want, f"{stmt}: loro raised {want[1]}, loro_c gave {got}"
    elif want[0] == "err" and got[0] == "err":
        assert issubclass(got[1], want[1]), f"{stmt}: loro_c raised {got[1]}, expected {want[1]}"
    else:
        assert got == want, f"{stmt}: loro {want}, loro_c {got}"
    assert state(sut_env, loro_c) == state(ref_env, loro), f"{stmt}: documents differ"


TEXT = [
    "str(t)", "len(t)", "bool(t)", "bool(dt)", "len(dt)",
    "t[0]", "t[5]", "t[6]", "t[-1]", "t[-11]", "t[-12]", "t[10]", "t[11]", "t[100]", "t[True]",
    "t[1.0]", "t['a']", "t[None]", "t[2**70]",
    "t[1:3]", "t[-3:]", "t[:-3]", "t[::2]", "t[::-1]", "t[5:2]", "t[2:100]", "t[100:]", "t[1:9:3]",
    "list(t)", "'ll' in t", "'😀w' in t", "'x' in t", "'' in t", "1 in t", "None in t", "t in t",
    "dt in t", "t + 's'", "'s' + t", "t + t", "t + dt", "t + 1", "1 + t", "t + None", "t + b'x'",
    "dt + 'x'", "'x' + dt",
    "t.doc() is not None", "dt.doc()", "t.is_deleted()", "dt.is_deleted()",
    "t.get_editor_at_unicode_pos(0)", "t.get_editor_at_unicode_pos(10)",
    "t.get_editor_at_unicode_pos(11)", "t.get_editor_at_unicode_pos(100)",
    "t.get_editor_at_unicode_pos(-1)", "dt.get_editor_at_unicode_pos(0)",
    "t.splice_utf16(5, 2, 'X')", "t.splice_utf16(6, 1, 'Y')", "t.splice_utf16(0, 0, 'Z')",
    "t.splice_utf16(13, 0, '!')", "t.splice_utf16(100, 0, 'q')", "t.splice_utf16(0, 100, 'q')",
    "t.splice_utf16(-1, 0, 'q')", "str(t)",
    "t.push_str('end')", "str(t)", "dt.push_str('x')", "str(dt)", "dt.splice_utf16(0, 1, '😀')",
    "dt.splice_utf16(1, 1, 'a')", "str(dt)",
]

SURROGATE_SPLICES = ["t.splice_utf16(6, 1, 'Y')", "t.splice_utf16(5, 1, 'Y')",
                     "t.splice_utf16(4, 2, 'Y')"]

LIST = [
    "len(l)", "bool(l)", "bool(dl)", "l[0]", "l[2]", "l[5]", "l[6]", "l[7]", "l[100]", "l[True]",
    "l[-1]", "l[-8]", "l['a']", "l[1.0]", "l[None]",
    "l[1:3]", "l[1:100]", "l[4:2]", "l[::2]", "l[::-1]", "l[-2:]", "l[:-1]", "l[100:]", "l[0:0]",
    "list(l)", "1 in l", "'zz' in l",
    "!l[0] = 5", "!l[6] = [1, {'a': 2}]", "!l[7] = 1", "!l[100] = 1", "!l[-1] = 7",
    "!l[0] = object()", "!l[0] = lib.LoroText()", "!l['a'] = 1", "!l[0] = 2**63 - 1",
    "!l[1:3] = [9, 8, 7]", "!l[1:3] = []", "!l[1:3] = 'ab'", "!l[1:3] = (1, 2)", "!l[1:3] = 5",
    "!l[1:3] = [object()]", "!l[::2] = [1, 2, 3, 4]", "!l[::2] = [1]", "!l[-2:] = [1]",
    "!l[4:2] = [1]", "!l[5:100] = [1]", "!l[10:12] = [1]", "!l[::-3] = ['x', 'y', 'z']",
    "!del l[0]", "!del l[-1]", "!del l[10]", "!del l['a']", "!del l[1:3]", "!del l[::2]",
    "!del l[-2:]", "!del l[4:2]", "!del l[3:100]", "!del l[10:12]", "!del l[::-1]", "len(l)",
    "!dl[0:0] = [1, 2, 3]", "dl[1]", "!del dl[0]", "dl[0:5]", "l.doc() is not None", "dl.doc()",
]

MAP = [
    "len(m)", "bool(m)", "bool(dm)", "m['a']", "m['b']", "m['t']", "m['zz']", "m[1]", "m[None]",
    "'a' in m", "'zz' in m", "1 in m", "None in m", "list(m)", "iter(m)",
    "!m['x'] = 3", "!m['x'] = [1, {'y': b'z'}]", "!m[1] = 3", "!m['y'] = object()",
    "!m['y'] = lib.LoroText()", "!del m['x']", "!del m['nope']", "!del m[1]", "!del m['t']",
    "m.get_value()", "!dm['k'] = 1", "dm['k']", "'k' in dm", "!del dm['k']", "len(dm)",
    "m.doc() is not None", "dm.doc()",
]

COUNTER = [
    "float(c)", "int(c)", "int(c2)", "c + 1", "1 + c", "c - 1", "1 - c", "-c", "abs(c)", "abs(c2)",
    "-c2", "c + c2", "c - c2", "c + 'a'", "'a' + c", "c + None", "c + True", "c + 1.5",
    "c + 2**70", "c + float('nan')", "c + 1j", "c * 2", "c < 3", "round(c)", "len(c)",
    "!x = c; x += 1", "c.value", "!x = c; x -= 1", "c.value", "dc + 1", "-dc", "int(dc)",
    "c.doc() is not None", "dc.doc()",
]


@pytest.mark.parametrize("group", ["text", "surrogates", "list", "map", "counter"])
def test_protocols_match_loro(group):
    stmts = {"text": TEXT, "surrogates": SURROGATE_SPLICES, "list": LIST, "map": MAP,
             "counter": COUNTER}[group]
    ref, sut = setup(loro), setup(loro_c)
    for stmt in stmts:
        check(stmt, ref, sut)


def test_get_editor_reports_each_peer():
    """Two peers' characters interleaved: the editor of each position is its inserter."""
    docs = []
    for lib in (loro, loro_c):
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        a.get_text("t").insert(0, "aaaa")
        b.import_(a.export(lib.ExportMode.Snapshot()))
        b.get_text("t").insert(2, "BB")
        a.import_(b.export(lib.ExportMode.Snapshot()))
        t = a.get_text("t")
        docs.append([t.get_editor_at_unicode_pos(i) for i in range(len(t) + 1)])
    assert docs[0] == docs[1] == [1, 1, 2, 2, 1, 1, None]


def test_is_deleted_follows_parent_entries():
    got = []
    for lib in (loro, loro_c):
        doc = lib.LoroDoc()
        m, l = doc.get_map("m"), doc.get_list("l")
        t1 = m.insert_container("t", lib.LoroText())
        t2 = l.insert_container(0, lib.LoroText())
        inner = m.insert_container("m", lib.LoroMap())
        t3 = inner.insert_container("x", lib.LoroText())
        t4 = l.insert_container(1, lib.LoroText())
        row = [t.is_deleted() for t in (t1, t2, t3, t4, doc.get_text("root"))]
        m.delete("t")
        l.delete(0, 1)
        m.insert("m", 1)
        doc.commit()
        row += [t.is_deleted() for t in (t1, t2, t3, t4)]
        got.append(row)
    assert got[0] == got[1]
    assert got[1] == [False] * 5 + [True, True, True, False]


def test_doc_is_the_owning_document():
    doc = loro_c.LoroDoc()
    assert doc.get_text("t").doc() is doc
    assert doc.get_map("m").insert_container("c", loro_c.LoroCounter()).doc() is doc
    assert loro_c.LoroText().doc() is None


def test_map_errors_are_key_errors():
    m = loro_c.LoroDoc().get_map("m")
    with pytest.raises(KeyError):
        m["nope"]
    with pytest.raises(KeyNotFoundError):
        del m["nope"]
    with pytest.raises(TypeError):
        iter(m)


ops = st.lists(st.one_of(
    st.tuples(st.just("get"), st.integers(-3, 12)),
    st.tuples(st.just("slice"), st.integers(-10, 12), st.integers(-10, 12),
              st.sampled_from([None, 1, 2, -1, -2, 3])),
    st.tuples(st.just("set"), st.integers(-2, 12), st.integers(0, 99)),
    st.tuples(st.just("setslice"), st.integers(-10, 12), st.integers(-10, 12),
              st.sampled_from([None, 1, 2, -1, -2]), st.lists(st.integers(0, 99), max_size=4)),
    st.tuples(st.just("del"), st.integers(-2, 12)),
    st.tuples(st.just("delslice"), st.integers(-10, 12), st.integers(-10, 12),
              st.sampled_from([None, 1, 2, -1, -3])),
), max_size=25)


def as_stmt(op):
    kind = op[0]
    if kind == "get":
        return f"l[{op[1]}]"
    if kind == "slice":
        return f"l[{op[1]}:{op[2]}:{op[3]}]"
    if kind == "set":
        return f"!l[{op[1]}] = {op[2]}"
    if kind == "setslice":
        return f"!l[{op[1]}:{op[2]}:{op[3]}] = {op[4]}"
    if kind == "del":
        return f"!del l[{op[1]}]"
    return f"!del l[{op[1]}:{op[2]}:{op[3]}]"


@given(ops)
def test_list_protocol_random(program):
    """Random index, slice, assignment and deletion programs on a list, in both libraries,
    also checked against a plain Python list where loro accepts the statement."""
    envs = []
    for lib in (loro, loro_c):
        doc = lib.LoroDoc()
        l = doc.get_list("l")
        for i in range(8):
            l.push(i)
        envs.append(dict(doc=doc, l=l, lib=lib))
    shadow = list(range(8))
    for op in program:
        stmt = as_stmt(op)
        check(stmt, *envs)
        if stmt.startswith("!"):
            try:
                exec(stmt[1:], {"l": shadow})
            except (IndexError, ValueError, TypeError):
                pass
        assert envs[1]["l"].get_value() == envs[0]["l"].get_value()
        if all(not (isinstance(x, int) and x < 0) for x in op[1:2]) and op[0] in ("set", "del"):
            # non-negative single indices behave like a Python list's
            assert envs[1]["l"].get_value() == shadow
        shadow = envs[1]["l"].get_value()


@given(st.text(alphabet="ab😀é\n", max_size=12),
       st.lists(st.tuples(st.integers(-14, 14), st.integers(-14, 14),
                          st.sampled_from([None, 1, 2, -1, 3])), max_size=6),
       st.text(alphabet="ab😀", max_size=3))
def test_text_protocol_random(content, cuts, needle):
    """Indexing, slicing and `in` on random texts, in both libraries and as on a str."""
    envs = []
    for lib in (loro, loro_c):
        doc = lib.LoroDoc()
        t = doc.get_text("t")
        t.insert(0, content)
        envs.append(dict(doc=doc, t=t, lib=lib, needle=needle))
    for a, b, step in cuts:
        for form in (f"{{x}}[{a}]", f"{{x}}[{a}:{b}:{step}]", f"{{x}}[:{b}]", "needle in {x}",
                     "{x} + needle", "needle + {x}"):
            check(form.format(x="t"), *envs)
            try:
                want = eval(form.format(x="content"), {"content": content, "needle": needle})
            except IndexError:
                continue
            assert eval(form.format(x="t"), envs[1]) == want
