"""JSONPath over a document, behind `LoroDoc.jsonpath`: loro's dialect of RFC 9535.

The grammar is RFC 9535's with loro's additions to comparisons (the operators `in` and
`contains`, array literals such as `[1, 'a']`), parsed as a PEG (ordered choice, no
backtracking into a choice that matched), then checked as loro checks it: indices within
+-(2**53 - 1), known functions (count, length, value, match, search) with the right number
and kinds of arguments, and functions returning a value compared. A malformed path raises
`LoroValueError`.

Evaluation follows loro's rules, which differ from the RFC in places:
- the document is the root: `$` alone is its deep value; a name under `$` is a string path
  (`$['m/key']` works); `$.*` lists the root containers in the order the document
  registered them (loro's too; but after an import loro registers a block's containers in
  the block's order, loro_c in the order it applies the changes, so the two can differ),
  and an index or slice on the document selects nothing;
- containers are nodes: a map's children come in key order, a list's in order, a text or
  counter has none; a plain map value's children come in its dict order (loro's come in
  its hash order, which this does not reproduce);
- comparisons: numbers compare as numbers (floats equal within machine epsilon), strings
  and booleans as such, null equals null; anything else (lists, maps) is never equal and
  `!=` is false for mismatched kinds; a node list compares true if any member does;
  `a in [..]` is equality with any item, `a contains b` is substring for strings only;
- `length(@)` of a query is 0 (only values have a length; a string's is its UTF-8 bytes);
  `value()` of a container is its shallow value; `match()` and `search()` are accepted but
  raise when evaluated.
"""
from loro_c._types import ContainerID, ValueOrContainer
from loro_c.errors import LoroError, LoroValueError

__all__ = ["evaluate"]

_INDEX_LIMIT = 2 ** 53 - 1
_EPSILON = 2.220446049250313e-16
_I64_MAX = 2 ** 63 - 1


def evaluate(doc, path):
    """The values and containers `path` selects in `doc`, in loro's order."""
    if not isinstance(path, str):
        raise LoroValueError(f"Invalid JSONPath: expected a string, not {type(path).__name__}")
    query = _Parser(path).parse()
    return [_to_result(node) for node in _eval_query(_DocNode(doc), query)]


# ---------------------------------------------------------------- AST
# A query is a list of segments; a segment is (descendant: bool, [selector]).
# Selectors: ("name", str), ("index", int), ("slice", start, stop, step), ("wild",),
# ("filter", expr). Filter expressions are tuples whose first item is the kind:
# ("lit", value) for null/strings/numbers, ("bool", b), ("not", e), ("and"/"or", a, b),
# ("cmp", op, a, b), ("rel"/"root", query), ("fn", name, [args]).

_FUNCTIONS = {  # name: (parameter kinds, result kind)
    "count": (("nodes",), "value"),
    "length": (("value",), "value"),
    "match": (("value", "value"), "logical"),
    "search": (("value", "value"), "logical"),
    "value": (("nodes",), "value"),
}


def _is_singular(query):
    return all(not desc and len(sels) == 1 and sels[0][0] in ("name", "index")
               for desc, sels in query)


def _returns_value(expr):
    return expr[0] == "fn" and _FUNCTIONS[expr[1]][1] == "value"


def _is_value_type(expr):
    kind = expr[0]
    if kind in ("lit", "bool", "array"):
        return True
    if kind in ("rel", "root"):
        return _is_singular(expr[1])
    return _returns_value(expr)


class _Fail(Exception):
    """A PEG alternative did not match (caught by the choice that tried it)."""


class _Scanner:
    """The lexical rules under the grammar: literals, blanks, integers, names, quoted
    strings. Each rule either returns (advancing self.pos) or raises _Fail with self.pos
    unspecified; `try_` makes a rule optional, restoring the position."""

    def __init__(self, text):
        self.s = text
        self.pos = 0

    def error(self, msg):
        return LoroValueError(f"Invalid JSONPath: {msg}")

    def peek(self, n=1):
        return self.s[self.pos:self.pos + n]

    def lit(self, token):
        if not self.s.startswith(token, self.pos):
            raise _Fail
        self.pos += len(token)

    def try_(self, rule, *args):
        """rule's result, or None (position restored) when it does not match."""
        start = self.pos
        try:
            return rule(*args)
        except _Fail:
            self.pos = start
            return None

    def blanks(self):
        while self.pos < len(self.s) and self.s[self.pos] in " \t\n\r":
            self.pos += 1

    def member_name(self):
        start = self.pos
        if self.pos >= len(self.s) or not _name_first(self.s[self.pos]):
            raise _Fail
        self.pos += 1
        while self.pos < len(self.s) and (_name_first(self.s[self.pos])
                                          or self.s[self.pos] in "0123456789"):
            self.pos += 1
        return self.s[start:self.pos]

    def int_text(self):
        start = self.pos
        if self.peek() == "0":
            self.pos += 1
            return "0"
        if self.peek() == "-":
            self.pos += 1
        if self.pos >= len(self.s) or self.s[self.pos] not in "123456789":
            raise _Fail
        while self.pos < len(self.s) and self.s[self.pos] in "0123456789":
            self.pos += 1
        return self.s[start:self.pos]

    def string_literal(self):
        quote = self.peek()
        if quote not in ("'", '"'):
            raise _Fail
        self.pos += 1
        start = self.pos
        while True:
            if self.pos >= len(self.s):
                raise _Fail
            ch = self.s[self.pos]
            if ch == quote:
                break
            if ch == "\\":
                self.pos += 1
                self.escape(quote)
            elif _unescaped(ch) or ch in "'\"":
                self.pos += 1
            else:
                raise _Fail
        raw = self.s[start:self.pos]
        self.pos += 1
        if quote == "'":
            raw = raw.replace("\\'", "'")
        return _unescape(raw)

    def escape(self, quote):
        ch = self.peek()
        if ch == quote or (ch and ch in "bfnrt/\\"):
            self.pos += 1
            return
        self.lit("u")
        if self.try_(self._hex4, "0123456789ABCEFabcef", "0123456789abcdefABCDEF") is not None:
            return
        if self.try_(self._hex4, "Dd", "01234567") is not None:
            return
        self._hex4("Dd", "89ABab")
        self.lit("\\u")
        self._hex4("Dd", "CDEFcdef")

    def _hex4(self, first, second):
        text = self.peek(4)
        hexdigits = "0123456789abcdefABCDEF"
        if len(text) < 4 or text[0] not in first or text[1] not in second \
                or any(c not in hexdigits for c in text[1:]):
            raise _Fail
        self.pos += 4
        return text

    def _operand(self, op, rule, *args):
        self.blanks()
        self.lit(op)
        self.blanks()
        return rule(*args)

    def _digits(self):
        start = self.pos
        while self.pos < len(self.s) and self.s[self.pos] in "0123456789":
            self.pos += 1
        if self.pos == start:
            raise _Fail


class _Parser(_Scanner):
    """Recursive descent over RFC 9535's grammar in loro's PEG order (the first matching
    alternative of a choice wins), with loro's semantic checks as each part is built."""

    def parse(self):
        try:
            self.lit("$")
            segments = self.segments()
            if self.pos != len(self.s):
                raise _Fail
        except _Fail:
            raise self.error(f"syntax error in {self.s!r}") from None
        return segments

    # -- segments
    def segments(self):
        out = []
        while True:
            start = self.pos
            self.blanks()
            seg = self.try_(self.segment)
            if seg is None:
                self.pos = start
                return out
            out.append(seg)

    def segment(self):
        seg = self.try_(self.child_segment)
        if seg is not None:
            return seg
        self.lit("..")
        if self.peek() == "[":
            return (True, self.bracketed())
        if self.peek() == "*":
            self.pos += 1
            return (True, [("wild",)])
        return (True, [("name", self.member_name())])

    def child_segment(self):
        if self.peek() == "[":
            return (False, self.bracketed())
        self.lit(".")
        if self.peek() == "*":
            self.pos += 1
            return (False, [("wild",)])
        return (False, [("name", self.member_name())])

    def bracketed(self):
        self.lit("[")
        self.blanks()
        selectors = [self.selector()]
        while True:
            more = self.try_(self._next_selector)
            if more is None:
                break
            selectors.append(more)
        self.blanks()
        self.lit("]")
        return selectors

    def _next_selector(self):
        self.blanks()
        self.lit(",")
        self.blanks()
        return self.selector()

    def selector(self):
        for rule in (self.name_selector, self.wildcard, self.slice_selector, self.index_selector,
                     self.filter_selector):
            sel = self.try_(rule)
            if sel is not None:
                return sel
        raise _Fail

    def name_selector(self):
        return ("name", self.string_literal())

    def wildcard(self):
        self.lit("*")
        return ("wild",)

    def index_selector(self):
        return ("index", self.checked_index(self.int_text()))

    def slice_selector(self):
        start = self.try_(self._int_then_blanks)
        self.lit(":")
        self.blanks()
        stop = self.try_(self._int_then_blanks)
        step = None
        if self.peek() == ":":
            self.pos += 1
            step = self.try_(self._blanks_then_int)
        return ("slice", *(None if t is None else self.checked_index(t) for t in (start, stop, step)))

    def _int_then_blanks(self):
        text = self.int_text()
        self.blanks()
        return text

    def _blanks_then_int(self):
        self.blanks()
        return self.int_text()

    def checked_index(self, text):
        # a semantic error, not a syntax one: raised past every choice
        value = int(text)
        if not -_INDEX_LIMIT <= value <= _INDEX_LIMIT:
            raise self.error(f"index out of range `{text}`")
        return value

    # -- filters
    def filter_selector(self):
        self.lit("?")
        self.blanks()
        return ("filter", self.logical_or(True))

    def logical_or(self, must_compare):
        expr = self._checked(self.logical_and(must_compare), must_compare)
        while True:
            right = self.try_(self._operand, "||", self.logical_and, must_compare)
            if right is None:
                return expr
            expr = ("or", expr, self._checked(right, must_compare))

    def logical_and(self, must_compare):
        expr = self._checked(self.basic_expr(), must_compare)
        while True:
            right = self.try_(self._operand, "&&", self.basic_expr)
            if right is None:
                return expr
            expr = ("and", expr, self._checked(right, must_compare))

    def _checked(self, expr, must_compare):
        if must_compare and _returns_value(expr):
            raise self.error(f"result of {expr[1]}() must be compared")
        return expr

    def basic_expr(self):
        for rule in (self.paren_expr, self.comparison, self.test_expr):
            expr = self.try_(rule)
            if expr is not None:
                return expr
        raise _Fail

    def paren_expr(self):
        negate = self.try_(self._not_then_paren)
        if negate is None:
            self.lit("(")
        self.blanks()
        expr = self.logical_or(True)
        self.blanks()
        self.lit(")")
        return ("not", expr) if negate else expr

    def _not_then_paren(self):
        self.lit("!")
        self.blanks()
        self.lit("(")
        return True

    def test_expr(self):
        negate = self.try_(self._bang)
        expr = self.try_(self.filter_query)
        if expr is None:
            expr = self.function_expr()
        return ("not", expr) if negate else expr

    def _bang(self):
        self.lit("!")
        self.blanks()
        return True

    def filter_query(self):
        if self.peek() == "@":
            self.pos += 1
            return ("rel", self.segments())
        self.lit("$")
        return ("root", self.segments())

    def comparison(self):
        left = self.comparable()
        self.blanks()
        for op in ("==", "!=", "<=", ">=", "<", ">", "contains", "in"):
            if self.s.startswith(op, self.pos):
                self.pos += len(op)
                break
        else:
            raise _Fail
        self.blanks()
        right = self.comparable()
        for side in (left, right):
            if side[0] == "fn" and not _returns_value(side):
                raise self.error(f"result of {side[1]}() is not comparable")
        return ("cmp", op, left, right)

    def comparable(self):
        for rule in (self.literal, self.singular_query, self.function_expr):
            expr = self.try_(rule)
            if expr is not None:
                return expr
        raise _Fail

    def literal(self):
        for rule in (self.number, self.string_value, self.array_literal):
            expr = self.try_(rule)
            if expr is not None:
                return expr
        for word, expr in (("true", ("bool", True)), ("false", ("bool", False)), ("null", ("lit", None))):
            if self.s.startswith(word, self.pos):
                self.pos += len(word)
                return expr
        raise _Fail

    def array_literal(self):
        self.lit("[")
        self.blanks()
        items = []
        first = self.try_(self.literal)
        if first is not None:
            items.append(first)
            while True:
                more = self.try_(self._operand, ",", self.literal)
                if more is None:
                    break
                items.append(more)
        self.blanks()
        self.lit("]")
        return ("array", items)

    def string_value(self):
        return ("lit", self.string_literal())

    def number(self):
        start = self.pos
        if self.try_(self.int_text) is None:
            self.lit("-0")
        self.try_(self._frac)
        self.try_(self._exp)
        return ("lit", _number_value(self.s[start:self.pos]))

    def _frac(self):
        start = self.pos
        self.lit(".")
        self._digits()
        return self.s[start:self.pos]

    def _exp(self):
        start = self.pos
        if self.peek() not in ("e", "E"):  # (peek() is "" at the end)
            raise _Fail
        self.pos += 1
        if self.peek() in ("-", "+"):
            self.pos += 1
        self._digits()
        return self.s[start:self.pos]

    def singular_query(self):
        kind = "rel" if self.peek() == "@" else "root"
        self.lit("@" if kind == "rel" else "$")
        segments = []
        while True:
            seg = self.try_(self._singular_segment)
            if seg is None:
                return (kind, segments)
            segments.append(seg)

    def _singular_segment(self):
        self.blanks()
        if self.peek() == ".":
            self.pos += 1
            return (False, [("name", self.member_name())])
        self.lit("[")
        sel = self.try_(self.name_selector)
        if sel is None:
            sel = self.index_selector()
        self.lit("]")
        return (False, [sel])

    def function_expr(self):
        start = self.pos
        if self.pos >= len(self.s) or not ("a" <= self.s[self.pos] <= "z"):
            raise _Fail
        self.pos += 1
        while self.pos < len(self.s) and (("a" <= self.s[self.pos] <= "z") or self.s[self.pos] in "_0123456789"):
            self.pos += 1
        name = self.s[start:self.pos]
        self.lit("(")
        self.blanks()
        args = []
        first = self.try_(self.function_argument)
        if first is not None:
            args.append(first)
            while True:
                more = self.try_(self._operand, ",", self.function_argument)
                if more is None:
                    break
                args.append(more)
        self.blanks()
        self.lit(")")
        return ("fn", name, self.well_typed(name, args))

    def function_argument(self):
        for rule, args in ((self.filter_query, ()), (self.logical_or, (False,)),
                           (self.function_expr, ()), (self.literal, ())):
            expr = self.try_(rule, *args)
            if expr is not None:
                return expr
        raise _Fail

    def well_typed(self, name, args):
        if name not in _FUNCTIONS:
            raise self.error(f"unknown function `{name}`")
        params = _FUNCTIONS[name][0]
        if len(args) != len(params):
            raise self.error(f"{name}() takes {len(params)} argument(s) but {len(args)} were given")
        for i, (param, arg) in enumerate(zip(params, args)):
            ok = _is_value_type(arg) if param == "value" else arg[0] in ("rel", "root")
            if not ok:
                raise self.error(f"argument {i + 1} of {name}() must be of a '{param}' type")
        return args


def _name_first(ch):
    return ch.isascii() and (ch.isalpha() or ch == "_") or ("\x80" <= ch and not "\ud800" <= ch <= "\udfff")


def _unescaped(ch):
    return ("\x20" <= ch <= "\x21" or "\x23" <= ch <= "\x26" or "\x28" <= ch <= "\x5b"
            or "\x5d" <= ch <= "\ud7ff" or "\ue000" <= ch)


_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(raw):
    # loro joins any \uXXXX directly followed by another \uXXXX as a surrogate pair, even
    # when the first is not a high surrogate; reproduced as is.
    out = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = raw[i + 1]
        if esc != "u":
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
            continue
        code = int(raw[i + 2:i + 6], 16)
        i += 6
        if i + 1 < n and raw[i] == "\\" and raw[i + 1] == "u":
            low = int(raw[i + 2:i + 6], 16)
            code = 0x10000 + (((code & 0x3FF) << 10) | (low & 0x3FF))
            i += 6
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise LoroValueError("Invalid JSONPath: invalid escape in a string")
        out.append(chr(code))
    return "".join(out)


def _number_value(text):
    """A number literal as loro reads it: "-0" is the integer 0; with a fraction or an
    exponent, or beyond 64 bits, a float; otherwise an integer."""
    if text == "-0":
        return 0
    if not any(c in text for c in ".eE"):
        value = int(text)
        if -(2 ** 63) <= value <= _I64_MAX:
            return value
    return float(text)


# ---------------------------------------------------------------- nodes
# A node is a _DocNode, a container handle, or a _Plain value.

class _DocNode:
    __slots__ = ("doc",)

    def __init__(self, doc):
        self.doc = doc


class _Plain:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _kind(handle):
    return str(handle.id.container_type)


def _wrap(got):
    """A node for a ValueOrContainer (None stays None)."""
    if got is None:
        return None
    if ValueOrContainer.is_container(got):
        return got.container
    return _Plain(got.value)


def _to_result(node):
    if isinstance(node, _Plain):
        return ValueOrContainer.Value(node.value)
    if isinstance(node, _DocNode):
        return ValueOrContainer.Value(node.doc.get_deep_value())
    return ValueOrContainer.Container(node)


def _child_by_key(node, key):
    if isinstance(node, _Plain):
        v = node.value
        return _Plain(v[key]) if type(v) is dict and key in v else None
    if isinstance(node, _DocNode):
        return _wrap(node.doc.get_by_str_path(key))
    if _kind(node) == "Map":
        return _wrap(node.get(key))
    return None


def _child_by_index(node, index):
    """The child at a non-negative index of a list, or None."""
    if isinstance(node, _Plain):
        v = node.value
        return _Plain(v[index]) if type(v) is list and index < len(v) else None
    if isinstance(node, _DocNode):
        return None
    if _kind(node) in ("List", "MovableList"):
        return _wrap(node.get(index)) if index < len(node) else None
    return None


def _children(node):
    if isinstance(node, _Plain):
        v = node.value
        if type(v) is list:
            return [_Plain(x) for x in v]
        if type(v) is dict:
            return [_Plain(x) for x in v.values()]
        return []
    if isinstance(node, _DocNode):
        doc = node.doc
        return [doc.get_container(cid) for cid in doc.get_value().values()
                if isinstance(cid, ContainerID)]
    kind = _kind(node)
    if kind == "Map":
        return [_wrap(node.get(k)) for k in sorted(node.keys())]
    if kind == "List" or kind == "MovableList":
        return [_wrap(node.get(i)) for i in range(len(node))]
    return []


def _length(node):
    if isinstance(node, _Plain):
        v = node.value
        if type(v) in (list, dict):
            return len(v)
        return len(v.encode("utf-8")) if type(v) is str else 0
    if isinstance(node, _DocNode):
        return sum(1 for v in node.doc.get_value().values() if isinstance(v, ContainerID))
    kind = _kind(node)
    if kind == "Map" or kind == "List" or kind == "MovableList":
        return len(node)
    if kind == "Text":
        return len(node.to_string())
    return 0


def _node_value(node):
    """The value a node compares as: a container's shallow value."""
    if isinstance(node, _Plain):
        return node.value
    if isinstance(node, _DocNode):
        return node.doc.get_deep_value()
    return node.get_value()


# ---------------------------------------------------------------- evaluation

def _eval_query(root, segments):
    nodes = [root]
    for descendant, selectors in segments:
        out = []
        for node in nodes:
            if descendant:
                _descend(root, node, selectors, out)
            else:
                _select(root, node, selectors, out)
        nodes = out
    return nodes


def _descend(root, node, selectors, out):
    # pre-order: the node's own selection, then each child's subtree (an explicit stack,
    # so deep documents do not exhaust Python's recursion limit)
    stack = [node]
    while stack:
        here = stack.pop()
        _select(root, here, selectors, out)
        stack.extend(reversed(_children(here)))


def _select(root, node, selectors, out):
    for sel in selectors:
        kind = sel[0]
        if kind == "name":
            child = _child_by_key(node, sel[1])
            if child is not None:
                out.append(child)
        elif kind == "index":
            index = sel[1]
            if index < 0:
                index += _length(node)
            if index >= 0:
                child = _child_by_index(node, index)
                if child is not None:
                    out.append(child)
        elif kind == "slice":
            for index in _slice_indices(_length(node), *sel[1:]):
                child = _child_by_index(node, index)
                if child is not None:
                    out.append(child)
        elif kind == "wild":
            out.extend(_children(node))
        else:
            expr = sel[1]
            out.extend(child for child in _children(node) if _truth(_eval_expr(root, child, expr)))


def _slice_indices(length, start, stop, step):
    step = 1 if step is None else step
    if step == 0:
        return range(0)
    if start is None:
        start = 0 if step > 0 else length - 1
    if stop is None:
        stop = length if step > 0 else -length - 1
    if start < 0:
        start += length
    if stop < 0:
        stop += length
    start = min(max(start, 0), length)
    stop = min(max(stop, -1), length)
    return range(start, stop, step)


# Expression results: ("bool", b), ("value", v) or ("nodes", [node]).

def _eval_expr(root, current, expr):
    kind = expr[0]
    if kind == "lit":
        return ("value", expr[1])
    if kind == "bool":
        return ("bool", expr[1])
    if kind == "array":
        items = []
        for item in expr[1]:
            item_kind, value = _eval_expr(root, current, item)
            items.append(value)
        return ("value", items)
    if kind == "not":
        return ("bool", not _truth(_eval_expr(root, current, expr[1])))
    if kind == "and":
        return ("bool", _truth(_eval_expr(root, current, expr[1]))
                and _truth(_eval_expr(root, current, expr[2])))
    if kind == "or":
        return ("bool", _truth(_eval_expr(root, current, expr[1]))
                or _truth(_eval_expr(root, current, expr[2])))
    if kind == "cmp":
        left = _eval_expr(root, current, expr[2])
        right = _eval_expr(root, current, expr[3])
        return ("bool", _compare(left, expr[1], right))
    if kind == "rel":
        return ("nodes", _eval_query(current, expr[1]))
    if kind == "root":
        return ("nodes", _eval_query(root, expr[1]))
    return _call(root, current, expr[1], expr[2])


def _call(root, current, name, args):
    if name in ("match", "search"):
        raise LoroError(f"JSONPath function `{name}()` is not implemented (as in loro)")
    arg_kind, arg = _eval_expr(root, current, args[0])
    if name == "count":
        return ("value", len(arg) if arg_kind == "nodes" else 0)
    if name == "length":
        if arg_kind != "value":
            return ("value", 0)
        if type(arg) in (list, dict):
            return ("value", len(arg))
        return ("value", len(arg.encode("utf-8")) if type(arg) is str else 0)
    # value()
    if arg_kind == "nodes" and len(arg) == 1:
        return ("value", _node_value(arg[0]))
    return ("value", None)


def _truth(result):
    kind, v = result
    if kind == "bool":
        return v
    if kind == "nodes":
        return bool(v)
    if v is None:
        return False
    if type(v) is float:
        return v != 0.0 and v == v
    if type(v) in (bool, str, int, list, dict):
        return bool(v)
    return False


def _compare(left, op, right):
    lkind, lv = left
    rkind, rv = right
    if lkind == "nodes" and rkind == "nodes":
        if not lv or not rv:
            return False
        rvals = [_node_value(b) for b in rv]
        return any(_compare_values(_node_value(a), op, b) for a in lv for b in rvals)
    if lkind == "nodes":
        return bool(lv) and any(_compare_values(_node_value(a), op, rv) for a in lv)
    if rkind == "nodes":
        return bool(rv) and any(_compare_values(lv, op, _node_value(b)) for b in rv)
    return _compare_values(lv, op, rv)


def _compare_values(a, op, b):
    if op == "in":
        return type(b) is list and any(_compare_values(a, "==", item) for item in b)
    ta, tb = type(a), type(b)
    if ta in (int, float) and tb in (int, float):
        if op == "contains":
            return False
        if ta is int and tb is int:
            return _ORDER[op](a, b)
        a, b = float(a), float(b)
        if op == "==":
            return abs(a - b) < _EPSILON
        if op == "!=":
            return abs(a - b) >= _EPSILON
        return _ORDER[op](a, b)
    if ta is str and tb is str:
        return (b in a) if op == "contains" else _ORDER[op](a, b)
    if ta is bool and tb is bool:
        return (a == b) if op == "==" else (a != b) if op == "!=" else False
    if a is None and b is None:
        return op == "=="
    return False


_ORDER = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


# ---------------------------------------------------------------- subscriptions

def subscribe(doc, path, callback):
    """`LoroDoc.subscribe_jsonpath`: call `callback()` once per event that may change what
    `path` selects. Like loro's, it may fire when nothing selected changed (a recursive
    descent, an index, a slice or a filter matches any change below it), never the other
    way round: a change is matched on its container's path from the root and, for a map,
    on the keys it updated."""
    if not callable(callback):
        raise LoroValueError("callback must be callable")
    if not isinstance(path, str):
        raise LoroValueError(f"Invalid JSONPath: expected a string, not {type(path).__name__}")
    query = _Parser(path).parse()

    def on_event(event):
        for diff in event.events:
            keys = [_path_key(item.index) for item in diff.path]
            changed = getattr(diff.diff, "diff", None)
            children = set(changed.updated) if type(diff.diff).__name__ == "Map" else None
            if _may_select(query, keys, children):
                callback()
                return

    return doc.subscribe_root(on_event)


def _path_key(index):
    key = getattr(index, "key", None)
    if key is not None:
        return key
    return getattr(index, "index", None)


def _selects(selectors, key):
    """Whether a segment's selectors may select the child `key` (a map key or list index;
    None: any child)."""
    for sel in selectors:
        if sel[0] != "name" or key is None or sel[1] == key:
            return True
    return False


def _may_select(query, keys, children):
    """Whether a change of the container at `keys` (from the root; `children`: the map
    keys it updated, None for any child) may change what `query` selects."""
    for i, (descendant, selectors) in enumerate(query):
        if descendant:
            return True
        if i < len(keys):
            if not _selects(selectors, keys[i]):
                return False
            continue
        # the change is inside the container the query has reached
        if children is None:
            return True
        return any(_selects(selectors, k) for k in children)
    return True         # the query selects the changed container or one above it
