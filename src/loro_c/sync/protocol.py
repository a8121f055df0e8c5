"""Loro sync protocol, version 1 (loro-dev/protocol ``protocol.md``): frames as values.

Pure Python and transport-free: :func:`encode` turns a message into the bytes of one
binary WebSocket frame, :func:`decode` does the reverse and rejects anything that is not
exactly one well-formed message with :class:`ProtocolError`.  Keepalive frames are the
text strings ``"ping"`` and ``"pong"`` and never go through these functions.

Layout of every binary frame::

    magic (4 bytes: %LOR %EPH %EPS %YJS %YAW %ELO %FLO)
    varString room id (<= 128 bytes of UTF-8)
    u8 message type
    payload (per type)

A frame is at most :data:`MAX_MESSAGE_SIZE` bytes; larger updates travel as a
:class:`DocUpdateFragmentHeader` followed by :class:`DocUpdateFragment` messages, which
:class:`FragmentAssembler` puts back together and :func:`split_update` produces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from ..errors import LoroError

__all__ = [
    "ProtocolError", "MessageTooLarge",
    "MAX_MESSAGE_SIZE", "MAX_ROOM_ID_LENGTH", "DEFAULT_FRAGMENT_TIMEOUT",
    "CRDT_LORO", "CRDT_EPHEMERAL", "CRDT_EPHEMERAL_PERSISTED", "CRDT_TYPES",
    "MessageType", "JoinErrorCode", "RoomErrorCode", "UpdateStatus",
    "JoinRequest", "JoinResponseOk", "JoinError", "DocUpdate",
    "DocUpdateFragmentHeader", "DocUpdateFragment", "RoomError", "Leave", "Ack",
    "Message", "encode", "decode", "new_batch_id", "split_update",
    "FragmentAssembler", "PING", "PONG",
]

MAX_MESSAGE_SIZE = 256 * 1024
MAX_ROOM_ID_LENGTH = 128
DEFAULT_FRAGMENT_TIMEOUT = 10.0
PING = "ping"
PONG = "pong"

CRDT_LORO = "%LOR"
CRDT_EPHEMERAL = "%EPH"
CRDT_EPHEMERAL_PERSISTED = "%EPS"
# Every magic protocol.md names; the decoder accepts them all so a server can answer
# "unsupported" politely instead of treating a foreign CRDT as garbage.
CRDT_TYPES = frozenset({CRDT_LORO, CRDT_EPHEMERAL, CRDT_EPHEMERAL_PERSISTED,
                        "%YJS", "%YAW", "%ELO", "%FLO"})

BATCH_ID_LEN = 8
_MAX_VARUINT_BYTES = 10  # 64 bits


class ProtocolError(LoroError, ValueError):
    """A frame that is not a well-formed protocol v1 message (or cannot be encoded as one)."""


class MessageTooLarge(ProtocolError):
    """A frame (or a reassembled update) exceeds the protocol's size limit."""


class MessageType:
    JOIN_REQUEST = 0x00
    JOIN_RESPONSE_OK = 0x01
    JOIN_ERROR = 0x02
    DOC_UPDATE = 0x03
    DOC_UPDATE_FRAGMENT_HEADER = 0x04
    DOC_UPDATE_FRAGMENT = 0x05
    ROOM_ERROR = 0x06
    LEAVE = 0x07
    ACK = 0x08


class JoinErrorCode:
    UNKNOWN = 0x00
    VERSION_UNKNOWN = 0x01
    AUTH_FAILED = 0x02
    APP_ERROR = 0x7F


class RoomErrorCode:
    REJOIN_SUGGESTED = 0x01
    EVICTED = 0x02
    UNKNOWN = 0x7F


class UpdateStatus:
    OK = 0x00
    UNKNOWN = 0x01
    PERMISSION_DENIED = 0x03
    INVALID_UPDATE = 0x04
    PAYLOAD_TOO_LARGE = 0x05
    RATE_LIMITED = 0x06
    FRAGMENT_TIMEOUT = 0x07
    APP_ERROR = 0x7F


_JOIN_ERROR_CODES = frozenset({0x00, 0x01, 0x02, 0x7F})
_ROOM_ERROR_CODES = frozenset({0x01, 0x02, 0x7F})
_UPDATE_STATUSES = frozenset({0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7F})


@dataclass(frozen=True)
class JoinRequest:
    crdt: str
    room_id: str
    auth: bytes = b""
    version: bytes = b""
    type = MessageType.JOIN_REQUEST


@dataclass(frozen=True)
class JoinResponseOk:
    crdt: str
    room_id: str
    permission: str = "write"
    version: bytes = b""
    extra: bytes = b""
    type = MessageType.JOIN_RESPONSE_OK


@dataclass(frozen=True)
class JoinError:
    crdt: str
    room_id: str
    code: int
    message: str = ""
    receiver_version: Optional[bytes] = None  # only with VERSION_UNKNOWN
    app_code: Optional[str] = None  # only with APP_ERROR
    type = MessageType.JOIN_ERROR


@dataclass(frozen=True)
class DocUpdate:
    crdt: str
    room_id: str
    updates: Tuple[bytes, ...]
    batch_id: bytes
    type = MessageType.DOC_UPDATE


@dataclass(frozen=True)
class DocUpdateFragmentHeader:
    crdt: str
    room_id: str
    batch_id: bytes
    fragment_count: int
    total_size: int
    type = MessageType.DOC_UPDATE_FRAGMENT_HEADER


@dataclass(frozen=True)
class DocUpdateFragment:
    crdt: str
    room_id: str
    batch_id: bytes
    index: int
    fragment: bytes
    type = MessageType.DOC_UPDATE_FRAGMENT


@dataclass(frozen=True)
class RoomError:
    crdt: str
    room_id: str
    code: int
    message: str = ""
    type = MessageType.ROOM_ERROR


@dataclass(frozen=True)
class Leave:
    crdt: str
    room_id: str
    type = MessageType.LEAVE


@dataclass(frozen=True)
class Ack:
    crdt: str
    room_id: str
    ref_id: bytes
    status: int = UpdateStatus.OK
    type = MessageType.ACK


Message = Union[JoinRequest, JoinResponseOk, JoinError, DocUpdate, DocUpdateFragmentHeader,
                DocUpdateFragment, RoomError, Leave, Ack]


def new_batch_id() -> bytes:
    return os.urandom(BATCH_ID_LEN)


# -- writing ---------------------------------------------------------------------------

def _uleb(out: bytearray, n: int) -> None:
    if n < 0 or n >= 1 << 64:
        raise ProtocolError(f"varUint out of range: {n}")
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _var_bytes(out: bytearray, b: bytes) -> None:
    _uleb(out, len(b))
    out += b


def _var_str(out: bytearray, s: str) -> None:
    _var_bytes(out, s.encode("utf-8"))


def _batch_id(out: bytearray, b: bytes, what: str) -> None:
    if not isinstance(b, (bytes, bytearray)) or len(b) != BATCH_ID_LEN:
        raise ProtocolError(f"{what} must be exactly {BATCH_ID_LEN} bytes")
    out += b


def _byte(out: bytearray, v: int, what: str) -> None:
    if not 0 <= v <= 0xFF:
        raise ProtocolError(f"{what} must fit in one byte: {v}")
    out.append(v)


def encode(msg: Message, *, max_size: Optional[int] = MAX_MESSAGE_SIZE) -> bytes:
    """Bytes of one binary frame; ProtocolError if ``msg`` cannot be a valid frame.

    MessageTooLarge when the frame would exceed ``max_size`` (None: no limit; only for
    tests that need to build oversize frames)."""
    if msg.crdt not in CRDT_TYPES:
        raise ProtocolError(f"unknown CRDT type {msg.crdt!r}")
    room = msg.room_id.encode("utf-8")
    if len(room) > MAX_ROOM_ID_LENGTH:
        raise ProtocolError(f"room id is {len(room)} bytes, the limit is {MAX_ROOM_ID_LENGTH}")
    out = bytearray(msg.crdt.encode("ascii"))
    _var_bytes(out, room)
    out.append(msg.type)
    t = msg.type
    if t == MessageType.JOIN_REQUEST:
        _var_bytes(out, msg.auth)
        _var_bytes(out, msg.version)
    elif t == MessageType.JOIN_RESPONSE_OK:
        if msg.permission not in ("read", "write"):
            raise ProtocolError(f"permission must be 'read' or 'write', not {msg.permission!r}")
        _var_str(out, msg.permission)
        _var_bytes(out, msg.version)
        _var_bytes(out, msg.extra)
    elif t == MessageType.JOIN_ERROR:
        _byte(out, msg.code, "JoinError code")
        _var_str(out, msg.message)
        if msg.code == JoinErrorCode.VERSION_UNKNOWN and msg.receiver_version is not None:
            _var_bytes(out, msg.receiver_version)
        if msg.code == JoinErrorCode.APP_ERROR and msg.app_code is not None:
            _var_str(out, msg.app_code)
    elif t == MessageType.DOC_UPDATE:
        _uleb(out, len(msg.updates))
        for u in msg.updates:
            _var_bytes(out, u)
        _batch_id(out, msg.batch_id, "batch id")
    elif t == MessageType.DOC_UPDATE_FRAGMENT_HEADER:
        _batch_id(out, msg.batch_id, "batch id")
        _uleb(out, msg.fragment_count)
        _uleb(out, msg.total_size)
    elif t == MessageType.DOC_UPDATE_FRAGMENT:
        _batch_id(out, msg.batch_id, "batch id")
        _uleb(out, msg.index)
        _var_bytes(out, msg.fragment)
    elif t == MessageType.ROOM_ERROR:
        _byte(out, msg.code, "RoomError code")
        _var_str(out, msg.message)
    elif t == MessageType.LEAVE:
        pass
    elif t == MessageType.ACK:
        _batch_id(out, msg.ref_id, "ack ref id")
        _byte(out, msg.status, "Ack status")
    else:  # pragma: no cover - every dataclass above has a known type
        raise ProtocolError(f"unknown message type {t}")
    if max_size is not None and len(out) > max_size:
        raise MessageTooLarge(f"message of {len(out)} bytes exceeds the {max_size} byte limit")
    return bytes(out)


# -- reading ---------------------------------------------------------------------------

class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes):
        self.buf = buf
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise ProtocolError("truncated message")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise ProtocolError(f"truncated message: need {n} bytes, {self.remaining} left")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return bytes(b)

    def uleb(self) -> int:
        n = 0
        for i in range(_MAX_VARUINT_BYTES):
            b = self.byte()
            n |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if n >= 1 << 64:
                    raise ProtocolError("varUint overflows 64 bits")
                return n
        raise ProtocolError("varUint longer than 10 bytes")

    def var_bytes(self) -> bytes:
        return self.take(self.uleb())

    def var_str(self) -> str:
        raw = self.var_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"varString is not UTF-8: {e}") from None

    def batch_id(self) -> bytes:
        if self.remaining < BATCH_ID_LEN:
            raise ProtocolError("missing 8-byte batch id")
        return self.take(BATCH_ID_LEN)


def decode(data: bytes, *, max_size: Optional[int] = MAX_MESSAGE_SIZE) -> Message:
    """The message in one binary frame.

    Strict: unknown magic or type, truncation, trailing bytes, over-long room ids,
    invalid UTF-8 and frames over ``max_size`` (MessageTooLarge) raise ProtocolError.
    Unknown *code* bytes in JoinError/RoomError/Ack are read as the protocol's
    "unknown" code, as the reference implementations do, so newer peers interoperate."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(f"a frame is bytes, not {type(data).__name__}")
    data = bytes(data)
    if max_size is not None and len(data) > max_size:
        raise MessageTooLarge(f"message of {len(data)} bytes exceeds the {max_size} byte limit")
    r = _Reader(data)
    if r.remaining < 4:
        raise ProtocolError("message shorter than its 4-byte CRDT magic")
    magic = r.take(4)
    crdt = magic.decode("latin-1")
    if crdt not in CRDT_TYPES:
        raise ProtocolError(f"unknown CRDT magic {magic!r}")
    room_len = r.uleb()
    if room_len > MAX_ROOM_ID_LENGTH:
        raise ProtocolError(f"room id is {room_len} bytes, the limit is {MAX_ROOM_ID_LENGTH}")
    try:
        room = r.take(room_len).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("room id is not UTF-8") from None
    t = r.byte()
    msg: Message
    if t == MessageType.JOIN_REQUEST:
        msg = JoinRequest(crdt, room, r.var_bytes(), r.var_bytes())
    elif t == MessageType.JOIN_RESPONSE_OK:
        perm = r.var_str()
        if perm not in ("read", "write"):
            raise ProtocolError(f"invalid permission {perm!r}")
        msg = JoinResponseOk(crdt, room, perm, r.var_bytes(), r.var_bytes())
    elif t == MessageType.JOIN_ERROR:
        code = r.byte()
        if code not in _JOIN_ERROR_CODES:
            code = JoinErrorCode.UNKNOWN
        text = r.var_str()
        rv = r.var_bytes() if code == JoinErrorCode.VERSION_UNKNOWN and r.remaining else None
        app = r.var_str() if code == JoinErrorCode.APP_ERROR and r.remaining else None
        msg = JoinError(crdt, room, code, text, rv, app)
    elif t == MessageType.DOC_UPDATE:
        n = r.uleb()
        # Each update needs at least its length byte, and the batch id follows: a count
        # beyond that is a lie, rejected before looping on it.
        if n > r.remaining - BATCH_ID_LEN:
            raise ProtocolError(f"DocUpdate claims {n} updates in {r.remaining} bytes")
        updates = tuple(r.var_bytes() for _ in range(n))
        msg = DocUpdate(crdt, room, updates, r.batch_id())
    elif t == MessageType.DOC_UPDATE_FRAGMENT_HEADER:
        msg = DocUpdateFragmentHeader(crdt, room, r.batch_id(), r.uleb(), r.uleb())
    elif t == MessageType.DOC_UPDATE_FRAGMENT:
        msg = DocUpdateFragment(crdt, room, r.batch_id(), r.uleb(), r.var_bytes())
    elif t == MessageType.ROOM_ERROR:
        code = r.byte()
        if code not in _ROOM_ERROR_CODES:
            code = RoomErrorCode.UNKNOWN
        msg = RoomError(crdt, room, code, r.var_str())
    elif t == MessageType.LEAVE:
        msg = Leave(crdt, room)
    elif t == MessageType.ACK:
        ref = r.batch_id()
        status = r.byte()
        if status not in _UPDATE_STATUSES:
            status = UpdateStatus.UNKNOWN
        msg = Ack(crdt, room, ref, status)
    else:
        raise ProtocolError(f"unknown message type 0x{t:02x}")
    if r.remaining:
        raise ProtocolError(f"{r.remaining} trailing bytes after {type(msg).__name__}")
    return msg


def peek_header(data: bytes) -> Optional[Tuple[str, str, int, Optional[bytes]]]:
    """(crdt, room id, type, batch id or None) of a frame too large or too broken to
    decode, so the receiver can still address its answer (e.g. Ack payload_too_large);
    None when even that much cannot be read."""
    try:
        r = _Reader(bytes(data))
        crdt = r.take(4).decode("latin-1")
        if crdt not in CRDT_TYPES:
            return None
        n = r.uleb()
        if n > MAX_ROOM_ID_LENGTH:
            return None
        room = r.take(n).decode("utf-8")
        t = r.byte()
        bid: Optional[bytes] = None
        if t in (MessageType.DOC_UPDATE_FRAGMENT_HEADER, MessageType.DOC_UPDATE_FRAGMENT):
            bid = r.batch_id()
        elif t == MessageType.DOC_UPDATE and len(data) >= r.pos + BATCH_ID_LEN:
            bid = bytes(data[-BATCH_ID_LEN:])  # the batch id closes a DocUpdate
        return crdt, room, t, bid
    except (ProtocolError, UnicodeDecodeError):
        return None


# -- fragments -------------------------------------------------------------------------

def _uleb_len(n: int) -> int:
    k = 1
    while n >= 0x80:
        n >>= 7
        k += 1
    return k


def split_update(crdt: str, room_id: str, update: bytes, batch_id: Optional[bytes] = None,
                 *, max_size: int = MAX_MESSAGE_SIZE) -> List[Message]:
    """Messages that carry ``update`` within ``max_size`` each: one DocUpdate when it
    fits, else a DocUpdateFragmentHeader and its DocUpdateFragments (same batch id)."""
    bid = batch_id if batch_id is not None else new_batch_id()
    room_len = len(room_id.encode("utf-8"))
    envelope = 4 + _uleb_len(room_len) + room_len + 1
    if envelope + _uleb_len(1) + _uleb_len(len(update)) + len(update) + BATCH_ID_LEN <= max_size:
        return [DocUpdate(crdt, room_id, (update,), bid)]
    # Fragment frame = envelope + id + varUint index + varBytes chunk; 10 bytes covers
    # any index and 5 any chunk length below 4 GiB.
    chunk = max_size - envelope - BATCH_ID_LEN - _MAX_VARUINT_BYTES - 5
    if chunk <= 0:
        raise ProtocolError(f"max_size {max_size} leaves no room for fragment data")
    parts = [update[i:i + chunk] for i in range(0, len(update), chunk)]
    out: List[Message] = [DocUpdateFragmentHeader(crdt, room_id, bid, len(parts), len(update))]
    out.extend(DocUpdateFragment(crdt, room_id, bid, i, p) for i, p in enumerate(parts))
    return out


@dataclass
class _Pending:
    header: DocUpdateFragmentHeader
    deadline: float
    parts: Dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class FragmentAssembler:
    """Reassembles fragmented updates of one connection.

    Time is passed in (``now``) so the owner decides how to schedule expiry; all
    violations raise ProtocolError (MessageTooLarge for size) and drop the batch, so a
    bad batch never leaves state behind."""

    def __init__(self, *, timeout: float = DEFAULT_FRAGMENT_TIMEOUT,
                 max_update_size: int = 64 * 1024 * 1024, max_batches: int = 16):
        self.timeout = timeout
        self.max_update_size = max_update_size
        self.max_batches = max_batches
        self._pending: Dict[Tuple[str, str, bytes], _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def buffered_bytes(self) -> int:
        return sum(p.size for p in self._pending.values())

    def start(self, header: DocUpdateFragmentHeader, now: float) -> None:
        key = (header.crdt, header.room_id, header.batch_id)
        self._pending.pop(key, None)  # a repeated header restarts its batch
        if header.total_size > self.max_update_size:
            raise MessageTooLarge(
                f"fragmented update of {header.total_size} bytes exceeds {self.max_update_size}")
        if header.fragment_count < 1 or header.fragment_count > max(1, header.total_size):
            raise ProtocolError(
                f"{header.fragment_count} fragments cannot carry {header.total_size} bytes")
        if len(self._pending) >= self.max_batches:
            raise ProtocolError(f"more than {self.max_batches} fragmented batches in flight")
        self._pending[key] = _Pending(header, now + self.timeout)

    def add(self, frag: DocUpdateFragment) -> Optional[bytes]:
        """The whole update once ``frag`` completes its batch, else None."""
        key = (frag.crdt, frag.room_id, frag.batch_id)
        p = self._pending.get(key)
        if p is None:
            raise ProtocolError("fragment for a batch without a header (or already expired)")
        h = p.header
        try:
            if frag.index >= h.fragment_count:
                raise ProtocolError(f"fragment index {frag.index} >= count {h.fragment_count}")
            if frag.index in p.parts:
                raise ProtocolError(f"duplicate fragment {frag.index}")
            p.size += len(frag.fragment)
            if p.size > h.total_size:
                raise ProtocolError("fragments exceed the size their header announced")
        except ProtocolError:
            del self._pending[key]
            raise
        p.parts[frag.index] = frag.fragment
        if len(p.parts) < h.fragment_count:
            return None
        del self._pending[key]
        if p.size != h.total_size:
            raise ProtocolError(f"fragments hold {p.size} bytes, header announced {h.total_size}")
        return b"".join(p.parts[i] for i in range(h.fragment_count))

    def next_deadline(self) -> Optional[float]:
        return min((p.deadline for p in self._pending.values()), default=None)

    def expire(self, now: float) -> List[DocUpdateFragmentHeader]:
        """Drop and return the headers of batches whose timeout has passed."""
        gone = [k for k, p in self._pending.items() if p.deadline <= now]
        return [self._pending.pop(k).header for k in gone]

    def discard_room(self, crdt: str, room_id: str) -> None:
        for k in [k for k in self._pending if k[0] == crdt and k[1] == room_id]:
            del self._pending[k]
