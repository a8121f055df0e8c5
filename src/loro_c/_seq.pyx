# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The sequence index: B-trees of run-length spans with cached lengths, the atom -> span index
(span-start bits and each span's leaf, see seq.h) and the tracker that moves every sequence
to an op's causal version (Eg-walker style).

One extension module in parts, one concern each (the C compiler sees one unit, so the parts
call each other as plain C functions); `SeqArena` (seq/btree.pxi) owns all the memory:

    seq/btree.pxi    the arena: allocation, cached lengths, search, span/leaf splits, merges
    seq/atoms.pxi    the atom index: the span and leaf of an atom id
    seq/units.pxi    UTF-8/UTF-16 lengths of text spans, position conversion between units
    seq/tracker.pxi  tracker records and tracker moves (status changes of atoms)
    seq/fugue.pxi    integrating inserts (Fugue; placing the new span) and deletes
    seq/query.pxi    reading: atom positions, visible content, id runs of a range
    seq/anchors.pxi  rich text: code point positions among style anchors
    seq/drop.pxi     undoing a rejected import: dropping its atoms and trees
    seq/check.pxi    invariant checkers and arena sizes
    seq/bulk.pxi     one-pass tree building from visible runs (snapshot state)

Node indices (not pointers) are kept across calls because the node array grows by `realloc`.
Every index used below is produced by the tree itself (child arrays, `n` counts, the atom
index), which is why bounds checks are off; public entry points validate positions first,
and `locate` validates atom ids.
"""
cimport cython
from libc.stdlib cimport malloc, free
from libc.string cimport memmove, memcpy, memset
from libc.stdint cimport INT64_MAX

include "seq/btree.pxi"
include "seq/atoms.pxi"
include "seq/units.pxi"
include "seq/tracker.pxi"
include "seq/fugue.pxi"
include "seq/move.pxi"
include "seq/query.pxi"
include "seq/anchors.pxi"
include "seq/drop.pxi"
include "seq/check.pxi"
include "seq/bulk.pxi"
