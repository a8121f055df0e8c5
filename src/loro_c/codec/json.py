"""Loro's JSON updates format (schema_version 1): encoder and decoder.

The decoder turns a JSON document into the change tuples that ``LoroDoc._import_changes``
stages: ``(peer, counter, lamport, timestamp, msg, deps, ops)`` with ``deps`` a list of
``(peer, counter)`` and each op one of

* ``(OP_INSERT, cid, counter, pos, text_or_values)``
* ``(OP_DELETE, cid, counter, pos, signed_len, start_peer, start_counter)``
* ``(OP_MAP_SET, cid, counter, key, value)`` / ``(OP_MAP_DELETE, cid, counter, key)``
* ``(OP_COUNTER, cid, counter, delta)``
* ``(OP_MARK_START, cid, counter, start, end, key, value, info)`` / ``(OP_MARK_END, cid, counter)``
  (rich text; start and end are entity positions)
* ``(OP_TREE, cid, counter, target_peer, target_counter, parent, fractional_index)``
  (a tree create, move or delete; parent None for a root, "deleted" for a delete, else
  ``(peer, counter)``; the fractional index as bytes, empty for a delete)

Every malformed input raises ``DecodeError`` naming what is wrong.
"""
import json
import re

from loro_c import _types
from loro_c._codec import OP_COUNTER, OP_DELETE, OP_INSERT, OP_MAP_DELETE, OP_MAP_SET
from loro_c._codec import OP_MARK_END, OP_MARK_START
from loro_c._doc import _TYPE_NAMES
from loro_c._codec import OP_MOVE, OP_SET      # MovableList (codec/movable_payloads.pxi)
from loro_c._codec import OP_TREE              # LoroTree (codec/tree_payloads.pxi)
from loro_c.errors import DecodeError
from loro_c.hash_order import iteration_order, vv_iteration_order

_CONTAINER_PREFIX = "🦜:"
_I64 = 1 << 63
_U64 = 1 << 64
_I32 = 1 << 31


# ---------------------------------------------------------------- encoding

class _PeerTable:
    def __init__(self):
        self.index = {}
        self.peers = []

    def __call__(self, peer):
        i = self.index.get(peer)
        if i is None:
            i = self.index[peer] = len(self.peers)
            self.peers.append(str(peer))
        return i


def _cid_str(cid, peers):
    ctype = str(cid.container_type)
    if isinstance(cid, _types.ContainerID.Root):
        return f"cid:root-{cid.name}:{ctype}"
    return f"cid:{cid.counter}@{peers(cid.peer)}:{ctype}"


def _value_json(v, peers):
    if isinstance(v, _types.ContainerID):
        return _CONTAINER_PREFIX + _cid_str(v, peers)
    if isinstance(v, bytes):
        return list(v)
    if isinstance(v, list):
        out = []
        for x in v:         # (a loop, not a comprehension: one frame per level of nesting)
            out.append(_value_json(x, peers))
        return out
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            out[k] = _value_json(x, peers)
        return out
    return v


def _own_peer(peer):
    """The peer table of an export without peer compression: ids name the peer itself."""
    return peer


def _lamport(change):
    return change[2]


def export_updates(doc, start, end, touches=(), start_ids=None, loaded=0):
    """JSON updates of `doc` between version dicts `start` and `end` (peer -> end counter);
    `touches` and `loaded` when `end` is the document's own version (see
    vv_iteration_order);
    `start_ids`: the start version's frontiers, as (peer, counter) pairs (by default each
    peer's last op in `start`)."""
    peers = _PeerTable()
    # loro lists the changes peer by peer, then sorts them by Lamport (stably). It visits
    # the peers in the order of a hash map it fills from the end version's own hash map
    # (whose order follows the order the version received its peers, and the local ops
    # that found it full; hash_order replays both). That order decides where an importer's
    # string arena puts each text insert, which shows in the importer's text deltas.
    rank = {p: r for r, p in enumerate(iteration_order(
        [p for p in vv_iteration_order(list(end), touches, loaded) if end[p] > 0]))}
    out = _changes_json(sorted(doc._changes(start, end),
                               key=lambda ch: (ch[2], rank.get(ch[0], 0))), peers)
    start_version = ({str(p): c - 1 for p, c in start.items() if c > 0} if start_ids is None
                     else {str(p): c for p, c in start_ids})
    return json.dumps({"schema_version": 1, "start_version": start_version,
                       "peers": peers.peers, "changes": out},
                      ensure_ascii=False, separators=(",", ":"))


def export_in_id_span(doc, peer, start, end):
    """The committed changes of `peer` in counters [start, end) as a JSON list of changes in
    the schema of export_updates, ids naming the peers themselves (loro's
    export_json_in_id_span). The open transaction is neither committed nor exported."""
    changes = doc._changes({peer: start}, {peer: end}, 0, -1, False, False)
    return json.dumps(_changes_json(changes, _own_peer), ensure_ascii=False, separators=(",", ":"))


def _changes_json(changes, peers):
    """Change tuples as the JSON schema's change objects; `peers` maps a peer id to its
    name in ids."""
    out = []
    for peer, counter, lamport, timestamp, msg, deps, ops in changes:
        me = peers(peer)
        json_ops = []
        for op in ops:
            kind, cid = op[0], op[1]
            if kind == OP_INSERT:
                if isinstance(op[4], str):
                    content = {"type": "insert", "pos": op[3], "text": op[4]}
                else:
                    content = {"type": "insert", "pos": op[3], "value": [_value_json(v, peers) for v in op[4]]}
            elif kind == OP_DELETE:
                content = {"type": "delete", "pos": op[3], "len": op[4], "start_id": f"{op[6]}@{peers(op[5])}"}
            elif kind == OP_MAP_SET:
                content = {"type": "insert", "key": op[3], "value": _value_json(op[4], peers)}
            elif kind == OP_MAP_DELETE:
                content = {"type": "delete", "key": op[3]}
            elif kind == OP_MOVE:
                content = {"type": "move", "from": op[3], "to": op[4], "elem_id": f"L{op[6]}@{peers(op[5])}"}
            elif kind == OP_SET:
                content = {"type": "set", "elem_id": f"L{op[4]}@{peers(op[3])}", "value": _value_json(op[5], peers)}
            elif kind == OP_MARK_START:
                content = {"type": "mark", "start": op[3], "end": op[4], "style_key": op[5],
                           "style_value": _value_json(op[6], peers), "info": op[7]}
            elif kind == OP_MARK_END:
                content = {"type": "mark_end"}
            elif kind == OP_TREE:
                content = _tree_op_json(op, peer, peers)
            else:
                content = {"type": "counter", "value_type": "f64", "value": op[3], "prop": 0}
            json_ops.append({"container": _cid_str(cid, peers), "content": content, "counter": op[2]})
        out.append({
            "id": f"{counter}@{me}",
            "timestamp": timestamp,
            # sorted by id, as loro writes them (its deps are a hash map), before their
            # peers are named: a dep's peer new to the table is registered in that order
            "deps": [f"{c}@{peers(p)}" for p, c in sorted(deps)],
            "lamport": lamport,
            "msg": msg,
            "ops": json_ops,
        })
    return out


def _tree_op_json(op, peer, peers):
    """A tree op's content: a create when the target is the op's own id."""
    target = f"{op[4]}@{peers(op[3])}"
    parent = op[5]
    if isinstance(parent, str):
        return {"type": "delete", "target": target}
    kind = "create" if (op[3], op[4]) == (peer, op[2]) else "move"
    return {"type": kind, "target": target,
            "parent": None if parent is None else f"{parent[1]}@{peers(parent[0])}",
            "fractional_index": op[6].hex().upper()}


# ---------------------------------------------------------------- decoding

def _need(obj, key, kind, where):
    if not isinstance(obj, dict) or key not in obj:
        raise DecodeError(f"{where}: missing field {key!r}")
    v = obj[key]
    if kind is int:
        if type(v) is not int:
            raise DecodeError(f"{where}: field {key!r} must be an integer, got {v!r}")
    elif not isinstance(v, kind):
        raise DecodeError(f"{where}: field {key!r} has the wrong type ({type(v).__name__})")
    return v


class _Decoder:
    def __init__(self, peers):
        self.cids = {}
        self.change_peer = None         # the peer of the change being read (tree creates)
        if peers is None:
            self.peers = None
        else:
            if not isinstance(peers, list):
                raise DecodeError("'peers' must be a list of decimal strings")
            try:
                self.peers = [int(p) for p in peers]
            except (TypeError, ValueError):
                raise DecodeError("'peers' must be a list of decimal strings") from None
            for p in self.peers:
                if not 0 <= p < _U64:
                    raise DecodeError(f"peer {p} is not a 64-bit id")

    def peer(self, token):
        try:
            i = int(token)
        except ValueError:
            raise DecodeError(f"bad peer reference {token!r}") from None
        if self.peers is None:
            if not 0 <= i < _U64:
                raise DecodeError(f"peer {i} is not a 64-bit id")
            return i
        if not 0 <= i < len(self.peers):
            raise DecodeError(f"peer index {i} is not in the peer table")
        return self.peers[i]

    def id(self, s):
        if not isinstance(s, str) or s.count("@") != 1:
            raise DecodeError(f"bad id {s!r}")
        c, p = s.split("@")
        try:
            counter = int(c)
        except ValueError:
            raise DecodeError(f"bad id {s!r}") from None
        if not 0 <= counter < _I32:
            raise DecodeError(f"counter of id {s!r} is out of range")
        return self.peer(p), counter

    def cid(self, s):
        cid = self.cids.get(s) if isinstance(s, str) else None
        if cid is None:
            cid = self.cids[s] = self._parse_cid(s)
        return cid

    def _parse_cid(self, s):
        if not isinstance(s, str) or not s.startswith("cid:") or s.count(":") < 2:
            raise DecodeError(f"bad container id {s!r}")
        body, _, tname = s[4:].rpartition(":")
        if tname not in _TYPE_NAMES:
            raise DecodeError(f"unknown container type {tname!r} in {s!r}")
        ctype = getattr(_types.ContainerType, tname)()
        if body.startswith("root-"):
            name = body[5:]
            if not name or "/" in name or "\0" in name:
                raise DecodeError(f"bad root container name in {s!r}")
            return _types.ContainerID.Root(name, ctype)
        peer, counter = self.id(body)
        return _types.ContainerID.Normal(peer, counter, ctype)

    def value(self, v, depth=0):
        t = type(v)
        if v is None or t is bool or t is float:
            return v
        if t is int:
            if not -_I64 <= v < _I64:
                raise DecodeError(f"integer {v} does not fit in i64")
            return v
        if t is str:
            if v.startswith(_CONTAINER_PREFIX + "cid:"):
                cid = self.cid(v[len(_CONTAINER_PREFIX):])
                if isinstance(cid, _types.ContainerID.Root):
                    raise DecodeError("created child containers must be normal containers")
                return cid
            return v
        if t is list or t is dict:
            if depth >= _types.MAX_VALUE_NESTING:
                raise DecodeError(f"a value nests lists and dicts more than {_types.MAX_VALUE_NESTING} deep")
            # (loops, not comprehensions: one frame per level of nesting)
            if t is list:
                out = []
                for x in v:
                    out.append(self.value(x, depth + 1))
                return out
            out = {}
            for k, x in v.items():
                out[k] = self.value(x, depth + 1)
            return out
        raise DecodeError(f"unsupported JSON value {v!r}")

    def op(self, raw, where):
        cid = self.cid(_need(raw, "container", str, where))
        counter = _need(raw, "counter", int, where)
        content = _need(raw, "content", dict, where)
        ctype = str(cid.container_type)
        kind = content.get("type")
        if ctype == "Tree":
            return self.tree_op(cid, counter, content, kind, where)
        if ctype == "MovableList" and kind in ("move", "set"):
            return self.movable_op(cid, counter, content, kind, where)
        if ctype in ("Text", "List", "MovableList"):
            if kind == "insert":
                pos = _need(content, "pos", int, where)
                if ctype == "Text":
                    text = _need(content, "text", str, where)
                    if not text:
                        raise DecodeError(f"{where}: empty text insert")
                    return (OP_INSERT, cid, counter, pos, text)
                values = _need(content, "value", list, where)
                if not values:
                    raise DecodeError(f"{where}: empty list insert")
                return (OP_INSERT, cid, counter, pos, [self.value(v) for v in values])
            if kind == "delete":
                pos = _need(content, "pos", int, where)
                signed = _need(content, "len", int, where)
                if signed == 0 or not -_I32 < signed < _I32:
                    raise DecodeError(f"{where}: bad delete length {signed}")
                sp, sc = self.id(_need(content, "start_id", str, where))
                return (OP_DELETE, cid, counter, pos, signed, sp, sc)
            if ctype == "Text" and kind == "mark":
                start = _need(content, "start", int, where)
                end = _need(content, "end", int, where)
                key = _need(content, "style_key", str, where)
                info = _need(content, "info", int, where)
                if "style_value" not in content:
                    raise DecodeError(f"{where}: mark without a style_value")
                if not 0 <= start <= end < _I32 or not 0 <= info < 256:
                    raise DecodeError(f"{where}: bad mark {start}..{end} info {info}")
                value = self.value(content["style_value"])
                if isinstance(value, _types.ContainerID):
                    raise DecodeError(f"{where}: a mark's value cannot be a container")
                return (OP_MARK_START, cid, counter, start, end, key, value, info)
            if ctype == "Text" and kind == "mark_end":
                return (OP_MARK_END, cid, counter)
        elif ctype == "Map":
            key = _need(content, "key", str, where)
            if kind == "insert":
                if "value" not in content:
                    raise DecodeError(f"{where}: map insert without a value")
                return (OP_MAP_SET, cid, counter, key, self.value(content["value"]))
            if kind == "delete":
                return (OP_MAP_DELETE, cid, counter, key)
        elif ctype == "Counter" and kind == "counter":
            v = content.get("value")
            if type(v) not in (int, float):
                raise DecodeError(f"{where}: counter value must be a number")
            return (OP_COUNTER, cid, counter, float(v))
        raise DecodeError(f"{where}: unsupported op {kind!r} on a {ctype}")

    def elem_id(self, s, where):
        """A MovableList element id, "L<lamport>@<peer>"."""
        if not isinstance(s, str) or not s.startswith("L") or s.count("@") != 1:
            raise DecodeError(f"{where}: bad element id {s!r}")
        lam, p = s[1:].split("@")
        try:
            lamport = int(lam)
        except ValueError:
            raise DecodeError(f"{where}: bad element id {s!r}") from None
        if not 0 <= lamport < (1 << 32):
            raise DecodeError(f"{where}: element Lamport {lamport} is out of range")
        return self.peer(p), lamport

    def movable_op(self, cid, counter, content, kind, where):
        """A MovableList move or set (its inserts and deletes are List's)."""
        if kind == "move":
            src = _need(content, "from", int, where)
            dst = _need(content, "to", int, where)
            if not (0 <= src < _I32 and 0 <= dst < _I32):
                raise DecodeError(f"{where}: bad move positions {src} -> {dst}")
            ep, el = self.elem_id(_need(content, "elem_id", str, where), where)
            return (OP_MOVE, cid, counter, src, dst, ep, el)
        ep, el = self.elem_id(_need(content, "elem_id", str, where), where)
        if "value" not in content:
            raise DecodeError(f"{where}: set without a value")
        return (OP_SET, cid, counter, ep, el, self.value(content["value"]))

    def tree_op(self, cid, counter, content, kind, where):
        """A tree create, move or delete."""
        if kind not in ("create", "move", "delete"):
            raise DecodeError(f"{where}: unsupported op {kind!r} on a Tree")
        tp, tc = self.id(_need(content, "target", str, where))
        if kind == "create" and (tp, tc) != (self.change_peer, counter):
            raise DecodeError(f"{where}: a tree create's target must be the op's id")
        if kind == "delete":
            return (OP_TREE, cid, counter, tp, tc, "deleted", b"")
        if "parent" not in content:
            raise DecodeError(f"{where}: tree {kind} without a parent")
        parent = None if content["parent"] is None else self.id(content["parent"])
        fi = _need(content, "fractional_index", str, where)
        try:
            position = bytes.fromhex(fi)
        except ValueError:
            raise DecodeError(f"{where}: bad fractional index {fi!r}") from None
        return (OP_TREE, cid, counter, tp, tc, parent, position)


# A lone surrogate reaches a parsed str from a raw one in the text or from a \uD800-\uDFFF
# escape; a text with neither (nearly all) is not walked.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(obj):
    """Whether a str anywhere in the parsed `obj` (keys included) holds a lone surrogate."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if type(o) is str:
            if _SURROGATE.search(o):
                return True
        elif type(o) is list:
            stack.extend(o)
        elif type(o) is dict:
            stack.extend(o)
            stack.extend(o.values())
    return False


def decode_updates(text):
    """Parse JSON updates into change tuples; raises DecodeError on anything malformed."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise DecodeError(f"invalid JSON: {e}") from None
    if (_SURROGATE.search(text) or _SURROGATE_ESCAPE.search(text)) and _lone_surrogate(doc):
        # (no UTF-8 form: loro's parser refuses it, and loro_c could not export it)
        raise DecodeError("a string of the JSON updates has a lone surrogate")
    if not isinstance(doc, dict):
        raise DecodeError("JSON updates must be an object")
    if doc.get("schema_version") != 1:
        raise DecodeError(f"unsupported schema_version {doc.get('schema_version')!r}")
    dec = _Decoder(doc.get("peers"))
    raw_changes = _need(doc, "changes", list, "updates")
    out = []
    for n, ch in enumerate(raw_changes):
        where = f"change #{n}"
        peer, counter = dec.id(_need(ch, "id", str, where))
        timestamp = _need(ch, "timestamp", int, where)
        lamport = _need(ch, "lamport", int, where)
        if not 0 <= lamport < (1 << 32):
            raise DecodeError(f"{where}: lamport {lamport} is out of range")
        msg = ch.get("msg")
        if msg is not None and not isinstance(msg, str):
            raise DecodeError(f"{where}: msg must be a string or null")
        deps = [dec.id(d) for d in _need(ch, "deps", list, where)]
        dec.change_peer = peer
        ops = [dec.op(o, f"{where} op #{i}") for i, o in enumerate(_need(ch, "ops", list, where))]
        out.append((peer, counter, lamport, timestamp, msg, deps, ops))
    return out
