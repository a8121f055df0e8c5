"""Stable positions in Text and List: `Cursor`, `Side`, `PosQueryResult`, as in loro.

A cursor names the atom (character or list element) at a position by its op id, so the
position it stands for follows concurrent edits: `LoroDoc.get_cursor_pos` finds where that
atom is now. When the atom has been deleted, the answer is where it would be (the number of
visible atoms before its tombstone, which loro_c's sequence index keeps), with side Left and
an updated cursor, as loro answers. `Cursor.encode()`/`decode()` use Loro's bytes (postcard
of the id, the container id, the side and the position the cursor was made at), so cursors
travel between loro_c, loro and loro-crdt peers, e.g. inside presence messages.
"""
import enum

from loro_c._types import ContainerID, ContainerType
from loro_c._version import ID
from loro_c.errors import DecodeError, LoroError, LoroTypeError

__all__ = ["Side", "Cursor", "AbsolutePosition", "PosQueryResult"]

_U64 = (1 << 64) - 1


class Side(enum.Enum):
    """Where a cursor stands relative to its atom: before it, on it, or after it."""
    Left = -1
    Middle = 0
    Right = 1

    def __int__(self):
        return self.value

    def __repr__(self):
        return f"Side.{self.name}"

    __str__ = __repr__


# postcard encodes an enum by its variant's index
_SIDE_INDEX = {Side.Left: 0, Side.Middle: 1, Side.Right: 2}
_SIDE_OF_INDEX = {v: k for k, v in _SIDE_INDEX.items()}


def check_side(side):
    if not isinstance(side, Side):
        raise LoroTypeError(f"side must be a loro_c.Side, not {type(side).__name__}")
    return side


class Cursor:
    """A stable position in a Text or List (see the module docstring)."""
    __slots__ = ("id", "container", "side", "_origin_pos")

    def __init__(self, id, container, side, origin_pos=0):
        self.id = id
        self.container = container
        self.side = side
        self._origin_pos = origin_pos

    def encode(self):
        """Loro's bytes for this cursor."""
        out = bytearray()
        if self.id is None:
            out.append(0)
        else:
            out.append(1)
            _uleb(out, self.id.peer)
            _uleb(out, _zigzag(self.id.counter))
        cid = self.container
        if isinstance(cid, ContainerID.Root):
            out.append(0)
            name = cid.name.encode("utf-8")
            _uleb(out, len(name))
            out += name
        else:
            out.append(1)
            _uleb(out, cid.peer)
            _uleb(out, _zigzag(cid.counter))
        out.append(cid.container_type.to_historical_byte())
        out.append(_SIDE_INDEX[self.side])
        _uleb(out, self._origin_pos)
        return bytes(out)

    @classmethod
    def decode(cls, data):
        """A cursor from Loro's bytes; `DecodeError` when they are not one (bytes after the
        cursor are ignored, as loro does)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LoroTypeError(f"expected bytes, not {type(data).__name__}")
        r = _Reader(bytes(data))
        tag = r.byte()
        if tag == 0:
            id = None
        elif tag == 1:
            id = ID(r.u64(), r.i32())
        else:
            raise DecodeError(f"bad option tag {tag} in a cursor")
        kind = r.byte()
        if kind == 0:
            n = r.uleb(1 << 32)
            try:
                name = r.take(n).decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("a cursor's root container name is not UTF-8") from None
            make = lambda t: ContainerID.Root(name, t)
        elif kind == 1:
            peer, counter = r.u64(), r.i32()
            make = lambda t: ContainerID.Normal(peer, counter, t)
        else:
            raise DecodeError(f"bad container id tag {kind} in a cursor")
        t = r.byte()
        if t > 5:
            raise DecodeError(f"a cursor names a container type this version does not know ({t})")
        try:
            container = make(ContainerType.from_historical_byte(t))
        except (ValueError, TypeError) as e:
            raise DecodeError(f"bad container id in a cursor: {e}") from None
        s = r.uleb(3)
        if s not in _SIDE_OF_INDEX:
            raise DecodeError(f"bad side {s} in a cursor")
        origin = r.uleb(_U64)
        return cls(id, container, _SIDE_OF_INDEX[s], origin)

    def __repr__(self):
        return f"Cursor(id={self.id!r}, container={self.container!r}, side={self.side!r})"


class AbsolutePosition:
    """A position now, and the side of its atom the cursor stands on."""
    __slots__ = ("pos", "side")

    def __init__(self, pos, side):
        self.pos = pos
        self.side = side

    def __repr__(self):
        return f"AbsolutePosition(pos={self.pos}, side={self.side!r})"


class PosQueryResult:
    """`current`: where a cursor is now; `update`: a fresh cursor when its atom was deleted."""
    __slots__ = ("update", "current")

    def __init__(self, update, current):
        self.update = update
        self.current = current

    def __repr__(self):
        return f"PosQueryResult(update={self.update!r}, current={self.current!r})"


def cursor_at(doc, c, cid, pos, side):
    """The cursor at visible index `pos` of sequence container `c` (loro's rules: an empty
    container or a position at or past the end gives a cursor without an id)."""
    length, atom = doc._cursor_atom_at(c, pos)
    if length == 0:
        return Cursor(None, cid, Side.Left if side is Side.Middle else side, 0)
    if pos >= length:
        return Cursor(None, cid, Side.Right, length)
    return Cursor(ID(*atom), cid, side, pos)


def query(doc, cursor):
    """LoroDoc.get_cursor_pos: see the module docstring."""
    if not isinstance(cursor, Cursor):
        raise LoroTypeError(f"expected a loro_c.Cursor, not {type(cursor).__name__}")
    found = doc._cursor_find(cursor.container, cursor.id)
    if found is None:
        if cursor.id is None and isinstance(cursor.container, ContainerID.Root):
            # a root always exists: one this document never used is empty (loro then
            # also hands back a cursor for it)
            return PosQueryResult(Cursor(None, cursor.container, cursor.side, 0),
                                  AbsolutePosition(0, cursor.side))
        raise LoroError("Cannot find relative position. The id is not found.")
    c, length, pos, alive = found
    if cursor.id is None:
        p = 0 if cursor.side is Side.Left else length
        return PosQueryResult(None, AbsolutePosition(p, cursor.side))
    if alive:
        return PosQueryResult(None, AbsolutePosition(pos, cursor.side))
    update = cursor_at(doc, c, cursor.container, pos, Side.Left)
    return PosQueryResult(update, AbsolutePosition(pos, Side.Left))


def _uleb(out, v):
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _zigzag(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((-v - 1) << 1) | 1


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def byte(self):
        if self.pos >= len(self.data):
            raise DecodeError("a cursor ends early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self, limit):
        v = shift = 0
        while True:
            b = self.byte()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 63:
                raise DecodeError("a varint in a cursor is too long")
        if v > limit:
            raise DecodeError("a number in a cursor is out of range")
        return v

    def u64(self):
        return self.uleb(_U64)

    def i32(self):
        z = self.uleb(0xFFFFFFFF)
        return (z >> 1) ^ -(z & 1)

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise DecodeError("a cursor ends early")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b
