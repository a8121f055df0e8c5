"""Protocol v1 codec: byte vectors from the reference implementation's snapshot tests
(loro-dev/protocol, packages/loro-protocol/tests), round trips, and strict rejection."""

import pytest

from loro_c import LoroError
from loro_c.sync import protocol as P

ROOM = "room-1234"
BID = bytes.fromhex("0102030405060708")

# (message, hex of its frame) — the frames are facts recorded by the reference encoder.
VECTORS = [
    (P.JoinRequest("%LOR", ROOM, bytes([10, 20, 30]), bytes([40, 50, 60])),
     "254c4f5209726f6f6d2d3132333400030a141e0328323c"),
    (P.JoinResponseOk("%YJS", ROOM, "read", bytes([11, 22, 33])),
     "25594a5309726f6f6d2d31323334010472656164030b162100"),
    (P.JoinResponseOk("%LOR", ROOM, "write", bytes([44, 55]), bytes([66, 77, 88])),
     "254c4f5209726f6f6d2d3132333401057772697465022c3703424d58"),
    (P.JoinError("%EPH", ROOM, P.JoinErrorCode.AUTH_FAILED, "Invalid credentials"),
     "2545504809726f6f6d2d31323334020213496e76616c69642063726564656e7469616c73"),
    (P.JoinError("%LOR", ROOM, P.JoinErrorCode.VERSION_UNKNOWN, "Version mismatch", bytes([99, 100])),
     "254c4f5209726f6f6d2d3132333402011056657273696f6e206d69736d61746368026364"),
    (P.JoinError("%YJS", ROOM, P.JoinErrorCode.APP_ERROR, "Application specific error",
                 app_code="quota_exceeded"),
     "25594a5309726f6f6d2d31323334027f1a4170706c69636174696f6e207370656369666963206572726f72"
     "0e71756f74615f6578636565646564"),
    (P.DocUpdate("%YJS", ROOM, (bytes([1, 2, 3]), bytes([4, 5, 6, 7]), bytes([8])), BID),
     "25594a5309726f6f6d2d31323334030303010203040405060701080102030405060708"),
    (P.DocUpdateFragmentHeader("%LOR", ROOM, bytes.fromhex("ff11223344556677"), 10, 1024000),
     "254c4f5209726f6f6d2d3132333404ff112233445566770a80c03e"),
    (P.DocUpdateFragment("%LOR", ROOM, bytes(8), 3, bytes(range(32))),
     "254c4f5209726f6f6d2d313233340500000000000000000320000102030405060708090a0b0c0d0e0f"
     "101112131415161718191a1b1c1d1e1f"),
    (P.RoomError("%LOR", ROOM, P.RoomErrorCode.EVICTED, "evicted"),
     "254c4f5209726f6f6d2d3132333406020765766963746564"),
    (P.Leave("%LOR", ROOM), "254c4f5209726f6f6d2d3132333407"),
    (P.Ack("%LOR", ROOM, BID, P.UpdateStatus.OK),
     "254c4f5209726f6f6d2d3132333408010203040506070800"),
    (P.Ack("%YAW", ROOM, bytes.fromhex("0100000000000000"), P.UpdateStatus.FRAGMENT_TIMEOUT),
     "2559415709726f6f6d2d3132333408010000000000000007"),
]


@pytest.mark.parametrize("msg,hexstr", VECTORS, ids=[type(m).__name__ for m, _ in VECTORS])
def test_reference_vectors(msg, hexstr):
    assert P.encode(msg).hex() == hexstr
    assert P.decode(bytes.fromhex(hexstr)) == msg


def test_errors_belong_to_the_package_hierarchy():
    assert issubclass(P.ProtocolError, LoroError)
    assert issubclass(P.MessageTooLarge, P.ProtocolError)


@pytest.mark.parametrize("frame", [
    b"", b"%LO", b"%XXX\x00\x07",                     # short, unknown magic
    b"%LOR\x05ab",                                     # room id truncated
    b"%LOR\x00",                                       # type missing
    b"%LOR\x00\x09",                                   # unknown type
    b"%LOR\x00\x07\x00",                               # Leave with trailing byte
    b"%LOR\x00\x08" + BID,                             # Ack without status
    b"%LOR\x00\x08" + BID + b"\x00\x00",               # Ack with trailing byte
    b"%LOR\x00\x03\x01\x01A" + BID[:7],                # DocUpdate with 7-byte batch id
    b"%LOR\x00\x03\xff\xff\xff\x0f" + BID,             # DocUpdate count larger than the frame
    b"%LOR\x00\x00\x01",                               # JoinRequest truncated
    b"%LOR\x00\x00" + b"\xff" * 11,                    # varUint longer than 10 bytes
    b"%LOR\x02\xff\xfe\x07",                           # room id not UTF-8
    b"%LOR\x00\x01\x03abc\x00\x00",                    # permission not read/write
    b"%LOR\x00\x04" + BID + b"\x01",                   # fragment header without size
    b"%LOR\x00\x05" + BID + b"\x00\x05ab",             # fragment truncated
])
def test_malformed_frames_are_rejected(frame):
    with pytest.raises(P.ProtocolError):
        P.decode(frame)


def test_room_id_limit():
    ok = "r" * 128
    assert P.decode(P.encode(P.Leave("%LOR", ok))).room_id == ok
    with pytest.raises(P.ProtocolError):
        P.encode(P.Leave("%LOR", "r" * 129))
    with pytest.raises(P.ProtocolError):
        P.decode(b"%LOR" + bytes([129, 1]) + b"r" * 129 + b"\x07")
    # 43 three-byte characters: 129 bytes although only 43 characters
    with pytest.raises(P.ProtocolError):
        P.encode(P.Leave("%LOR", "\u20ac" * 43))


def test_message_size_limit():
    big = P.DocUpdate("%LOR", "r", (b"x" * P.MAX_MESSAGE_SIZE,), BID)
    with pytest.raises(P.MessageTooLarge):
        P.encode(big)
    frame = P.encode(big, max_size=None)
    with pytest.raises(P.MessageTooLarge):
        P.decode(frame)
    assert P.decode(frame, max_size=None) == big
    assert P.peek_header(frame) == ("%LOR", "r", P.MessageType.DOC_UPDATE, BID)
    # exactly at the limit is allowed
    fill = P.MAX_MESSAGE_SIZE - len(P.encode(P.DocUpdate("%LOR", "r", (b"",), BID))) - 2
    at = P.encode(P.DocUpdate("%LOR", "r", (b"y" * fill,), BID))
    assert len(at) == P.MAX_MESSAGE_SIZE
    assert P.decode(at).updates[0] == b"y" * fill


def test_encode_rejects_invalid_fields():
    for bad in [P.Ack("%LOR", "r", b"short"), P.DocUpdate("%LOR", "r", (b"",), b"123456789"),
                P.Ack("%NOP", "r", BID), P.JoinResponseOk("%LOR", "r", "admin"),
                P.RoomError("%LOR", "r", 256)]:
        with pytest.raises(P.ProtocolError):
            P.encode(bad)


def test_unknown_codes_read_as_unknown():
    assert P.decode(b"%LOR\x00\x08" + BID + b"\x42").status == P.UpdateStatus.UNKNOWN
    assert P.decode(b"%LOR\x00\x06\x33\x00").code == P.RoomErrorCode.UNKNOWN
    assert P.decode(b"%LOR\x00\x02\x33\x00").code == P.JoinErrorCode.UNKNOWN


@pytest.mark.parametrize("size", [0, 1, 1000, P.MAX_MESSAGE_SIZE - 20, P.MAX_MESSAGE_SIZE,
                                  3 * P.MAX_MESSAGE_SIZE + 17])
def test_split_and_reassemble(size):
    data = bytes((i * 7) % 251 for i in range(size))
    msgs = P.split_update("%LOR", "room", data, BID)
    frames = [P.encode(m) for m in msgs]  # every frame respects the limit (encode checks)
    assert all(len(f) <= P.MAX_MESSAGE_SIZE for f in frames)
    if len(msgs) == 1:
        assert msgs[0].updates == (data,)
        return
    asm = P.FragmentAssembler()
    header, *frags = [P.decode(f) for f in frames]
    asm.start(header, now=0.0)
    out = None
    for f in reversed(frags):  # order of arrival does not matter
        assert out is None
        out = asm.add(f)
    assert out == data and len(asm) == 0


def test_fragment_violations_drop_the_batch():
    h = P.DocUpdateFragmentHeader("%LOR", "r", BID, 2, 4)
    asm = P.FragmentAssembler()
    with pytest.raises(P.ProtocolError):
        asm.add(P.DocUpdateFragment("%LOR", "r", BID, 0, b"ab"))  # no header
    for bad in [P.DocUpdateFragment("%LOR", "r", BID, 2, b"ab"),     # index out of range
                P.DocUpdateFragment("%LOR", "r", BID, 0, b"abcde")]:  # more than announced
        asm.start(h, 0.0)
        with pytest.raises(P.ProtocolError):
            asm.add(bad)
        assert len(asm) == 0
    asm.start(h, 0.0)
    asm.add(P.DocUpdateFragment("%LOR", "r", BID, 0, b"a"))
    with pytest.raises(P.ProtocolError):
        asm.add(P.DocUpdateFragment("%LOR", "r", BID, 1, b"b"))  # fewer bytes than announced
    assert len(asm) == 0
    with pytest.raises(P.MessageTooLarge):
        P.FragmentAssembler(max_update_size=10).start(
            P.DocUpdateFragmentHeader("%LOR", "r", BID, 1, 11), 0.0)
    with pytest.raises(P.ProtocolError):
        asm.start(P.DocUpdateFragmentHeader("%LOR", "r", BID, 0, 0), 0.0)
    with pytest.raises(P.ProtocolError):
        asm.start(P.DocUpdateFragmentHeader("%LOR", "r", BID, 5, 3), 0.0)


def test_fragment_timeout_and_batch_limit():
    asm = P.FragmentAssembler(timeout=10.0, max_batches=2)
    a = P.DocUpdateFragmentHeader("%LOR", "r", b"A" * 8, 2, 2)
    b = P.DocUpdateFragmentHeader("%LOR", "r", b"B" * 8, 2, 2)
    asm.start(a, now=0.0)
    asm.start(b, now=5.0)
    with pytest.raises(P.ProtocolError):
        asm.start(P.DocUpdateFragmentHeader("%LOR", "r", b"C" * 8, 2, 2), now=5.0)
    assert asm.next_deadline() == 10.0
    assert asm.expire(9.9) == []
    assert asm.expire(10.0) == [a]
    with pytest.raises(P.ProtocolError):
        asm.add(P.DocUpdateFragment("%LOR", "r", b"A" * 8, 0, b"x"))
    assert asm.expire(15.0) == [b] and len(asm) == 0


# -- properties ------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

crdts = st.sampled_from(sorted(P.CRDT_TYPES))
rooms = st.text(max_size=40).filter(lambda s: len(s.encode()) <= 128)
blobs = st.binary(max_size=64)
bids = st.binary(min_size=8, max_size=8)
messages = st.one_of(
    st.builds(P.JoinRequest, crdts, rooms, blobs, blobs),
    st.builds(P.JoinResponseOk, crdts, rooms, st.sampled_from(["read", "write"]), blobs, blobs),
    st.builds(P.JoinError, crdts, rooms, st.sampled_from([0, 2]), st.text(max_size=20)),
    st.builds(P.JoinError, crdts, rooms, st.just(1), st.text(max_size=20), blobs),
    st.builds(P.JoinError, crdts, rooms, st.just(0x7F), st.text(max_size=20), st.none(), st.text(max_size=9)),
    st.builds(P.DocUpdate, crdts, rooms, st.lists(blobs, max_size=5).map(tuple), bids),
    st.builds(P.DocUpdateFragmentHeader, crdts, rooms, bids, st.integers(0, 2**40), st.integers(0, 2**40)),
    st.builds(P.DocUpdateFragment, crdts, rooms, bids, st.integers(0, 2**40), blobs),
    st.builds(P.RoomError, crdts, rooms, st.sampled_from([1, 2, 0x7F]), st.text(max_size=20)),
    st.builds(P.Leave, crdts, rooms),
    st.builds(P.Ack, crdts, rooms, bids, st.sampled_from([0, 1, 3, 4, 5, 6, 7, 0x7F])),
)


@settings(max_examples=200, deadline=None)
@given(messages)
def test_every_message_round_trips(msg):
    assert P.decode(P.encode(msg)) == msg


@settings(max_examples=200, deadline=None)
@given(messages, st.data())
def test_damaged_frames_raise_protocol_error_or_decode(msg, data):
    frame = bytearray(P.encode(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "add"]))
        if op == "flip" and frame:
            i = data.draw(st.integers(0, len(frame) - 1))
            frame[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del frame[data.draw(st.integers(0, len(frame))):]
        else:
            frame += data.draw(st.binary(min_size=1, max_size=4))
    try:
        out = P.decode(bytes(frame))
    except P.ProtocolError:
        return
    # Whatever decodes is a well-formed message again (codes normalised, lengths in range).
    assert P.decode(P.encode(out, max_size=None), max_size=None) == out
