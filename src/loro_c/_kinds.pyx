# cython: language_level=3
"""Container kinds and op kinds for Python code, read from include/loro_c/kinds.h (their one
place): ContainerType (_types.py) and the kind names of the document and the codecs
(_doc._TYPE_NAMES) are built from these."""

# The name of each container kind, indexed by its raw type byte.
KIND_NAMES = tuple(lc_kind_name(k).decode("ascii") for k in range(N_KINDS))
# Each kind's byte in Loro's historical ContainerType order, indexed by raw type byte.
KIND_HISTORICAL = tuple(lc_kind_historical(k) for k in range(N_KINDS))
# The op kinds (lc_op.kind, the first field of the codec's change tuples) by name.
OP_KINDS = {"insert": LC_OP_INSERT, "delete": LC_OP_DELETE, "map_set": LC_OP_MAP_SET,
            "map_delete": LC_OP_MAP_DELETE, "counter": LC_OP_COUNTER,
            "move": LC_OP_MOVE, "set": LC_OP_SET,
            "mark_start": LC_OP_MARK_START, "mark_end": LC_OP_MARK_END,
            "tree": LC_OP_TREE}
