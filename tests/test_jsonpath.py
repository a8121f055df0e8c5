"""LoroDoc.jsonpath against loro: worked examples of each syntax form, then many paths
(valid and malformed) over a fixed document and over random documents in both libraries."""
import random

import loro
import pytest

import loro_c
from test_paths import cid_text

LIBS = (loro, loro_c)


def build(lib, seed=None):
    d = lib.LoroDoc()
    d.peer_id = 1
    m = d.get_map("m")
    for k in ["b", "a", "B", "aa", "\u00e9", "_", "10", "2"]:
        m.insert(k, len(k))
    m.insert("c", [1, 2, {"z": 3}])
    m.insert("n", None)
    m.insert("f", 1.5)
    m.insert("t", True)
    m.insert("s", "str")
    sub = m.insert_container("sub", lib.LoroMap())
    sub.insert("x", 5)
    sub.insert("y", 0)
    sub.insert_container("txt", lib.LoroText()).insert(0, "abc")
    lst = d.get_list("l")
    for v in (10, 20, 30, "s"):
        lst.push(v)
    lst.insert_container(4, lib.LoroMap()).insert("x", 3)
    lst.insert_container(5, lib.LoroList()).push(1)
    lst.insert_container(6, lib.LoroCounter()).increment(2)
    d.get_text("t").insert(0, "h\u00e9llo")
    d.get_counter("c").increment(3)
    if seed is not None:
        grow(lib, d, seed)
    d.commit()
    return d


def grow(lib, d, seed):
    """Random nested edits (plain map values keep one key: loro orders a plain map's
    children by its hash, which loro_c does not reproduce)."""
    rng = random.Random(seed)
    containers = [d.get_map("m"), d.get_list("l")]
    kinds = [lib.LoroMap, lib.LoroList, lib.LoroText, lib.LoroCounter]
    for _ in range(rng.randint(5, 30)):
        h = rng.choice(containers)
        kind = str(h.id.container_type).split(".")[-1]
        choice = rng.random()
        value = rng.choice([rng.randint(-5, 40), rng.random() * 10, "s" + str(rng.randint(0, 3)),
                            None, True, [rng.randint(0, 3)], {"x": rng.randint(0, 9)}])
        if kind == "Map":
            key = rng.choice(["x", "y", "a", "b", "z"])
            if choice < 0.6:
                h.insert(key, value)
            elif choice < 0.9:
                # a fresh key: a container overwritten is deleted, and edits to it refused
                containers.append(h.insert_container("k" + str(len(containers)), rng.choice(kinds)()))
            else:
                h.delete(key)
        elif kind == "List":
            pos = rng.randint(0, len(h))
            if choice < 0.6:
                h.insert(pos, value)
            elif choice < 0.9:
                containers.append(h.insert_container(pos, rng.choice(kinds)()))
            elif len(h) and not h[len(h) - 1].is_container(h[len(h) - 1]):
                h.delete(len(h) - 1, 1)
        elif kind == "Text":
            h.insert(0, rng.choice(["ab", "\u00e9", "x"]))
        else:
            h.increment(rng.randint(1, 3))


def deep(c):
    for name in ("get_deep_value", "to_string"):
        f = getattr(c, name, None)
        if f is not None:
            return f()
    return c.value


def run(lib, d, path):
    try:
        got = d.jsonpath(path)
    except ValueError as e:
        assert lib is loro or isinstance(e, loro_c.LoroError)
        return "error"
    except BaseException as e:  # loro panics on match() and search(); loro_c raises
        if isinstance(e, loro_c.LoroError) or type(e).__name__ == "PanicException":
            return "unimplemented"
        raise
    return [("container", cid_text(v.container.id), deep(v.container)) if v.is_container(v)
            else ("value", v.value) for v in got]


def test_examples():
    d = build(loro_c)
    assert run(loro_c, d, "$.m.a") == [("value", 1)]
    assert run(loro_c, d, "$['m'][\"b\"]") == [("value", 1)]
    assert run(loro_c, d, "$.l[-1]")[0][1] == "cid:28@1:Counter"
    assert run(loro_c, d, "$.l[1:3]") == [("value", 20), ("value", 30)]
    assert run(loro_c, d, "$.l[::-3]")[-1] == ("value", 10)
    assert run(loro_c, d, "$.l[0,2]") == [("value", 10), ("value", 30)]
    assert [x[1] for x in run(loro_c, d, "$.*")] == [
        "cid:root-m:Map", "cid:root-l:List", "cid:root-t:Text", "cid:root-c:Counter"]
    assert run(loro_c, d, "$..x") == [("value", 5), ("value", 3)]
    assert run(loro_c, d, "$.l[?@ > 15 && @ < 25]") == [("value", 20)]
    assert run(loro_c, d, "$.l[?@ in [10, 's']]") == [("value", 10), ("value", "s")]
    assert run(loro_c, d, "$.m[?@ contains 'st']") == [("value", "str")]
    assert run(loro_c, d, "$['m/sub/x']") == [("value", 5)]
    assert run(loro_c, d, "$")[0][1]["t"] == "h\u00e9llo"
    assert run(loro_c, d, "$.t[0]") == []
    for bad in ("", "m", "$.", "$[", "$.l[01]", "$.l[9007199254740992]", "$.l[?foo(@)]",
                "$.l[?length(@)]", "$.l[?(true)]"):
        assert run(loro_c, d, bad) == "error", bad


def test_match_and_search_raise_when_evaluated():
    d = build(loro_c)
    with pytest.raises(loro_c.LoroError):
        d.jsonpath("$.l[?match(@, 's')]")
    assert d.jsonpath("$.t[?search(@, 's')]") == []  # no child: never evaluated


PATHS = [line for line in """
$.m.*
$.m[?(@ == 1)]
$.l[?(@.x)]
$.l[?@.x]
$.l[?(!@.x)]
$.l[?(@.x == 3 || @ == 10)]
$.l[?(@.x == 3 && @ == 10)]
$.l[?(@ == 's')]
$.l[?(@ == "s")]
$.l[?(@ < 's')]
$.l[?(@ > 's')]
$.l[?(@ == 10.0)]
$.l[?(@ >= 20)]
$.l[?(@ != 10)]
$.l[?(length(@) == 1)]
$.l[?(count(@.*) == 1)]
$.l[?(@ == $.l[0])]
$.m[?(length(@) > 2)]
$.m.sub[?(@ == 'abc')]
$.l[?(@ == 2)]
$.*[?(@ == 2)]
$[?(@ == 3)]
$[?(@ == 'hello')]
$[?(length(@) == 5)]
$.l[?(value(@.x) == 3)]
$.l[?(@.x > 1)].x
$.t
$..txt
$.m.sub.txt
$.l[6]
$.l[?(@ == null)]
$.m[?(@ == null)]
$.m[?(@ == true)]
$.m[?(@ == 1.5)]
$.m[?(@ > 1)]
$.m.c[?(@.z == 3)]
$.m.c[?(@.z)]
$[?(@.x)]
$..[?(@.x)]
$..[?(@ == 3)]
$.l[1:3:0]
$.l[5:0:-1]
$.l[-100:100]
$.l[1:-1]
$.l[ 1 : 2 ]
$.l[ 1 , 2 ]
$.l[01]
$.l[-0]
$.l[9007199254740992]
$.l[9007199254740991]
$.l[?@ == -0]
$.l[?@ == 1e1]
$.l[?@ == 1E+1]
$.l[?@ == 100e-1]
$['m','l'].*
$.m['c'][0]
$.m["\\u00e9"]
$.m['\\u00e9']
$.m.é
$.m['a\\'b']
$.m["a\\"b"]
$.m['10']
$.m[10]
$.m[*]
$.m.c[*]
$..c
$..c[0]
$.l[?(@.x == 3)][?@]
$.l[?length(@) == 1]
$.l[?foo(@)]
$.l[?length(@)]
$.l[?count(@) == 1]
$.l[?(@.x == @.x)]
$.l[?@ == @]
$.l[?(1 == 1)]
$.l[?(true)]
$.l[?true == true]
$.l[?@.*]
$.l[?(value(@) == 10)]
$
$.m
$.m.a
$['m']['a']
$["m"]["b"]
$.l[0]
$.l[-1]
$.l[-7]
$.l[-8]
$.l[7]
$.l[*]
$.*
$..x
$..*
$.l[1:3]
$.l[::2]
$.l[::-1]
$.l[0,2]
$.m['a','b']
m.a
.m

$[
$.m.
$..
$.l[
$.l[a]
$m
@.m
$.l.length
$.l[-1:]
$..[0]
$ .m
$.m .a
$.'m'
$['m/sub']
$['m/sub/x']
$['l/0']
$.t[0]
$.l[?@ == 's' ]
$.l[?(@ == 's') ]
$.l[? @ == 's']
$.l[?!@.x]
$.l[?!(@.x)]
$.l[?!(@.x == 3)]
$.l[?(@.x == 3) || (@ == 10)]
$.l[?@.x == 3 || @ == 10 && @ == 20]
$.l[?value(@) > 10]
$.l[?count(@.*) > 0]
$.l[?count(@..*) > 1]
$.l[?length(value(@)) == 1]
$.l[?length(value(@.x)) == 0]
$.l[?length(1) == 0]
$.l[?length('ab') == 2]
$.l[?length(@.x, 1) == 0]
$.l[?count(1) == 0]
$.l[?value(@.*) == 3]
$.l[?value(@..x) == 3]
$.l[?length(@.*) == 0]
$.l[?!count(@.*)]
$.l[?@ > -0.5]
$.l[?@ > -0.5e2]
$.l[?@ > -0e2]
$.l[?@ > 1.5e1]
$.l[?@ < 1e400]
$.l[?@ == 2.0]
$.m[?@ == 'str']
$.m[?@ >= 'st']
$.m[?@ == "\\u0073tr"]
$.m[?@ == '\\u0073\\u0074']
$['\\u00e9']
$.m['\\u00E9']
$.m['\\uD83D\\uDE00']
$.m['\\uD83D']
$.m['\\uDE00']
$.m["\\'"]
$.m['\\"']
$.m['\\x']
$.m['\\n']
$.m[' ']
$.m['	']
$.m[?@.x == 5]
$..[?@.x == 5]
$..sub[?@ > 1]
$..sub..*
$.l[?@ == $.m.sub.x]
$.l[?@ == $.m.nope]
$.l[?$.m.nope]
$.l[?$.m]
$.l[?$]
$.l[?@ == $]
$.l[?true]
$.l[?null == null]
$.l[?null != null]
$.l[?'a' != 1]
$.l[?'a' < 'b']
$.l[?true != false]
$.l[?true < false]
$.l[?@.x != 3]
$.l[?@ != 's']
$.l[?@[0] == 1]
$.l[?@[-1] == 1]
$.l[?@['x'] == 3]
$.l[?@ ["x"] == 3]
$.l[?@.x.y == 3]
$.l[?@.x[0] == 3]
$.l[?@[*] == 3]
$.l[?@.* == 3]
$.l[?@..x == 3]
$.l[?count(@)]
$.l[?value(@)]
$.l[?foo(@) == 1]
$.l[?length() == 1]
$.l[?Count(@) == 1]
$.l[?c1_(@) == 1]
$.l[0:2, 5]
$.l[:]
$.l[::]
$.l[:2:]
$.l[2:]
$.l[:-2]
$.l[-2:]
$.l[::-2]
$.l[-1:-5:-1]
$.l[5:1:-2]
$.l[100:-100:-1]
$.l[0:100:3]
$.l[1:2:3:4]
$.l[1 :2]
$.l[1: 2]
$.l[1:2 :3]
$.l[1:2: 3]
$.l[ :]
$.l[-0:]
$.l[:9007199254740992]
$.l[::9007199254740991]
$.l[-9007199254740991]
$.l[-9007199254740992]
$.l[99999999999999999999]
$.l[0, 'x', *]
$.l[*, *]
$[*,*]
$..[*]
$..l
$..l[0]
$.m..z
$.m.c..z
$.m.c[?@ > 1]
$.m.c[?@.z > 1]
$.m.c[2][?@ == 3]
$.*.*
$.*[*].x
$['l'][0]
$["l"]["0"]
$[ 'l' ][ 0 ]
$.l [0]
$.l	[0]
$.l
[0]
$.l[0]  
  $.l
$.l.*.x
$.__proto__
$.m._
$.m.B
$.m.10
$.m.a1
$.m.1a
$.m.a-b
$.m[?@.nope]
$.m[?!@.nope]
$.t[?@]
$.c[?@]
$[?@.x]
$[?(@ == 'héllo')]
$[?(@ == 3.0)]
$[?(@.sub)]
$.l[?(@)]
$.l[?((@))]
$.l[?(((@ == 10)))]
$.l[?((@ == 10) && (@ == 10))]
$.l[?(@ == 10 || (@ == 20 && @ != 20))]
$.l[?@ == 10 ||]
$.l[?&& @]
$.l[?]
$.l[?@ === 10]
$.l[?@ = 10]
$.l[?@ <> 10]
$.l[?@ == 01]
$.l[?@ == 1.]
$.l[?@ == .5]
$.l[?@ == 1e]
$.l[?@ == +1]
$.l[?@ == -1]
$.l[?@ == 'a' 'b']
$.l[?@ == tru]
$.l[?@ == True]
$.l[?@ == nulls]
$.l[?nulls(@) == 1]
$.l[?@ == [1]]
$.l[?@ == {}]
$.l[?-0.5 < 0]
$.l[?-0.5 > 0]
$.l[?-0.5e2 < -49]
$.l[?-0.5e2 > -51]
$.l[?-0e2 == 0]
$.l[?-0.5 == 0]
$.l[?1.5 == 1]
$.l[?1e2 == 100]
$.l[?@ == []]
$.l[?@ == [1, 2]]
$.l[?[1] == [1]]
$.l[?@ in [10, 20]]
$.l[?@ == [@]]
$.l[?@ == ['a']]
$.l[?@ contains 1]
$.l[?@ in 1]
$.l[?value(@) in [10]]
$.l[?[1]]
$.m[?@ contains 'st']
$.m[?@ contains 1]
$.m[?'str' contains @]
$.l[?@ in [10, 's']]
$.l[?@ in [[1]]]
$.l[?@ in [ ]]
$.l[?@ in [true, null]]
$.l[?@ in [1,]]
$.l[?@ in]
$.l[?@ inn [1]]
$.l[?@ in[10]]
$.l[?@in[10]]
$.l[?@ == 99999999999999999999]
$.l[?@ < 99999999999999999999]
$.l[?length([1,2]) == 2]
$.l[?value([1]) == 2]
""".split("\n")[1:-1]]


def test_paths_fixed_document():
    a, b = build(loro), build(loro_c)
    for path in PATHS:
        assert run(loro_c, b, path) == run(loro, a, path), path


@pytest.mark.parametrize("seed", range(6))
def test_paths_random_documents(seed):
    a, b = build(loro, seed), build(loro_c, seed)
    assert b.get_deep_value() == a.get_deep_value()
    for path in PATHS:
        assert run(loro_c, b, path) == run(loro, a, path), path


# Random paths from the grammar (with a mutation now and then, to reach the errors).

NAMES = ["m", "l", "t", "c", "x", "y", "z", "a", "b", "sub", "txt", "k2", "k5", "\u00e9", "_",
         "B", "n", "s", "f"]
QUOTED = ["m", "x", "a", "10", "2", "\u00e9", "m/sub", "m/sub/x", "l/0", "a b", "", "k3", "m/c"]
INTS = [0, 1, 2, 3, -1, -2, -7, 5, 100, -100]
LITERALS = ["1", "10", "3", "2", "0", "-1", "1.5", "-0", "-0.5", "1e1", "2.0", "'s'", '"str"',
            "'abc'", "true", "false", "null", "[10, 's']", "[]", "[1,[2]]", "'h\u00e9llo'", "5",
            "20"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "in", "contains"]


def blank(rng):
    return rng.choice(["", "", "", " ", "\t", "\n "])


def quoted_name(rng):
    quote = rng.choice(["'", '"'])
    return quote + rng.choice(QUOTED) + quote


def integer(rng):
    return str(rng.choice(INTS))


def selector(rng, depth):
    k = rng.random()
    if k < 0.25:
        return quoted_name(rng)
    if k < 0.35:
        return "*"
    if k < 0.55:
        return integer(rng)
    if k < 0.75:
        parts = [rng.choice(["", integer(rng)]), blank(rng), ":", blank(rng),
                 rng.choice(["", integer(rng)])]
        if rng.random() < 0.5:
            parts += [":", blank(rng), rng.choice(["", integer(rng), "-1", "2", "-2", "0"])]
        return "".join(parts)
    return "?" + blank(rng) + logical(rng, depth)


def segments(rng, depth, singular=False):
    out = []
    for _ in range(rng.randint(0, 3 if depth < 2 else 1)):
        k = rng.random()
        if singular:
            out.append(rng.choice(["." + rng.choice(NAMES), "[" + quoted_name(rng) + "]",
                                   "[" + integer(rng) + "]"]))
        elif k < 0.35:
            out.append("." + rng.choice(NAMES))
        elif k < 0.45:
            out.append(".*")
        elif k < 0.6:
            out.append(".." + rng.choice([rng.choice(NAMES), "*",
                                          "[" + selector(rng, depth + 1) + "]"]))
        else:
            sels = [selector(rng, depth + 1) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
            out.append("[" + blank(rng) + ("," + blank(rng)).join(sels) + blank(rng) + "]")
        out.append(blank(rng) if rng.random() < 0.2 else "")
    return "".join(out)


def comparable(rng, depth):
    k = rng.random()
    if k < 0.4:
        return rng.choice(LITERALS)
    if k < 0.8:
        return rng.choice(["@", "@", "$"]) + segments(rng, depth + 1, True)
    function = rng.choice(["length", "count", "value", "length", "value"])
    argument = rng.choice(["@" + segments(rng, depth + 1), rng.choice(LITERALS),
                           "$" + segments(rng, depth + 1), "value(@)"])
    return function + "(" + blank(rng) + argument + blank(rng) + ")"


def basic(rng, depth):
    k = rng.random()
    if k < 0.5 or depth > 2:
        return (comparable(rng, depth) + blank(rng) + rng.choice(OPERATORS) + blank(rng)
                + comparable(rng, depth))
    if k < 0.75:
        return rng.choice(["", "!"]) + rng.choice(["@", "$"]) + segments(rng, depth + 1)
    return rng.choice(["", "!"]) + "(" + blank(rng) + logical(rng, depth + 1) + blank(rng) + ")"


def logical(rng, depth):
    out = basic(rng, depth)
    for _ in range(rng.choice([0, 0, 1, 2])):
        out += blank(rng) + rng.choice(["&&", "||"]) + blank(rng) + basic(rng, depth)
    return out


def random_path(rng):
    path = "$" + segments(rng, 0)
    if rng.random() < 0.15:
        i = rng.randrange(len(path) + 1)
        cut = rng.choice(["", "[", "]", "'", ".", "?", "(", ")", " ", "@", "$", "-", "0"])
        path = path[:i] + cut + path[i + rng.randint(0, 1):]
    return path


@pytest.mark.parametrize("seed", range(4))
def test_random_paths(seed):
    a, b = build(loro, seed), build(loro_c, seed)
    rng = random.Random(seed)
    for _ in range(4000):
        path = random_path(rng)
        assert run(loro_c, b, path) == run(loro, a, path), path
