# The numbers of Loro's binary format that the codec parts share, and the codec's limits.
#
# Container kinds (KIND_*, Loro's raw type bytes) and op kinds (LC_OP_*, the kinds of the
# change tuples of loro_c.codec.json and of lc_op) are not defined here: they are cimported
# from _kinds.pxd, which declares include/loro_c/kinds.h, their one place.

cdef enum:
    # value kinds of the ops column (what an op's payload in the values section is)
    V_NULL = 0
    V_I64 = 3
    V_F64 = 4
    V_STR = 5
    V_DELETE_ONCE = 8
    V_DELETE_SEQ = 9
    V_LORO_VALUE = 11
    V_MARK_START = 12
    # nested LoroValue tags
    LV_NULL = 0
    LV_TRUE = 1
    LV_FALSE = 2
    LV_I64 = 3
    LV_F64 = 4
    LV_STR = 5
    LV_BINARY = 6
    LV_LIST = 7
    LV_MAP = 8
    LV_CONTAINER = 9
    # how an RLE column stores its values
    VK_U8 = 0      # postcard u8: one raw byte
    VK_ULEB = 1    # postcard unsigned varint (must fit i64)
    VK_ZZ = 2      # postcard zigzag signed varint
    MAX_VALUE_DEPTH = 512          # nesting limit of decoded values (C stack safety)
    MAX_COLLECTION = 1 << 28       # Loro's cap on one nested list/map
    ENC_MAX_OPS_PER_BLOCK = 4096   # the encoder splits changes/blocks at this many ops
    DEC_MIN_OPS_CAP = 65536        # decoder: ops per block <= this + 4 * block bytes
    DEC_BLOB_OPS = 1 << 20         # decoder: ops per blob <= this + 4 * blob bytes
    MAX_SST_BLOCKS = 10000000

# Inputs at least this long are hashed / decompressed / decoded with the GIL released, so
# threads working on different documents use more than one core; below it, releasing and
# re-taking the GIL costs more than the work.
cdef enum:
    NOGIL_MIN_BYTES = 4096

# The blob envelope: checksum seed ("LORO" little-endian) and the two modes loro_c reads.
cdef uint32_t LORO_SEED = 0x4F524F4C
cdef uint16_t MODE_SNAPSHOT = 3
cdef uint16_t MODE_UPDATES = 4

MAX_OPS_PER_BLOCK = ENC_MAX_OPS_PER_BLOCK   # LoroDoc cuts DocOps ranges to this size

# The op kinds of the change tuples for Python code (the JSON codec), from kinds.h.
OP_INSERT = LC_OP_INSERT
OP_DELETE = LC_OP_DELETE
OP_MAP_SET = LC_OP_MAP_SET
OP_MAP_DELETE = LC_OP_MAP_DELETE
OP_COUNTER = LC_OP_COUNTER
OP_MARK_START = LC_OP_MARK_START
OP_MARK_END = LC_OP_MARK_END


# -- container kinds as Python objects (cached: building a ContainerType is not free) --------

cdef object CT_MAP = _types.ContainerType.Map()
cdef object CT_LIST = _types.ContainerType.List()
cdef object CT_TEXT = _types.ContainerType.Text()
cdef object CT_COUNTER = _types.ContainerType.Counter()
cdef object CID_ROOT = _types.ContainerID.Root
cdef object CID_NORMAL = _types.ContainerID.Normal


cdef str kind_name(int k):
    if 0 <= k < len(_TYPE_NAMES):
        return _TYPE_NAMES[k]
    return f"Unknown({k})"


cdef object container_type(int k):
    if k == KIND_MAP:
        return CT_MAP
    if k == KIND_LIST:
        return CT_LIST
    if k == KIND_TEXT:
        return CT_TEXT
    if k == KIND_COUNTER:
        return CT_COUNTER
    return _types.ContainerType.from_byte(k)


cdef inline bint known_kind(int k) noexcept:
    """Whether `k` is one of the six container kinds loro_c reads."""
    return (k == KIND_MAP or k == KIND_LIST or k == KIND_TEXT or k == KIND_COUNTER
            or k == KIND_MOVABLE_LIST or k == KIND_TREE)


cdef int unsupported_kind(int k) except -1:
    raise DecodeError(f"{kind_name(k)} containers are not supported by loro_c yet")

# Columns of at least this many values are decoded / encoded with the GIL released.
cdef enum:
    NOGIL_MIN_VALUES = 4096
