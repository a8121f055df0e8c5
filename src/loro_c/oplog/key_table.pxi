# Included by _oplog.pyx: the map key table, key -> key index (lc_key_slot in oplog.h).
#
# Keys are found by their UTF-8 bytes, so a change block's key arena is looked up as stored,
# without a str per key: a server's first import after a snapshot load replays every map
# op of the history, and making and hashing those strs was a fifth of it. A str is made
# only for a key the document has not seen. A slot holds a hash of the bytes and their
# first 8 bytes, so a key of at most 8 bytes is found with one cache miss and never reads
# the stored str. A str key reads its bytes in place when it is ASCII; otherwise CPython
# encodes it once and keeps the bytes with the str.

from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_DATA

cdef extern from "Python.h":
    object PyUnicode_FromObject(object obj)
    object PyUnicode_DecodeUTF8(const char *s, Py_ssize_t size, const char *errors)
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL
    bint PyUnicode_IS_COMPACT_ASCII(object s)

from loro_c.errors import LoroValueError

cdef enum:
    KEY_LONG = 63       # meta's low 6 bits for a key of more than 8 bytes


cdef inline uint32_t key_len_bits(Py_ssize_t n) noexcept nogil:
    """meta's low 6 bits for a key of `n` UTF-8 bytes."""
    return <uint32_t>n if n <= 8 else KEY_LONG


cdef inline const char* key_utf8(str key, Py_ssize_t *n) except NULL:
    """`key`'s UTF-8 bytes (raises UnicodeEncodeError for a lone surrogate)."""
    if PyUnicode_IS_COMPACT_ASCII(key):
        n[0] = PyUnicode_GET_LENGTH(key)
        return <const char*>PyUnicode_DATA(key)
    return PyUnicode_AsUTF8AndSize(key, n)


cdef inline uint32_t key_hash(const char *b, Py_ssize_t n, uint64_t *head) noexcept nogil:
    """The slot hash of UTF-8 bytes; fills `head` with their first 8 bytes (zero padded)."""
    cdef uint64_t w, h
    cdef Py_ssize_t i = 8
    head[0] = 0
    memcpy(head, b, <size_t>(n if n < 8 else 8))
    h = fx_add(<uint64_t>n, head[0])
    while i + 8 <= n:
        memcpy(&w, b + i, 8)
        h = fx_add(h, w)
        i += 8
    if i < n:
        w = 0
        memcpy(&w, b + i, <size_t>(n - i))
        h = fx_add(h, w)
    return <uint32_t>fx_finish(h)


cdef int64_t key_slot_find(OpLog log, const char *b, Py_ssize_t n, uint32_t hash32,
                           uint64_t head) except -2:
    """The index of the key of UTF-8 bytes b[:n], or -1."""
    cdef uint32_t info = key_len_bits(n), meta
    cdef int64_t mask, i
    cdef Py_ssize_t stored_n
    cdef const char *stored
    cdef lc_key_slot *s
    if log.n_kslots == 0:
        return -1
    mask = log.n_kslots - 1
    i = hash32 & mask
    while True:
        s = &log.kslots[i]
        meta = s.meta
        if meta == 0:
            return -1
        if s.hash == hash32 and s.head == head and (meta & 63) == info:
            if info != KEY_LONG:
                return (meta >> 6) - 1
            stored = key_utf8(<str>log.keys[(meta >> 6) - 1], &stored_n)
            if stored_n == n and memcmp(stored, b, <size_t>n) == 0:
                return (meta >> 6) - 1
        i = (i + 1) & mask


cdef int64_t key_table_add(OpLog log, str key, Py_ssize_t nbytes, uint32_t hash32,
                           uint64_t head) except -1:
    """Register `key` (absent, of `nbytes` UTF-8 bytes) and return its new index."""
    cdef Py_ssize_t n = len(log.keys)
    if n >= LC_KEY_MAX:
        raise OverflowError(f"a document holds at most {LC_KEY_MAX} distinct map keys")
    if (n + 1) * 2 > log.n_kslots:
        key_table_grow(log, 16 if log.n_kslots == 0 else log.n_kslots * 2)
    log.keys.append(key)
    key_slot_put(log, hash32, head, (<uint32_t>(n + 1) << 6) | key_len_bits(nbytes))
    return n


cdef int64_t key_table_lookup(OpLog log, str key, bint add) except -2:
    """The index of `key`; when absent, -1, or with `add` its new index. A key with a lone
    surrogate has no UTF-8 form, so no document holds it: absent, and refused with `add`."""
    cdef uint64_t head
    cdef uint32_t hash32
    cdef Py_ssize_t n
    cdef const char *b
    cdef int64_t found
    if type(key) is not str:
        key = PyUnicode_FromObject(key)     # a subclass's own hash or eq must not count
    try:
        b = key_utf8(key, &n)
    except UnicodeEncodeError:
        if not add:
            return -1
        raise LoroValueError(f"map key {key!r} has a lone surrogate: it has no UTF-8 form") from None
    hash32 = key_hash(b, n, &head)
    found = key_slot_find(log, b, n, hash32, head)
    if found >= 0 or not add:
        return found
    return key_table_add(log, key, n, hash32, head)


cdef int64_t key_table_lookup_utf8(OpLog log, const char *b, Py_ssize_t n) except -1:
    """The index of the key of valid UTF-8 bytes b[:n], registering it on first sight."""
    cdef uint64_t head
    cdef uint32_t hash32 = key_hash(b, n, &head)
    cdef int64_t found = key_slot_find(log, b, n, hash32, head)
    if found >= 0:
        return found
    return key_table_add(log, PyUnicode_DecodeUTF8(b, n, "strict"), n, hash32, head)


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
    cdef uint32_t hash32
    cdef Py_ssize_t k, n
    cdef const char *b
    if slots == NULL:
        raise MemoryError()
    free(log.kslots)
    log.kslots = slots
    log.n_kslots = n_slots
    for k in range(len(log.keys)):
        b = key_utf8(<str>log.keys[k], &n)
        hash32 = key_hash(b, n, &head)
        key_slot_put(log, hash32, head, (<uint32_t>(k + 1) << 6) | key_len_bits(n))
    return 0


cdef int key_table_truncate(OpLog log, Py_ssize_t n) except -1:
    """Forget the keys from index `n` on. Each leaves by backward-shift deletion, so the
    probe runs of the keys that stay are unbroken."""
    cdef int64_t mask = log.n_kslots - 1, i, j, home
    cdef Py_ssize_t k, nbytes
    cdef uint64_t head
    cdef const char *b
    for k in range(len(log.keys) - 1, n - 1, -1):
        b = key_utf8(<str>log.keys[k], &nbytes)
        i = key_hash(b, nbytes, &head) & mask
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
