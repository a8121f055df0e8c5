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

from loro_c import ephemeral_codec as _postcard
from loro_c import _doc
from loro_c._types import ContainerID
from loro_c._version import ID
from loro_c.errors import LoroError, LoroTypeError

__all__ = ["Side", "Cursor", "AbsolutePosition", "PosQueryResult"]

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
        id_pc = None if self.id is None else (self.id.peer, self.id.counter)
        return _postcard.encode_cursor(id_pc, self.container, _SIDE_INDEX[self.side],
                                       self._origin_pos)

    @classmethod
    def decode(cls, data):
        """A cursor from Loro's bytes; `DecodeError` when they are not one (bytes after the
        cursor are ignored, as loro does)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LoroTypeError(f"expected bytes, not {type(data).__name__}")
        id_pc, container, side, origin = _postcard.decode_cursor(data)
        return cls(None if id_pc is None else ID(*id_pc), container, _SIDE_OF_INDEX[side], origin)

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


def cursor_at(doc, c, cid, pos, side, a_list=False):
    """The cursor at visible index `pos` of sequence container `c` (loro's rules: an empty
    container or a position at or past the end gives a cursor without an id); `a_list`:
    `c` is a List (see _doc.cursor_atom_at)."""
    length, atom = _doc.cursor_atom_at(doc, c, pos, a_list)
    if length == 0:
        return Cursor(None, cid, Side.Left if side is Side.Middle else side, 0)
    if pos >= length:
        return Cursor(None, cid, Side.Right, length)
    return Cursor(ID(*atom), cid, side, pos)


def movable_cursor_at(doc, c, cid, pos, side):
    """cursor_at for a MovableList: the list item at user position `pos`."""
    length, atom = _doc.ml_cursor_atom_at(doc, c, pos)
    if length == 0:
        return Cursor(None, cid, Side.Left if side is Side.Middle else side, 0)
    if pos >= length:
        return Cursor(None, cid, Side.Right, length)
    return Cursor(ID(*atom), cid, side, pos)


def query(doc, cursor):
    """LoroDoc.get_cursor_pos: see the module docstring."""
    if not isinstance(cursor, Cursor):
        raise LoroTypeError(f"expected a loro_c.Cursor, not {type(cursor).__name__}")
    movable = str(cursor.container.container_type) == "MovableList"
    found = (_doc.ml_cursor_find if movable else _doc.cursor_find)(doc, cursor.container, cursor.id)
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
    update = (movable_cursor_at if movable else cursor_at)(doc, c, cursor.container, pos, Side.Left)
    return PosQueryResult(update, AbsolutePosition(pos, Side.Left))
