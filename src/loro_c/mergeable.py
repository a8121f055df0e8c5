"""Mergeable child containers (loro 1.17's `LoroMap.ensure_mergeable_*`).

Two peers that each create "the note under key k" with `insert_container` get two
containers, and one of them wins the key. `ensure_mergeable_<kind>(k)` instead derives the
child's id from (parent map, key, kind), so every peer names the same container and their
edits merge. The child is a root container whose name starts with the reserved prefix
"🤝:" followed by a path: the nearest ordinary map ancestor (`$<root name>` or
`@<peer base36>:<counter base36>`) and the escaped keys down to the child, joined by `>`.
Its kind is the root id's container type.

The parent map's slot holds an 8-byte marker: b"\\x00LM\\x01", the kind byte, then 24 bits
of the CRC-32 of (domain, parent id bytes, key, kind). The slot's value decides whether the
child is shown: a marker that matches (parent, key, kind) shows the child there (reads,
deep values, events and paths see the container); anything else, including a marker
copied from another key, is a plain binary value. A deleted or overwritten marker hides
the child without touching its state, which shows again when the marker is written again.
"""
import zlib

from loro_c._types import ContainerID, ContainerType, _uleb

PREFIX = "🤝:"
MAGIC = b"\x00LM\x01"
MARKER_LEN = 8
_CRC_DOMAIN = b"loro.mergeable.marker.v1"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ESCAPES = {"\\": "\\\\", ">": "\\>", "/": "\\s", "\0": "\\0"}
_UNESCAPES = {"\\": "\\", ">": ">", "s": "/", "0": "\0"}


def _base36(n):
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    n = abs(n)
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(_DIGITS[r])
    return sign + "".join(reversed(digits))


def _parse_base36(s, signed):
    """Canonical lowercase base36 (no leading zeros, no "-0"), else None."""
    neg = signed and s.startswith("-")
    body = s[1:] if neg else s
    if not body or any(ch not in _DIGITS for ch in body) or (len(body) > 1 and body[0] == "0"):
        return None
    if neg and body == "0":
        return None
    n = int(body, 36)
    return -n if neg else n


def _escape(segment):
    return "".join(_ESCAPES.get(ch, ch) for ch in segment)


def _split(payload):
    """The payload's segments, unescaped, or None when an escape is malformed or a raw "/"
    or NUL appears."""
    out = []
    cur = []
    it = iter(payload)
    for ch in it:
        if ch == "\\":
            nxt = next(it, None)
            if nxt not in _UNESCAPES:
                return None
            cur.append(_UNESCAPES[nxt])
        elif ch == ">":
            out.append("".join(cur))
            cur = []
        elif ch == "/" or ch == "\0":
            return None
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _payload_of_parent(parent):
    """The name payload a child of `parent` extends: a mergeable map's own payload, else the
    base segment naming the ordinary map."""
    if isinstance(parent, ContainerID.Root):
        if parent.name.startswith(PREFIX) and parent.container_type == ContainerType.Map() \
                and parse_child(parent) is not None:
            return parent.name[len(PREFIX):]
        return "$" + _escape(parent.name)
    return "@" + _escape(f"{_base36(parent.peer)}:{_base36(parent.counter)}")


def child_cid(parent, key, container_type):
    """The id every peer gives the mergeable `container_type` child at `key` of map `parent`."""
    return ContainerID.Root(PREFIX + _payload_of_parent(parent) + ">" + _escape(key),
                            container_type)


def _digest(parent, key, kind):
    raw = parent.to_bytes()
    k = key.encode("utf-8")
    crc = zlib.crc32(_CRC_DOMAIN + _uleb(len(raw)) + raw + _uleb(len(k)) + k + bytes([kind]))
    return (crc & 0xFFFFFF).to_bytes(3, "big")


def marker(parent, key, kind):
    """The slot value that shows the mergeable child of type byte `kind` at `key`."""
    return MAGIC + bytes([kind]) + _digest(parent, key, kind)


def marker_kind(parent, key, value):
    """The type byte `value` activates at (parent, key), or None for any other value."""
    if type(value) is not bytes or len(value) != MARKER_LEN or not value.startswith(MAGIC):
        return None
    kind = value[4]
    if kind > 5 or value[5:] != _digest(parent, key, kind):
        return None
    return kind


def is_mergeable_name(name):
    return name.startswith(PREFIX)


def parse_child(cid):
    """(parent map id, key) of a mergeable child id, or None when `cid` is not one."""
    if not isinstance(cid, ContainerID.Root) or not cid.name.startswith(PREFIX):
        return None
    payload = cid.name[len(PREFIX):]
    segments = _split(payload)
    if segments is None or len(segments) < 2:
        return None
    base = segments[0]
    if base.startswith("$"):
        name = base[1:]
        if not name or name.startswith(PREFIX):
            return None
        parent = ContainerID.Root(name, ContainerType.Map())
    elif base.startswith("@"):
        peer_s, sep, ctr_s = base[1:].partition(":")
        peer = _parse_base36(peer_s, False) if sep else None
        ctr = _parse_base36(ctr_s, True) if sep else None
        if peer is None or ctr is None or peer >= 1 << 64 or not -(1 << 31) <= ctr < 1 << 31:
            return None
        parent = ContainerID.Normal(peer, ctr, ContainerType.Map())
    else:
        return None
    for key in segments[1:-1]:
        parent = ContainerID.Root(PREFIX + _payload_of_parent(parent) + ">" + _escape(key),
                                  ContainerType.Map())
    return parent, segments[-1]
