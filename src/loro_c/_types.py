"""Plain value types of loro_c (Python; the container kinds come from loro_c._kinds).

Names and shapes follow the reference ``loro`` package (1.17.1):

* :class:`ContainerType` with the variants ``Text``, ``Map``, ``List``,
  ``MovableList``, ``Tree``, ``Counter`` and ``Unknown(kind)``.
* :class:`ContainerID` with the variants ``Root(name, container_type)`` and
  ``Normal(peer, counter, container_type)``.
* :class:`CounterSpan`, :class:`IdSpan`, :class:`VersionRange`,
  :class:`VersionVectorDiff`, :class:`ImportStatus`, :class:`ExportMode`,
  :class:`ValueOrContainer`.

Differences from ``loro`` (deliberate): every type here compares by value and
the immutable ones are hashable; ``repr()`` is Python-style; ``str()`` of a
container id is Loro's string form (``cid:root-NAME:Type`` /
``cid:COUNTER@PEER:Type``); ``VersionRange`` prints its peers in ascending
order.

Spans: a :class:`CounterSpan` may be *reversed* (``start > end``).  A
reversed span ``(s, e)`` covers the counters ``e+1 .. s`` (inclusive), i.e.
it normalises to ``(e + 1, s + 1)``.  ``start == end`` is an empty span.
"""

import operator
import re

from ._kinds import KIND_HISTORICAL, KIND_NAMES, CidCore as _CidCore, cid_fill as _cid_fill
from ._kinds import cid_classes as _kinds_cid_classes, normal_cid as _kinds_normal_cid
from .errors import DecodeError, LoroTypeError, LoroValueError

__all__ = [
    "ContainerType",
    "ContainerID",
    "CounterSpan",
    "IdSpan",
    "VersionRange",
    "VersionVectorDiff",
    "ImportStatus",
    "ExportMode",
    "ValueOrContainer",
    "validate_root_name",
    "MERGEABLE_NAME_PREFIX",
]

_U64_MAX = (1 << 64) - 1
_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1

#: Prefix reserved for the names of mergeable (deterministic) root containers.
MERGEABLE_NAME_PREFIX = "\U0001F91D:"


def _index(value, what):
    """Return ``value`` as an int (bool accepted), else raise TypeError."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"argument '{what}': '{type(value).__name__}' object cannot be "
            "interpreted as an integer"
        ) from None


def _unsigned(value, what, top):
    v = _index(value, what)
    if v < 0:
        raise OverflowError(f"argument '{what}': can't convert negative int to unsigned")
    if v > top:
        raise OverflowError(f"argument '{what}': int too big to convert")
    return v


def _u64(value, what):
    return _unsigned(value, what, _U64_MAX)


def _u32(value, what):
    return _unsigned(value, what, 0xFFFFFFFF)


def _i32(value, what):
    v = _index(value, what)
    if v < _I32_MIN:
        raise OverflowError(f"argument '{what}': number too small to fit in target type")
    if v > _I32_MAX:
        raise OverflowError(f"argument '{what}': number too large to fit in target type")
    return v


def _u8(value, what):
    v = _index(value, what)
    if v < 0:
        raise OverflowError(f"argument '{what}': number too small to fit in target type")
    if v > 255:
        raise OverflowError(f"argument '{what}': number too large to fit in target type")
    return v


def _frozen_setattr(self, name, value):
    raise AttributeError(f"'{type(self).__qualname__}' object attribute '{name}' is read-only")


def _norm_span(start, end):
    """Normalise a possibly reversed span to ascending ``(start, end)``.

    Only ``end < start`` counts as reversed; ``start == end`` stays empty.
    The ``+ 1`` wraps around at the i32 limit, as in Loro.
    """
    if end < start:
        return _inc32(end), _inc32(start)
    return start, end


def _inc32(x):
    return _I32_MIN if x == _I32_MAX else x + 1


def _nest(outer, inner, name):
    """Attach ``inner`` as ``outer.<name>`` with a matching qualified name."""
    inner.__name__ = name
    inner.__qualname__ = f"{outer.__qualname__}.{name}"
    setattr(outer, name, inner)


# ---------------------------------------------------------------------------
# ContainerType
# ---------------------------------------------------------------------------

class ContainerType:
    """The kind of a container.

    Use the variants: ``ContainerType.Text()``, ``.Map()``, ``.List()``,
    ``.MovableList()``, ``.Tree()``, ``.Counter()`` and
    ``ContainerType.Unknown(kind)`` for kinds this version does not know.
    ``ContainerType`` itself cannot be instantiated.

    Attributes common to every variant:

    * ``kind``: the raw type byte (Map 0, List 1, Text 2, Tree 3,
      MovableList 4, Counter 5; ``Unknown(k)`` -> ``k``), as used in binary
      ops, snapshot keys and :meth:`ContainerID.to_bytes`.
    * ``name``: the name used in container id strings (``"Text"``,
      ``"Unknown(7)"``...).
    """

    __slots__ = ()
    _name = None
    _kind = None
    _historical = None

    def __new__(cls, *args, **kwargs):
        if cls is ContainerType:
            raise TypeError("cannot create 'ContainerType' instances; use a variant such as ContainerType.Text()")
        return object.__new__(cls)

    __setattr__ = _frozen_setattr

    @property
    def kind(self):
        """Raw type byte of this container type."""
        return self._kind

    @property
    def name(self):
        """Name used in the string form of container ids (``"Text"``...)."""
        return self._name

    def to_byte(self):
        """Raw type byte (same as :attr:`kind`)."""
        return self._kind

    def to_historical_byte(self):
        """Type byte of the historical table (Text 0, Map 1, List 2,
        MovableList 3, Tree 4, Counter 5, ``Unknown(k)`` -> ``k``), used only
        where Loro serialises a ContainerID with postcard."""
        return self._historical

    @staticmethod
    def from_byte(byte):
        """Container type for a raw type byte (unknown bytes give ``Unknown``)."""
        b = _u8(byte, "byte")
        cls = _BY_RAW.get(b)
        return cls() if cls is not None else ContainerType.Unknown(b)

    @staticmethod
    def from_historical_byte(byte):
        """Container type for a historical-table type byte (see :meth:`to_historical_byte`)."""
        b = _u8(byte, "byte")
        cls = _BY_HISTORICAL.get(b)
        return cls() if cls is not None else ContainerType.Unknown(b)

    @staticmethod
    def from_name(name):
        """Parse a type name: ``"Text"``, ``"Map"``, ``"List"``,
        ``"MovableList"``, ``"Tree"``, ``"Counter"`` (or the lower-camel
        aliases ``"text"``, ``"movableList"``...) or ``"Unknown(k)"``.

        ``"Unknown(k)"`` with a known ``k`` gives the known type, as Loro does.
        Raises :class:`~loro_c.errors.LoroValueError` for anything else.
        """
        if not isinstance(name, str):
            raise LoroTypeError(f"container type name must be str, not {type(name).__name__}")
        cls = _BY_NAME.get(name)
        if cls is not None:
            return cls()
        m = _UNKNOWN_RE.fullmatch(name)
        if m is not None:
            k = int(m.group(1))
            if k <= 255:
                return ContainerType.from_byte(k)
        raise LoroValueError(
            f"unknown container type {name!r}; expected Map, List, Text, Tree, "
            "MovableList, Counter or Unknown(k)"
        )

    def is_unknown(self):
        """True for ``ContainerType.Unknown`` variants."""
        return False

    def __eq__(self, other):
        if not isinstance(other, ContainerType):
            return NotImplemented
        return type(self) is type(other) and self._kind == other._kind

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        # known types are singletons with a precomputed hash (ids hash their type on creation)
        return self._tyhash

    def __str__(self):
        return self._name

    def __repr__(self):
        return f"ContainerType.{self._name}()"

    def __reduce__(self):
        return (type(self), ())


def _make_known_type(name, raw, historical):
    def __new__(cls):
        inst = cls.__dict__.get("_instance")
        if inst is None:
            inst = object.__new__(cls)
            type.__setattr__(cls, "_instance", inst)
        return inst

    cls = type(
        name,
        (ContainerType,),
        {
            "__slots__": (),
            "__new__": __new__,
            "__doc__": f"The ``{name}`` container type (raw byte {raw}).",
            "__module__": __name__,
            "_name": name,
            "_kind": raw,
            "_historical": historical,
            "_tyhash": hash(("ContainerType", name, raw)),
        },
    )
    _nest(ContainerType, cls, name)
    return cls


# One class per kind of include/loro_c/kinds.h (through loro_c._kinds), by raw type byte.
_BY_RAW = {raw: _make_known_type(name, raw, KIND_HISTORICAL[raw]) for raw, name in enumerate(KIND_NAMES)}
_BY_HISTORICAL = {c._historical: c for c in _BY_RAW.values()}
_BY_NAME = {c._name: c for c in _BY_RAW.values()}
# Loro's serde names of the kinds ("text", "movableList"...)
_BY_NAME.update({name[0].lower() + name[1:]: c for name, c in list(_BY_NAME.items())})
_UNKNOWN_RE = re.compile(r"Unknown\(([0-9]{1,3})\)", re.ASCII)


class _Unknown(ContainerType):
    """A container type this version does not know; ``kind`` is its raw byte."""

    __slots__ = ("_k",)
    __match_args__ = ("kind",)

    def __new__(cls, kind):
        k = _u8(kind, "kind")
        inst = object.__new__(cls)
        object.__setattr__(inst, "_k", k)
        return inst

    @property
    def _kind(self):
        return self._k

    @property
    def _historical(self):
        return self._k

    @property
    def _name(self):
        return f"Unknown({self._k})"

    @property
    def _tyhash(self):
        return hash(("ContainerType", "_Unknown", self._k))

    def is_unknown(self):
        """True for ``ContainerType.Unknown`` variants."""
        return True

    def __repr__(self):
        return f"ContainerType.Unknown({self._k})"

    def __reduce__(self):
        return (ContainerType.Unknown, (self._k,))


_nest(ContainerType, _Unknown, "Unknown")


# ---------------------------------------------------------------------------
# ContainerID
# ---------------------------------------------------------------------------

# Values nest at most this deep (lists and dicts): the codec's readers and writers recurse on
# the C stack and stop at 512 levels, counting an op's own wrapping. A deeper value used to be
# taken by a local edit and then fail every export; far deeper, the value check overflowed
# the C stack.
MAX_VALUE_NESTING = 500


def lossy_utf8(s):
    """`s` as loro stores a str value that has a lone surrogate (pyo3's lossy conversion):
    the surrogate's 3 surrogate-escaped UTF-8 bytes are invalid, and each becomes U+FFFD."""
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def check_utf8(s, what):
    """`s` (a str), or LoroValueError when it holds a lone surrogate: such a str has no UTF-8
    form, so no Loro document can store it where loro needs the exact text (a key, a name,
    a commit message); loro raises UnicodeEncodeError there."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError(f"{what} {s!r} has a lone surrogate: it has no UTF-8 form") from None
    return s


def validate_root_name(name, allow_reserved=False):
    """Check a root container name; raise :class:`LoroValueError` if invalid.

    A valid name is a non-empty ``str`` that contains no ``/`` and no NUL and
    can be encoded as UTF-8.  Unless ``allow_reserved`` is true, names that
    start with the mergeable-container prefix (``"🤝:"``) are refused too, as
    Loro refuses them for user-created roots.
    """
    if not isinstance(name, str):
        raise LoroTypeError(f"root container name must be str, not {type(name).__name__}")
    if not name or "/" in name or "\0" in name:
        raise LoroValueError(
            f"invalid root container name {name!r}: it must not be empty or contain '/' or NUL"
        )
    if not allow_reserved and name.startswith(MERGEABLE_NAME_PREFIX):
        raise LoroValueError(
            f"invalid root container name {name!r}: the prefix {MERGEABLE_NAME_PREFIX!r} is reserved"
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError(f"invalid root container name {name!r}: not encodable as UTF-8") from None


def _check_container_type(ct):
    if not isinstance(ct, ContainerType):
        raise LoroTypeError(
            f"argument 'container_type': expected a ContainerType instance, not {type(ct).__name__}"
        )
    return ct


_CID_COUNTER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_CID_PEER_RE = re.compile(r"\+?[0-9]+", re.ASCII)


def _uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class ContainerID(_CidCore):
    """Identifier of a container.

    Variants: ``ContainerID.Root(name, container_type)`` for root containers
    and ``ContainerID.Normal(peer, counter, container_type)`` for containers
    created by the op with id ``counter@peer``.  ``ContainerID`` itself
    cannot be instantiated.  Instances are immutable and hashable.

    ``str(cid)`` is Loro's string form (``cid:root-NAME:Type`` or
    ``cid:COUNTER@PEER:Type``); :meth:`parse` reads it back.
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        if cls is ContainerID:
            raise TypeError("cannot create 'ContainerID' instances; use ContainerID.Root or ContainerID.Normal")
        return _CidCore.__new__(cls)

    __setattr__ = _frozen_setattr

    @property
    def is_root(self):
        """True for ``ContainerID.Root``."""
        return isinstance(self, ContainerID.Root)

    @classmethod
    def parse(cls, s):
        """Parse the string form ``cid:root-NAME:Type`` / ``cid:COUNTER@PEER:Type``.

        Raises :class:`~loro_c.errors.LoroValueError` on malformed input.
        """
        if not isinstance(s, str):
            raise LoroTypeError(f"container id must be str, not {type(s).__name__}")
        if not s.startswith("cid:"):
            raise LoroValueError(f"invalid container id {s!r}: missing 'cid:' prefix")
        body = s[4:]
        if body.startswith("root-"):
            name, sep, type_name = body[5:].rpartition(":")
            if not sep or not name:
                raise LoroValueError(f"invalid container id {s!r}")
            ct = ContainerType.from_name(type_name)
            return ContainerID.Root(name, ct)
        parts = body.split(":")
        if len(parts) != 2:
            raise LoroValueError(f"invalid container id {s!r}")
        id_part, type_name = parts
        counter_s, sep, peer_s = id_part.partition("@")
        if (not sep or _CID_COUNTER_RE.fullmatch(counter_s) is None
                or _CID_PEER_RE.fullmatch(peer_s) is None):
            raise LoroValueError(f"invalid container id {s!r}: bad 'counter@peer' part")
        counter = int(counter_s)
        peer = int(peer_s)
        if not (_I32_MIN <= counter <= _I32_MAX) or peer > _U64_MAX:
            raise LoroValueError(f"invalid container id {s!r}: counter or peer out of range")
        ct = ContainerType.from_name(type_name)
        return ContainerID.Normal(peer, counter, ct)

    @classmethod
    def from_bytes(cls, data):
        """Decode the binary key form produced by :meth:`to_bytes`.

        Raises :class:`~loro_c.errors.DecodeError` on malformed input.
        """
        data = bytes(data)
        if not data:
            raise DecodeError("empty container id bytes")
        first = data[0]
        ct = ContainerType.from_byte(first & 0x7F)
        if first & 0x80:
            n = 0
            shift = 0
            pos = 1
            while True:
                if pos >= len(data) or pos > 10:
                    raise DecodeError("malformed container id name length")
                b = data[pos]
                pos += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            if n != len(data) - pos:
                raise DecodeError("container id name length does not match the data")
            try:
                name = data[pos:].decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("container id name is not valid UTF-8") from None
            try:
                return ContainerID.Root(name, ct)
            except LoroValueError as e:
                raise DecodeError(str(e)) from None
        if len(data) != 13:
            raise DecodeError("normal container id must be 13 bytes")
        peer = int.from_bytes(data[1:9], "little")
        counter = int.from_bytes(data[9:13], "little", signed=True)
        return ContainerID.Normal(peer, counter, ct)

    # (hash and equality: _CidCore's, in C)


class _Root(ContainerID):
    """A root container id: ``ContainerID.Root(name, container_type)``.

    ``name`` must be non-empty and contain no ``/`` or NUL
    (:class:`~loro_c.errors.LoroValueError` otherwise).
    """

    __slots__ = ("name", "container_type")
    __match_args__ = ("name", "container_type")

    def __init__(self, name, container_type):
        validate_root_name(name, allow_reserved=True)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "container_type", _check_container_type(container_type))
        # ids are dictionary keys on every import: hash once
        _cid_fill(self, (name, self.container_type), hash(("Root", name, self.container_type._tyhash)))

    def to_bytes(self):
        """Binary key form: ``kind|0x80``, ULEB128 name length, UTF-8 name."""
        raw = self.name.encode("utf-8")
        return bytes([(self.container_type.kind & 0x7F) | 0x80]) + _uleb(len(raw)) + raw

    def __str__(self):
        return f"cid:root-{self.name}:{self.container_type}"

    def __repr__(self):
        return f"ContainerID.Root(name={self.name!r}, container_type={self.container_type})"

    def __reduce__(self):
        return (ContainerID.Root, (self.name, self.container_type))


class _Normal(ContainerID):
    """A container created by an op: ``ContainerID.Normal(peer, counter, container_type)``.

    ``peer`` is a u64 and ``counter`` an i32 (``OverflowError`` otherwise).
    """

    __slots__ = ("peer", "counter", "container_type")
    __match_args__ = ("peer", "counter", "container_type")

    def __init__(self, peer, counter, container_type):
        object.__setattr__(self, "peer", _u64(peer, "peer"))
        object.__setattr__(self, "counter", _i32(counter, "counter"))
        object.__setattr__(self, "container_type", _check_container_type(container_type))
        _cid_fill(self, (self.peer, self.counter, self.container_type),
                  hash(("Normal", self.peer, self.counter, self.container_type._tyhash)))

    def to_bytes(self):
        """Binary key form: ``kind``, peer u64 little-endian, counter i32 little-endian."""
        return (bytes([self.container_type.kind & 0x7F])
                + self.peer.to_bytes(8, "little")
                + self.counter.to_bytes(4, "little", signed=True))

    def __str__(self):
        return f"cid:{self.counter}@{self.peer}:{self.container_type}"

    def __repr__(self):
        return (f"ContainerID.Normal(peer={self.peer}, counter={self.counter}, "
                f"container_type={self.container_type})")

    def __reduce__(self):
        return (ContainerID.Normal, (self.peer, self.counter, self.container_type))


_nest(ContainerID, _Root, "Root")
_nest(ContainerID, _Normal, "Normal")


# ContainerID.Normal without its checks, for parts the engine holds as valid (in C)
_kinds_cid_classes(_Normal)
normal_cid = _kinds_normal_cid


# the ContainerType singleton of each known raw kind byte
TYPE_BY_KIND = tuple(_BY_RAW[raw]() for raw in range(len(_BY_RAW)))


# ---------------------------------------------------------------------------
# Spans and ranges
# ---------------------------------------------------------------------------

class CounterSpan:
    """A run of counters ``start .. end`` (end exclusive).

    The span may be reversed (``start > end``); it then covers
    ``end + 1 .. start`` inclusive.  Both ends are i32.  Immutable, hashable.
    """

    __slots__ = ("start", "end")
    __match_args__ = ("start", "end")

    def __init__(self, start, end):
        object.__setattr__(self, "start", _i32(start, "start"))
        object.__setattr__(self, "end", _i32(end, "end"))

    __setattr__ = _frozen_setattr

    def normalized(self):
        """``(start, end)`` in ascending order (a reversed span is flipped)."""
        return _norm_span(self.start, self.end)

    def __len__(self):
        return abs(self.end - self.start)

    def __eq__(self, other):
        if not isinstance(other, CounterSpan):
            return NotImplemented
        return self.start == other.start and self.end == other.end

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(("CounterSpan", self.start, self.end))

    def __repr__(self):
        return f"CounterSpan(start={self.start}, end={self.end})"

    def __reduce__(self):
        return (CounterSpan, (self.start, self.end))


class IdLp:
    """An op's peer and Lamport timestamp (loro's IdLp). Immutable, hashable, ordered by
    (lamport, peer) as loro orders concurrent writes."""

    __slots__ = ("peer", "lamport")
    __match_args__ = ("peer", "lamport")

    def __init__(self, peer, lamport):
        object.__setattr__(self, "peer", _u64(peer, "peer"))
        object.__setattr__(self, "lamport", _u32(lamport, "lamport"))

    __setattr__ = _frozen_setattr

    def _key(self):
        return (self.lamport, self.peer)

    def __eq__(self, other):
        if not isinstance(other, IdLp):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, IdLp):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self):
        return hash(("IdLp", self.peer, self.lamport))

    def __repr__(self):
        return f"IdLp {{ peer: {self.peer}, lamport: {self.lamport} }}"


class IdSpan:
    """The ops ``counter.start .. counter.end`` of peer ``peer``.

    ``counter`` is a :class:`CounterSpan` (possibly reversed).  Immutable,
    hashable.
    """

    __slots__ = ("peer", "counter")
    __match_args__ = ("peer", "counter")

    def __init__(self, peer, counter):
        if not isinstance(counter, CounterSpan):
            raise TypeError(
                f"argument 'counter': '{type(counter).__name__}' object cannot be converted to 'CounterSpan'"
            )
        object.__setattr__(self, "peer", _u64(peer, "peer"))
        object.__setattr__(self, "counter", counter)

    __setattr__ = _frozen_setattr

    def __len__(self):
        return len(self.counter)

    def __eq__(self, other):
        if not isinstance(other, IdSpan):
            return NotImplemented
        return self.peer == other.peer and self.counter == other.counter

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(("IdSpan", self.peer, self.counter.start, self.counter.end))

    def __repr__(self):
        return f"IdSpan(peer={self.peer}, counter={self.counter!r})"

    def __reduce__(self):
        return (IdSpan, (self.peer, self.counter))


def _check_id_span(span):
    if not isinstance(span, IdSpan):
        raise TypeError(f"argument 'span': '{type(span).__name__}' object cannot be converted to 'IdSpan'")
    return span


class VersionRange:
    """A map ``peer -> (start, end)`` of counter ranges (end exclusive).

    Ranges are stored as given (``insert`` does not normalise).  Mutable and
    therefore unhashable; compares by value.
    """

    __slots__ = ("_m",)

    def __init__(self):
        self._m = {}

    @classmethod
    def from_map(cls, map):
        """Build from a ``dict`` ``{peer: (start, end)}``."""
        vr = cls()
        for peer, rng in dict(map).items():
            start, end = rng
            vr._m[_u64(peer, "peer")] = (_i32(start, "start"), _i32(end, "end"))
        return vr

    @classmethod
    def _trusted(cls, m):
        """Wrap a dict the caller built correctly (u64 peers, i32 bounds); no copy."""
        vr = cls.__new__(cls)
        vr._m = m
        return vr

    @classmethod
    def from_vv(cls, vv):
        """The range ``(0, end)`` for every peer of the VersionVector ``vv``."""
        vr = cls()
        for peer, end in vv.to_dict().items():
            if end > 0:
                vr._m[peer] = (0, end)
        return vr

    @property
    def is_empty(self):
        """True when no peer has a range."""
        return not self._m

    def clear(self):
        """Remove every range."""
        self._m.clear()

    def get(self, peer):
        """``(start, end)`` of ``peer`` or ``None``."""
        return self._m.get(_u64(peer, "peer"))

    def insert(self, peer, start, end):
        """Set the range of ``peer`` to ``(start, end)`` (replaces any previous one)."""
        self._m[_u64(peer, "peer")] = (_i32(start, "start"), _i32(end, "end"))

    def contains_ops_between(self, vv_a, vv_b):
        """Whether this range covers every op between the two version vectors.

        Mirrors Loro: for each span ``(s, e)`` in ``vv_a - vv_b`` and in
        ``vv_b - vv_a`` it requires ``contains_id_span((s - 1, e))`` — note the
        ``- 1``, so the op just before the difference must be covered too.
        """
        for spans in (vv_a.sub_iter(vv_b), vv_b.sub_iter(vv_a)):
            for sp in spans:
                s = max(sp.counter.start - 1, _I32_MIN)
                if not self._contains(sp.peer, s, sp.counter.end):
                    return False
        return True

    def has_overlap_with(self, span):
        """Whether ``span`` (normalised) intersects the range of its peer."""
        _check_id_span(span)
        rng = self._m.get(span.peer)
        if rng is None:
            return False
        s, e = _norm_span(span.counter.start, span.counter.end)
        return rng[0] < e and rng[1] > s

    def contains_id(self, id):
        """Whether the op ``id`` lies in the range of its peer."""
        try:
            peer, counter = id.peer, id.counter
        except AttributeError:
            raise TypeError(f"argument 'id': '{type(id).__name__}' object cannot be converted to 'ID'") from None
        rng = self._m.get(peer)
        return rng is not None and rng[0] <= counter < rng[1]

    def _contains(self, peer, start, end):
        rng = self._m.get(peer)
        if rng is None:
            return False
        s, e = _norm_span(start, end)
        return rng[0] <= s and rng[1] >= e

    def contains_id_span(self, span):
        """Whether ``span`` (normalised) lies inside the range of its peer."""
        _check_id_span(span)
        return self._contains(span.peer, span.counter.start, span.counter.end)

    def extends_to_include_id_span(self, span):
        """Grow the range of ``span.peer`` to cover ``span`` (normalised); add it if absent."""
        _check_id_span(span)
        s, e = _norm_span(span.counter.start, span.counter.end)
        rng = self._m.get(span.peer)
        if rng is None:
            self._m[span.peer] = (s, e)
        else:
            self._m[span.peer] = (min(rng[0], s), max(rng[1], e))

    def inner(self):
        """A new ``dict`` ``{peer: (start, end)}``."""
        return dict(self._m)

    def __eq__(self, other):
        if not isinstance(other, VersionRange):
            return NotImplemented
        return self._m == other._m

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        items = ", ".join(f"{p}: {self._m[p]}" for p in sorted(self._m))
        return f"VersionRange({{{items}}})"

    def __reduce__(self):
        return (VersionRange.from_map, (dict(self._m),))


class VersionVectorDiff:
    """Result of ``VersionVector.diff``: ``retreat`` (ops to undo) and
    ``forward`` (ops to apply), both :class:`VersionRange`."""

    __slots__ = ("retreat", "forward")
    __match_args__ = ("retreat", "forward")

    def __init__(self, retreat, forward):
        object.__setattr__(self, "retreat", retreat)
        object.__setattr__(self, "forward", forward)

    __setattr__ = _frozen_setattr

    def __eq__(self, other):
        if not isinstance(other, VersionVectorDiff):
            return NotImplemented
        return self.retreat == other.retreat and self.forward == other.forward

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return f"VersionVectorDiff(retreat={self.retreat!r}, forward={self.forward!r})"


class ImportStatus:
    """Result of an import: ``success`` (a :class:`VersionRange` of the ops
    applied) and ``pending`` (``None`` or a :class:`VersionRange` of ops waiting
    for missing dependencies)."""

    __slots__ = ("success", "pending")
    __match_args__ = ("success", "pending")

    def __init__(self, success, pending=None):
        object.__setattr__(self, "success", success)
        object.__setattr__(self, "pending", pending)

    __setattr__ = _frozen_setattr

    def __eq__(self, other):
        if not isinstance(other, ImportStatus):
            return NotImplemented
        return self.success == other.success and self.pending == other.pending

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return f"ImportStatus(success={self.success!r}, pending={self.pending!r})"


# ---------------------------------------------------------------------------
# ExportMode
# ---------------------------------------------------------------------------

class ExportMode:
    """What ``LoroDoc.export`` produces.  Use a variant:

    * ``ExportMode.Snapshot()``: full history and state.
    * ``ExportMode.Updates(from_)``: ops not included in VersionVector ``from_``.
    * ``ExportMode.UpdatesInRange(spans)``: ops in a list of :class:`IdSpan`.
    * ``ExportMode.ShallowSnapshot(frontiers)``: state with history trimmed at ``frontiers``.
    * ``ExportMode.StateOnly(frontiers)``: state at ``frontiers`` (``None`` = current).
    * ``ExportMode.SnapshotAt(version)``: snapshot at Frontiers ``version``.

    These are plain data holders; ``ExportMode`` itself cannot be instantiated.
    """

    __slots__ = ()
    _fields = ()

    def __new__(cls, *args, **kwargs):
        if cls is ExportMode:
            raise TypeError("cannot create 'ExportMode' instances; use a variant such as ExportMode.Snapshot()")
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        names = self._fields
        if len(args) > len(names):
            raise TypeError(f"{type(self).__qualname__}() takes {len(names)} argument(s)")
        values = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names or k in values:
                raise TypeError(f"{type(self).__qualname__}() got an unexpected or repeated argument {k!r}")
            values[k] = v
        for n in names:
            if n not in values:
                default = self._defaults.get(n, _MISSING) if hasattr(self, "_defaults") else _MISSING
                if default is _MISSING:
                    raise TypeError(f"{type(self).__qualname__}() missing required argument {n!r}")
                values[n] = default
            object.__setattr__(self, n, values[n])

    __setattr__ = _frozen_setattr

    def __eq__(self, other):
        if not isinstance(other, ExportMode):
            return NotImplemented
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n in self._fields
        )

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__qualname__}({args})"


_MISSING = object()


def _make_export_mode(name, fields, doc, defaults=None):
    ns = {"__slots__": fields, "_fields": fields, "__match_args__": fields,
          "__doc__": doc, "__module__": __name__}
    if defaults:
        ns["_defaults"] = defaults
    cls = type(name, (ExportMode,), ns)
    _nest(ExportMode, cls, name)
    return cls


_make_export_mode("Snapshot", (), "Export the full history and the current state.")
_Updates = _make_export_mode("Updates", ("from_",), "Export the ops not included in the VersionVector ``from_``.")


def _updates_new(cls, from_):
    # one per exported update on a busy server: one Python frame (no ExportMode.__new__
    # then __init__), no generic argument parsing
    self = object.__new__(cls)
    object.__setattr__(self, "from_", from_)
    return self


_Updates.__new__ = staticmethod(_updates_new)
_Updates.__init__ = object.__init__
_make_export_mode("UpdatesInRange", ("spans",), "Export the ops in ``spans`` (a list of IdSpan).")
_make_export_mode("ShallowSnapshot", ("frontiers",),
                  "Export a snapshot whose history starts at ``frontiers``.")
_make_export_mode("StateOnly", ("frontiers",),
                  "Export only the state at ``frontiers`` (``None``: the current version).",
                  {"frontiers": None})
_make_export_mode("SnapshotAt", ("version",), "Export a snapshot of the document at Frontiers ``version``.")


# ---------------------------------------------------------------------------
# ValueOrContainer
# ---------------------------------------------------------------------------

class ValueOrContainer:
    """What container getters return: ``ValueOrContainer.Value(value)`` for a
    plain value or ``ValueOrContainer.Container(container)`` for a child
    container handler.  ``ValueOrContainer`` itself cannot be instantiated."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        if cls is ValueOrContainer:
            raise TypeError("cannot create 'ValueOrContainer' instances; use ValueOrContainer.Value or .Container")
        return object.__new__(cls)

    __setattr__ = _frozen_setattr

    @classmethod
    def is_value(cls, value):
        """True if ``value`` is a ``ValueOrContainer.Value`` (False for ``None``)."""
        if value is None:
            return False
        if not isinstance(value, ValueOrContainer):
            raise TypeError(
                f"argument 'value': '{type(value).__name__}' object cannot be converted to 'ValueOrContainer'"
            )
        return isinstance(value, ValueOrContainer.Value)

    @classmethod
    def is_container(cls, value):
        """True if ``value`` is a ``ValueOrContainer.Container`` (False for ``None``)."""
        if value is None:
            return False
        if not isinstance(value, ValueOrContainer):
            raise TypeError(
                f"argument 'value': '{type(value).__name__}' object cannot be converted to 'ValueOrContainer'"
            )
        return isinstance(value, ValueOrContainer.Container)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r


class _Value(ValueOrContainer):
    """A plain value (``None``, bool, int, float, str, bytes, list, dict or ContainerID)."""

    __slots__ = ("value",)
    __match_args__ = ("value",)

    def __init__(self, value):
        object.__setattr__(self, "value", value)

    def __eq__(self, other):
        if not isinstance(other, ValueOrContainer):
            return NotImplemented
        return type(other) is type(self) and self.value == other.value

    __hash__ = None

    def __repr__(self):
        return f"ValueOrContainer.Value({self.value!r})"


class _Container(ValueOrContainer):
    """A child container handler (LoroText, LoroMap...)."""

    __slots__ = ("container",)
    __match_args__ = ("container",)

    def __init__(self, container):
        object.__setattr__(self, "container", container)

    def __eq__(self, other):
        if not isinstance(other, ValueOrContainer):
            return NotImplemented
        return type(other) is type(self) and self.container == other.container

    __hash__ = None

    def __repr__(self):
        return f"ValueOrContainer.Container({self.container!r})"


_nest(ValueOrContainer, _Value, "Value")
_nest(ValueOrContainer, _Container, "Container")


# ---------------------------------------------------------------------------
# Blob metadata (LoroDoc.decode_import_blob_meta)
# ---------------------------------------------------------------------------

import enum as _enum


class EncodedBlobMode(_enum.Enum):
    """The kind of a binary blob, as reported by ``decode_import_blob_meta``."""

    Snapshot = "snapshot"
    OutdatedSnapshot = "outdated_snapshot"
    ShallowSnapshot = "shallow_snapshot"
    OutdatedRle = "outdated_rle"
    Updates = "updates"

    def __int__(self):
        # loro numbers the variants in declaration order
        return list(EncodedBlobMode).index(self)

    def __str__(self):
        return f"EncodedBlobMode.{self.name}"


class _SlotRecord:
    """A frozen record of named fields (its __slots__), equal to another of its type with the
    same fields; unhashable, like loro's."""

    __slots__ = ()
    __setattr__ = _frozen_setattr

    def _fill(self, *values):
        """Set the fields, in __slots__ order (the subclass's __init__ names them)."""
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None


class ImportBlobMetadata(_SlotRecord):
    """What ``LoroDoc.decode_import_blob_meta`` reports about a blob without importing it.

    * ``partial_start_vv`` / ``partial_end_vv``: the blob holds every op from the first to
      the second, for the peers it mentions only.
    * ``start_timestamp`` / ``end_timestamp``: timestamps of its first and last change
      (by Lamport order).
    * ``start_frontiers``: the dependencies of the blob that it does not contain itself.
    * ``change_num``: the number of changes; ``mode``: an :class:`EncodedBlobMode`.
    """

    __slots__ = ("partial_start_vv", "partial_end_vv", "start_timestamp", "start_frontiers",
                 "end_timestamp", "change_num", "mode")

    def __init__(self, partial_start_vv, partial_end_vv, start_timestamp, start_frontiers,
                 end_timestamp, change_num, mode):
        self._fill(partial_start_vv, partial_end_vv, start_timestamp, start_frontiers,
                   end_timestamp, change_num, mode)


    def __repr__(self):
        return ("ImportBlobMetadata { "
                f"partial_start_vv: {self.partial_start_vv!r}, "
                f"partial_end_vv: {self.partial_end_vv!r}, "
                f"start_timestamp: {self.start_timestamp}, "
                f"start_frontiers: {self.start_frontiers!r}, "
                f"end_timestamp: {self.end_timestamp}, "
                f"change_num: {self.change_num}, "
                f"mode: {self.mode.name} }}")


__all__ += ["EncodedBlobMode", "ImportBlobMetadata"]


class Ordering(_enum.Enum):
    """How two versions compare (`LoroDoc.cmp_frontiers`, `cmp_with_frontiers`); `int()`
    gives loro's numbers (Less 0, Equal 1, Greater 2)."""
    Less = 0
    Equal = 1
    Greater = 2

    def __int__(self):
        return self.value

    def __repr__(self):
        return f"Ordering.{self.name}"

    __str__ = __repr__
class ChangeMeta(_SlotRecord):
    """A change as ``LoroDoc.get_change`` reports it: ``id`` (of its first op), ``lamport``
    (of its first op), ``timestamp``, ``message`` (``None`` when none), ``deps`` (a
    :class:`Frontiers`) and ``len`` (its number of ops, counted in atoms)."""

    __slots__ = ("lamport", "id", "timestamp", "message", "deps", "len")

    def __init__(self, lamport, id, timestamp, message, deps, len):
        self._fill(lamport, id, timestamp, message, deps, len)


    def __repr__(self):
        return (f"ChangeMeta {{ id: {self.id!r}, lamport: {self.lamport}, "
                f"timestamp: {self.timestamp}, message: {self.message!r}, deps: {self.deps!r}, "
                f"len: {self.len} }}")


__all__ += ["ChangeMeta"]


# -- LoroTree values (the handle is in handles/tree.pxi) --------------------------------------

class TreeID:
    """A tree node's id: the id of the op that created it, ``TreeID(peer, counter)``.
    Compared by value and hashable (loro's is not hashable; a superset)."""

    __slots__ = ("peer", "counter")

    def __init__(self, peer, counter):
        self.peer = operator.index(peer)
        self.counter = operator.index(counter)
        if not 0 <= self.peer < (1 << 64):
            raise OverflowError(f"peer {peer} does not fit in u64")
        if not -(1 << 31) <= self.counter < (1 << 31):
            raise OverflowError(f"counter {counter} does not fit in i32")

    def __eq__(self, other):
        return (type(other) is TreeID and self.peer == other.peer
                and self.counter == other.counter)

    def __hash__(self):
        return hash((self.peer, self.counter))

    def __repr__(self):
        return f"TreeID {{ peer: {self.peer}, counter: {self.counter} }}"

    __str__ = __repr__


class TreeNode(_SlotRecord):
    """A node as ``LoroTree.get_nodes`` lists it: ``id``, ``parent`` (a TreeID, or None for
    a root), ``fractional_index`` (hex) and ``index`` among its siblings."""

    __slots__ = ("id", "parent", "fractional_index", "index")

    def __init__(self, id, parent, fractional_index, index):
        self._fill(id, parent, fractional_index, index)

    def __repr__(self):
        return (f"TreeNode {{ id: {self.id!r}, parent: {self.parent!r}, "
                f"fractional_index: {self.fractional_index}, index: {self.index} }}")


__all__ += ["TreeID", "TreeNode"]
