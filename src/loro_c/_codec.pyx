# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Loro's binary formats: the envelope, FastUpdates (mode 4) and the history inside
FastSnapshot (mode 3) blobs.

Interface (used by ``LoroDoc``):

* ``encode_updates(changes) -> bytes``: a mode-4 blob holding the given change tuples
  (layout in :mod:`loro_c.codec.json`).
* ``decode_updates(data) -> list``: the change tuples of a mode-4 blob, or of the change
  blocks inside a mode-3 snapshot (so a Loro snapshot imports as history).
* ``decode_blob_meta(data, check_checksum) -> ImportBlobMetadata``.

Layout summary (see docs in the spec, section 6)::

    blob   = "loro" + 12 zero bytes + u32le xxh32(blob[20:], seed "LORO") + u16be mode + body
    mode 4 = repeat(uleb len + change block)
    mode 3 = 3 x (u32le len + bytes): oplog SSTable, state SSTable, shallow-root state
    block  = postcard struct: 5 u32 varints, then 8 length-prefixed sections
             (header, change_meta, cids, keys, positions, ops, delete_start_ids, values)

Decoding is strict: every read is bounds-checked, every count is checked against the
bytes left before anything is allocated, sections must be consumed exactly, and any
inconsistency raises ``loro_c.errors.DecodeError`` (never another exception type, and
``MemoryError`` only for a real allocation failure).  Ops on containers loro_c does
not support (MovableList, Tree, rich-text marks, unknown kinds) raise ``DecodeError``
naming the kind: nothing is silently dropped.

The encoder writes any valid segmentation (not Loro's exact bytes); Loro reads it.
"""

# The codec is one extension module built from the parts below (textual includes, in the
# uvloop/asyncpg manner): the tree shows one file per concern, while the C compiler sees one
# unit, so the per-op paths call across parts without crossing module boundaries.
#
#   codec/constants.pxi            format tags, limits, container kinds as Python objects
#   codec/primitives.pxi           checked reads, UTF-8 both ways, growable i64 vectors
#   codec/xxhash.pxi               xxHash32 (envelope, SSTable and LZ4 checksums)
#   codec/columnar.pxi             serde_columnar strategies: RLE, delta-RLE, delta-of-delta,
#                                  bool-RLE, both ways
#   codec/values.pxi               nested LoroValue read/write, per-block registers
#   codec/change_block_decode.pxi  block struct, header, container/key arenas, op columns,
#                                  the op loop
#   codec/change_block_payloads.pxi  per-kind op payloads: change tuples, or staged into a doc
#   codec/change_block_encode.pxi  the same block written from change tuples or a doc's ops
#   codec/lz4.pxi                  LZ4 frame decoding (SSTable block bodies)
#   codec/sstable.pxi              Loro's SSTable
#   codec/snapshot.pxi             FastSnapshot (mode 3): sections, oplog, state roots
#   codec/snapshot_state.pxi       loading a snapshot's state section (phase 1: decode, check)
#   codec/blob.pxi                 envelope, mode dispatch, the Python entry points, blob
#                                  metadata
#   codec/thin_shallow.pxi         a shallow snapshot at a loaded snapshot's head, read from
#                                  the loaded blob
#
# (codec/json.py, the JSON updates codec, is plain Python and a module of its own.)

cimport cython
from libc.stdint cimport (uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int32_t, int64_t,
                          INT32_MAX, INT64_MAX, INT64_MIN, UINT32_MAX)
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memset, memcmp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_GET_LENGTH, PyUnicode_AsUTF8AndSize

from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object o)

from ._varint cimport (
    Reader, Writer, reader_init, reader_fail, reader_remaining, reader_at_end,
    read_u8, read_bytes, read_uleb64, read_uleb32, read_sleb64, read_zigzag64, read_zigzag32,
    read_u16_be, read_u32_le, read_u64_le, read_u64_be, read_f64_be,
    raise_reader_error,
    writer_init, writer_init_on, writer_free, writer_reserve, write_u8, write_bytes, write_uleb64,
    put_uleb64,
    write_sleb64, write_zigzag64, write_u16_be, write_u32_le, write_u64_le, write_f64_be,
    raise_writer_error, writer_to_bytes,
)
from ._version cimport VersionVector, Frontiers, vv_wrap, frontiers_wrap, vv_read, frontiers_read
from ._seq cimport make_id, lc_prefetch
from ._kinds cimport (KIND_MAP, KIND_LIST, KIND_TEXT, KIND_TREE, KIND_MOVABLE_LIST, KIND_COUNTER,
                     LC_OP_INSERT, LC_OP_DELETE, LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER,
                     LC_OP_MARK_START, LC_OP_MARK_END)
from ._oplog cimport lc_op, OpLog
from ._kinds cimport LC_OP_MOVE, LC_OP_SET     # MovableList (codec/movable_payloads.pxi)
from ._kinds cimport N_KINDS, lc_kind_historical, plain_scalar     # codec/snapshot_state.pxi
from .ml_items cimport lc_ml_item, LC_ML_NO_ELEM     # codec/snapshot_state.pxi (MovableList items)
from ._kinds cimport normal_cid_c     # (ids of decoded parts: codec/change_block_decode.pxi, values.pxi)
from ._kinds cimport LC_OP_TREE, LC_TREE_PARENT_ROOT, LC_TREE_PARENT_DELETED   # codec/tree_payloads.pxi
from ._doc cimport lc_walk
from ._doc cimport LoroDoc, DocOps, lstr_place, lval_place, container_index, show_root, next_buffer
from ._doc cimport container_register, LazyMaps      # codec/snapshot_state.pxi LazyChildren
from ._doc cimport thin_load, thin_defer     # codec/snapshot_state.pxi
from ._doc cimport lnum_flush       # codec/blob.pxi
from ._rust_sort import sort_unstable_by_key      # codec/blob.pxi
from ._doc cimport lc_map, lc_map_entry, LC_NO_KEY, ROOT_NONE      # codec/snapshot_encode.pxi (encode_map_entries)
from .ephemeral_codec cimport w_value as eph_w_value   # (the same)
from ._hashorder cimport utf8_key_hash, fixed_table_order     # (the same: a map value's key order)
from .ephemeral_codec cimport normal_cid_cached as eph_normal_cid     # (codec/snapshot_state.pxi key_cid)
from libc.stdlib cimport qsort
from ._tree cimport TreeMoves, child_list, tree_move, TREE_ROOT, TREE_DELETED   # (w_tree_moves)
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from ._import cimport (stage_begin, stage_dep, stage_container, stage_op, stage_dropped, stage_end,
                      stage_tuple, stage_value, tuple_ops_len, stage_tree_created,
                      import_known, import_blob_end)
from ._opid_check cimport (KnownCheck, NOT_HELD_CID, known_open, known_container, known_insert,
                           known_delete, known_map, known_counter, known_mark, known_move,
                           known_set, known_tree, known_tuple, known_peer_index,
                           known_end_for_peer)

import operator

from . import _types
from .errors import DecodeError, LoroError, LoroValueError
from ._doc import kind_of_type, _TYPE_NAMES
from .hash_order import iteration_order

__all__ = ["encode_snapshot", "encode_updates", "decode_updates", "decode_blob_meta", "xxh32"]

# Order matters only for cdef classes and module-level objects (a part may call a cdef
# function of a later part).
include "codec/constants.pxi"
include "codec/primitives.pxi"
include "codec/xxhash.pxi"
include "codec/columnar.pxi"
include "codec/values.pxi"
include "codec/change_block_decode.pxi"
include "codec/change_block_payloads.pxi"
include "codec/change_block_encode.pxi"
include "codec/movable_payloads.pxi"
include "codec/tree_payloads.pxi"
include "codec/lz4.pxi"
include "codec/sstable.pxi"
include "codec/snapshot.pxi"
include "codec/snapshot_encode.pxi"
include "codec/snapshot_state.pxi"
include "codec/state_check.pxi"
include "codec/blob.pxi"
include "codec/thin_shallow.pxi"
