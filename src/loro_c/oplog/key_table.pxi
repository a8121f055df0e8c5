# Included by _oplog.pyx: the map key table, str -> key index (lc_key_slot in oplog.h).
#
# Why not a dict: a server holds many documents and each import finds its document cold. A
# dict lookup then waits on three cache misses in a row (index table, entry, the stored str),
# about a third of a small map import. A slot here holds the str hash's low bits and the
# first 8 bytes of the str's data, so a key of at most 8 bytes is found with one miss and
# never reads the stored str. Equal strs have the same kind and data (CPython keeps strs in
# their narrowest kind), so those bytes decide equality.

from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_DATA
from cpython.object cimport PyObject_Hash

cdef extern from "Python.h":
    object PyUnicode_FromObject(object obj)


cdef inline uint32_t key_info(str key, uint64_t *head) noexcept:
    """meta's low 6 bits for `key` (kind, byte length); fills `head` with its first 8 bytes."""
    cdef int kind = PyUnicode_KIND(key)
    cdef Py_ssize_t nbytes = PyUnicode_GET_LENGTH(key) * kind
    head[0] = 0
    memcpy(head, PyUnicode_DATA(key), <size_t>(nbytes if nbytes < 8 else 8))
    return (<uint32_t>(kind >> 1) << 4) | (<uint32_t>nbytes if nbytes <= 8 else 15)


cdef int64_t key_table_lookup(OpLog log, str key, bint add) except -2:
    """The index of `key`; when absent, -1, or with `add` its new index."""
    cdef uint64_t head
    cdef uint32_t info, meta, hash32
    cdef int64_t mask, i
    cdef lc_key_slot *s
    if type(key) is not str:
        key = PyUnicode_FromObject(key)     # a subclass's own hash or eq must not count
    info = key_info(key, &head)
    hash32 = <uint32_t><uint64_t>PyObject_Hash(key)
    if log.n_kslots:
        mask = log.n_kslots - 1
        i = hash32 & mask
        while True:
            s = &log.kslots[i]
            meta = s.meta
            if meta == 0:
                break
            if s.hash == hash32 and s.head == head and (meta & 63) == info:
                if (info & 15) != 15 or log.keys[(meta >> 6) - 1] == key:
                    return (meta >> 6) - 1
            i = (i + 1) & mask
    if not add:
        return -1
    cdef Py_ssize_t n = len(log.keys)
    if n >= LC_KEY_MAX:
        raise OverflowError(f"a document holds at most {LC_KEY_MAX} distinct map keys")
    if (n + 1) * 2 > log.n_kslots:
        key_table_grow(log, 16 if log.n_kslots == 0 else log.n_kslots * 2)
    log.keys.append(key)
    key_slot_put(log, hash32, head, (<uint32_t>(n + 1) << 6) | info)
    return n


cdef inline void key_slot_put(OpLog log, uint32_t hash32, uint64_t head, uint32_t meta) noexcept:
    cdef int64_t mask = log.n_kslots - 1, i = hash32 & mask
    while log.kslots[i].meta != 0:
        i = (i + 1) & mask
    log.kslots[i].hash = hash32
    log.kslots[i].head = head
    log.kslots[i].meta = meta


cdef int key_table_grow(OpLog log, int64_t n_slots) except -1:
    """Rehash every key into `n_slots` slots (a power of two)."""
    cdef lc_key_slot *slots = <lc_key_slot*>calloc(<size_t>n_slots, sizeof(lc_key_slot))
    cdef uint64_t head
    cdef uint32_t info
    cdef Py_ssize_t k
    if slots == NULL:
        raise MemoryError()
    free(log.kslots)
    log.kslots = slots
    log.n_kslots = n_slots
    for k in range(len(log.keys)):
        key = log.keys[k]
        info = key_info(key, &head)
        key_slot_put(log, <uint32_t><uint64_t>PyObject_Hash(key), head, (<uint32_t>(k + 1) << 6) | info)
    return 0


cdef int key_table_truncate(OpLog log, Py_ssize_t n) except -1:
    """Forget the keys from index `n` on. Each leaves by backward-shift deletion, so the
    probe runs of the keys that stay are unbroken."""
    cdef int64_t mask = log.n_kslots - 1, i, j, home
    cdef Py_ssize_t k
    for k in range(len(log.keys) - 1, n - 1, -1):
        i = <uint32_t><uint64_t>PyObject_Hash(log.keys[k]) & mask
        while (log.kslots[i].meta >> 6) != <uint32_t>(k + 1):
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            if log.kslots[j].meta == 0:
                break
            home = log.kslots[j].hash & mask
            # the slot at j may fill the hole at i when its home is not in (i, j]
            if (j > i and (home <= i or home > j)) or (j < i and home <= i and home > j):
                log.kslots[i] = log.kslots[j]
                i = j
        log.kslots[i].meta = 0
        log.kslots[i].hash = 0
        log.kslots[i].head = 0
    del log.keys[n:]
    return 0


cdef object key_table_check(OpLog log):
    """Every key is found at its index, and the table holds nothing else."""
    cdef Py_ssize_t k, n = len(log.keys), used = 0
    cdef int64_t i
    for i in range(log.n_kslots):
        if log.kslots[i].meta != 0:
            used += 1
            if (log.kslots[i].meta >> 6) > <uint32_t>n:
                raise AssertionError(f"key slot {i} names key {(log.kslots[i].meta >> 6) - 1} of {n}")
    if used != n or (n and used * 2 > log.n_kslots):
        raise AssertionError(f"the key table holds {used} keys in {log.n_kslots} slots, the log {n}")
    for k in range(n):
        key = log.keys[k]
        if type(key) is not str:
            raise AssertionError(f"map key {k} is a {type(key).__name__}, not a str")
        if key_table_lookup(log, key, False) != k:
            raise AssertionError(f"map key {key!r} is not found at its index {k}")
