# Delivery of what a public call queued (local-update blobs, diff events, peer id changes):
# after the call has released the document, one thread at a time, in commit order, callbacks
# running without the lock. Included by _doc.pyx; see docs/ARCHITECTURE.md, "Threads and
# callbacks".


cdef int emit_local_update(LoroDoc d, int32_t start, int32_t end) except -1:
    """Queue the blob of our ops [start, end) for the local-update subscribers; it is
    encoded now, under the lock, and delivered when the public call ends."""
    from loro_c import _codec
    pid = d.peer
    blob = _codec.encode_updates(d._changes({pid: start}, {pid: end}, _codec.MAX_OPS_PER_BLOCK,
                                            -1, True))
    d.pending_events.append(blob)
    return 0


cdef int release_and_deliver(LoroDoc d, bint report) except -1:
    """End of a public call that may have committed: release the lock, then deliver.
    `report` is False when the call itself is raising (see subscribe_local_update)."""
    doc_release(d)
    # whoever queues an event checks here after releasing, so an unlocked look suffices
    if d.pending_events:
        deliver(d, report)
    return 0


cdef int deliver(LoroDoc d, bint report) except -1:
    cdef unsigned long me = PyThread_get_thread_ident()
    cdef list subs
    first = None
    doc_acquire(d)
    if d.deliverer != 0:
        # another thread, or this one further up inside a callback, is draining the
        # queue: it delivers these events too, after the current one, in order
        doc_release(d)
        return 0
    d.deliverer = me
    try:
        while d.pending_events:
            blob = d.pending_events.pop(0)
            if type(blob) is not bytes:
                # an events item (a diff event, a peer id change...): it calls its
                # subscribers itself and returns the first exception
                doc_release(d)
                try:
                    e = blob.dispatch()
                    if first is None:
                        first = e
                finally:
                    doc_acquire(d)
                continue
            subs = [s for s in d.local_update_subs if s.active]
            doc_release(d)
            try:
                for sub in subs:
                    if not sub.active:
                        continue
                    try:
                        if sub.callback(blob) is False:
                            sub.unsubscribe()
                    except Exception as e:
                        if first is None:
                            first = e
            finally:
                doc_acquire(d)
    finally:
        d.deliverer = 0
        doc_release(d)
    if first is not None:
        err = CallbackError(f"a subscriber callback raised {type(first).__name__}: {first} "
                            "(the operation itself completed)")
        err.__cause__ = first
        if report:
            raise err
        PyErr_SetObject(CallbackError, err)
        PyErr_WriteUnraisable(d)
    return 0
