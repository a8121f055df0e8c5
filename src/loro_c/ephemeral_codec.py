"""Loro's wire format for presence messages: postcard (serde) encodings of LoroValue,
of EphemeralStore entries and of the legacy Awareness peer records.

This is not the columnar value encoding of change blocks (_codec.pyx): Loro serialises
presence with serde + postcard, so a LoroValue is an enum tag (varint) followed by its
payload, integers are zigzag varints, doubles 8 little-endian bytes, strings and byte
strings a varint length then the bytes, lists and maps a varint count then the items.

    EphemeralStore message = Vec<(key: str, value: Option<LoroValue>, timestamp: i64)>
    Awareness message      = Vec<(peer: u64, counter: i32, record: LoroValue)>

Decoding follows postcard's rules, including the ones that matter for hostile input:
varints of at most 10 bytes (5 for 32-bit fields) whose last byte must not overflow,
bools and Option tags that are exactly 0 or 1, strict UTF-8, at most 512 nested lists and
maps (Loro's limit for ephemeral values), and bytes after the message are ignored.
"""
import struct

from loro_c import _types
from loro_c.errors import DecodeError, LoroTypeError, LoroValueError

__all__ = ["encode_value", "encode_entries", "decode_entries", "encode_peers",
           "decode_peers", "check_value", "MAX_DEPTH"]

MAX_DEPTH = 512

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_U64_MASK = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")

# LoroValue variant tags, in Loro's serde order
_NULL, _BOOL, _DOUBLE_T, _I64, _STRING, _LIST, _MAP, _CONTAINER, _BINARY = range(9)


# ------------------------------------------------------------------ encoding

def _uvarint(out, u):
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)


def _zigzag64(out, v):
    _uvarint(out, ((v << 1) ^ (v >> 63)) & _U64_MASK)


def _zigzag32(out, v):
    _uvarint(out, ((v << 1) ^ (v >> 31)) & 0xFFFFFFFF)


def _str(out, s):
    try:
        raw = s.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError("string is not valid Unicode (it has a lone surrogate)") from None
    _uvarint(out, len(raw))
    out += raw


def _cid(out, cid):
    ct = cid.container_type.to_historical_byte()
    if isinstance(cid, _types.ContainerID.Root):
        out.append(0)
        _str(out, cid.name)
    else:
        out.append(1)
        _uvarint(out, cid.peer)
        _zigzag32(out, cid.counter)
    out.append(ct)


def _value(out, v):
    t = type(v)
    if v is None:
        out.append(_NULL)
    elif t is bool:
        out.append(_BOOL)
        out.append(1 if v else 0)
    elif t is int:
        if not _I64_MIN <= v <= _I64_MAX:
            raise LoroTypeError(f"integer {v} does not fit in a signed 64-bit value")
        out.append(_I64)
        _zigzag64(out, v)
    elif t is float:
        out.append(_DOUBLE_T)
        out += _DOUBLE.pack(v)
    elif t is str:
        out.append(_STRING)
        _str(out, v)
    elif t is bytes:
        out.append(_BINARY)
        _uvarint(out, len(v))
        out += v
    elif t is list:
        out.append(_LIST)
        _uvarint(out, len(v))
        for x in v:
            _value(out, x)
    elif t is dict:
        out.append(_MAP)
        _uvarint(out, len(v))
        for k, x in v.items():
            if type(k) is not str:
                raise LoroTypeError(f"map keys must be str, not {type(k).__name__}")
            _str(out, k)
            _value(out, x)
    elif isinstance(v, _types.ContainerID):
        out.append(_CONTAINER)
        _cid(out, v)
    else:
        raise LoroTypeError(f"{t.__name__} is not a Loro value (None, bool, int, float, str, "
                            "bytes, list, dict, ContainerID)")


def encode_value(v):
    """The postcard bytes of one LoroValue; validates it (LoroTypeError/LoroValueError)."""
    out = bytearray()
    try:
        _value(out, v)
    except RecursionError:
        raise LoroValueError("value is nested too deeply") from None
    return bytes(out)


def check_value(v):
    """A private copy of a Loro value (lists and dicts copied) after validating it."""
    encode_value(v)
    return _copy(v)


def _copy(v):
    t = type(v)
    if t is list:
        return [_copy(x) for x in v]
    if t is dict:
        return {k: _copy(x) for k, x in v.items()}
    return v


def encode_entries(entries):
    """EphemeralStore message from (key, encoded value or None, timestamp) triples."""
    out = bytearray()
    _uvarint(out, len(entries))
    for key, raw, ts in entries:
        _str(out, key)
        if raw is None:
            out.append(0)
        else:
            out.append(1)
            out += raw
        _zigzag64(out, ts)
    return bytes(out)


def encode_peers(peers):
    """Awareness message from (peer, counter, encoded value) triples."""
    out = bytearray()
    _uvarint(out, len(peers))
    for peer, counter, raw in peers:
        _uvarint(out, peer)
        _zigzag32(out, counter)
        out += raw
    return bytes(out)


# ------------------------------------------------------------------ decoding

class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.end = len(data)

    def byte(self):
        p = self.pos
        if p >= self.end:
            raise DecodeError("ephemeral data: hit the end of the buffer, expected more data")
        self.pos = p + 1
        return self.data[p]

    def take(self, n):
        p = self.pos
        if n > self.end - p:
            raise DecodeError("ephemeral data: hit the end of the buffer, expected more data")
        self.pos = p + n
        return self.data[p:p + n]

    def uvarint(self, max_bytes=10, last_max=1):
        # postcard: a u64 takes at most 10 bytes, a u32 at most 5, and the last one may
        # only carry the bits that are left (1 for u64, 4 for u32)
        out = 0
        for i in range(max_bytes):
            b = self.byte()
            out |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if i == max_bytes - 1 and b > last_max:
                    break
                return out
        raise DecodeError("ephemeral data: a varint that does not fit its type")

    def u32(self):
        return self.uvarint(5, 15)

    def i64(self):
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def i32(self):
        u = self.u32()
        return (u >> 1) ^ -(u & 1)

    def flag(self, what):
        b = self.byte()
        if b > 1:
            raise DecodeError(f"ephemeral data: {what} that is neither 0 nor 1")
        return b == 1

    def string(self):
        raw = self.take(self.uvarint())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("ephemeral data: a string that is not valid UTF-8") from None

    def value(self, depth):
        tag = self.u32()
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return self.flag("a bool")
        if tag == _DOUBLE_T:
            return _DOUBLE.unpack(self.take(8))[0]
        if tag == _I64:
            return self.i64()
        if tag == _STRING:
            return self.string()
        if tag == _LIST:
            if depth == 0:
                raise DecodeError("ephemeral data: value nested deeper than 512 levels")
            n = self.uvarint()
            out = []
            # every item takes at least one byte, so a lying count stops at the end
            for _ in range(n):
                out.append(self.value(depth - 1))
            return out
        if tag == _MAP:
            if depth == 0:
                raise DecodeError("ephemeral data: value nested deeper than 512 levels")
            n = self.uvarint()
            out = {}
            for _ in range(n):
                k = self.string()
                out[k] = self.value(depth - 1)
            return out
        if tag == _CONTAINER:
            return self.cid()
        if tag == _BINARY:
            return bytes(self.take(self.uvarint()))
        raise DecodeError(f"ephemeral data: unknown LoroValue tag {tag}")

    def cid(self):
        kind = self.u32()
        if kind == 0:
            name = self.string()
            ct = _types.ContainerType.from_historical_byte(self.byte())
            try:
                return _types.ContainerID.Root(name, ct)
            except LoroValueError as e:
                # Loro would take any name; loro_c's ContainerID refuses invalid ones
                raise DecodeError(f"ephemeral data: {e}") from None
        if kind == 1:
            peer = self.uvarint()
            counter = self.i32()
            ct = _types.ContainerType.from_historical_byte(self.byte())
            return _types.ContainerID.Normal(peer, counter, ct)
        raise DecodeError(f"ephemeral data: unknown ContainerID variant {kind}")

    def raw_value(self):
        """(value, its encoded bytes), so re-encoding copies the bytes."""
        start = self.pos
        v = self.value(MAX_DEPTH)
        return v, bytes(self.data[start:self.pos])


def _reader(data):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise LoroTypeError(f"expected bytes, not {type(data).__name__}")
    return _Reader(bytes(data))


def decode_entries(data):
    """An EphemeralStore message as a list of (key, (value, raw) or None, timestamp).
    Raises DecodeError; trailing bytes are ignored, as postcard does."""
    r = _reader(data)
    n = r.uvarint()
    out = []
    for _ in range(n):
        key = r.string()
        present = r.flag("an Option tag")
        val = r.raw_value() if present else None
        out.append((key, val, r.i64()))
    return out


def decode_peers(data):
    """An Awareness message as a list of (peer, counter, (value, raw))."""
    r = _reader(data)
    n = r.uvarint()
    out = []
    for _ in range(n):
        peer = r.uvarint()
        counter = r.i32()
        out.append((peer, counter, r.raw_value()))
    return out

