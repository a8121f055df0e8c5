# The Python API of exchanging a document with other peers (a base class of LoroDoc): the
# binary and JSON updates both ways, local-update subscriptions, forks. The import pipeline
# is _import.pyx; what an export gathers is doc/export.pxi; the formats are the codec's.


cdef object import_locked(LoroDoc d, list blobs, list changes, bint batch, origin):
    """Import binary blobs or decoded change tuples under the lock, then queue the Import
    event (a detached import changes no state, so it has none, as in loro)."""
    from loro_c import _import
    doc_acquire(d)
    try:
        snap = events_module().import_begin(d) if d.evlog.on and not d.detached else None
        if snap is not None:
            ml_snapshot_all(d)      # MovableList items before (state/movable_list.pxi)
        if changes is not None:
            status = _import.import_changes(d, changes)
        else:
            status = _import.import_blobs(d, blobs, batch)
        if snap is not None:
            events_module().flush(d, 1, origin, snap)
        elif d.detached:
            d.evlog.n = 0
    except BaseException:
        d.evlog.n = 0
        release_and_deliver(d, False)
        raise
    release_and_deliver(d, True)
    return status


cdef class DocExchange(DocHistory):
    """Exchange with other peers: binary and JSON updates both ways, local-update
    subscriptions, forks."""

    def export(self, mode):
        """Export in Loro's binary format. `ExportMode.Updates(from_)` sends every op not in
        `from_`; `UpdatesInRange(spans)` the ops in the id spans; `Snapshot()` the whole
        history (as an updates blob, which loro and loro_c both import). Pending local ops
        are committed first."""
        doc_acquire(self)
        try:
            blob = self._export(mode)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return blob

    def _export(self, mode):
        commit_txn(self)
        from loro_c import _codec
        if isinstance(mode, _types.ExportMode.Updates):
            start = mode.from_
            if not isinstance(start, VersionVector):
                raise LoroValueError("ExportMode.Updates needs a VersionVector")
            stamp = (<VersionVector>start)._stamp
            return _codec.encode_updates(self._changes(
                (<VersionVector>start)._map, None, _codec.MAX_OPS_PER_BLOCK,
                stamp[1] if stamp is not None and stamp[0] == self.log.serial else -1, True))
        if isinstance(mode, _types.ExportMode.UpdatesInRange):
            changes = []
            for span in mode.spans:
                a, b = span.counter.start, span.counter.end
                if a > b:
                    a, b = b, a
                if a < b:
                    changes.extend(self._changes({span.peer: a}, {span.peer: b},
                                                 _codec.MAX_OPS_PER_BLOCK, -1, True))
            return _codec.encode_updates(changes)
        if isinstance(mode, _types.ExportMode.Snapshot):
            return _codec.encode_updates(self._changes({}, dense_vv_dict(self, self.log.vv),
                                                       _codec.MAX_OPS_PER_BLOCK, -1, True))
        raise LoroError(f"export mode {type(mode).__name__} is not supported by loro_c yet")

    def import_(self, bytes data):
        """Import a binary blob (updates, or the history inside a snapshot). Missing
        dependencies leave changes pending; returns an ImportStatus. A malformed blob raises
        DecodeError and leaves the document exactly as it was."""
        return self._import_locked([data])

    def import_with(self, bytes data, str origin):
        """Like import_, tagging the import with `origin` (reported to event subscribers)."""
        return self._import_locked([data], False, origin)

    def import_batch(self, bytes_list):
        """Import several blobs as one batch (all or nothing)."""
        blobs = list(bytes_list)
        for data in blobs:
            if not isinstance(data, bytes):
                raise LoroValueError(f"import_batch takes bytes, not {type(data).__name__}")
        return self._import_locked(blobs, True)

    def _import_locked(self, list blobs, bint batch=False, origin=None):
        return import_locked(self, blobs, None, batch, origin)

    def _import_changes(self, list changes):
        """Import decoded change tuples (see loro_c._json); all or nothing."""
        return import_locked(self, None, changes, False, None)

    @staticmethod
    def decode_import_blob_meta(bytes data, check_checksum=True):
        """Inspect a blob without importing it: mode, version range, change count."""
        from loro_c import _codec
        return _codec.decode_blob_meta(data, check_checksum)

    def subscribe_local_update(self, callback):
        """Call `callback(bytes)` after each local commit with an updates blob holding exactly
        that commit's ops. Returning False unsubscribes (loro requires a bool; loro_c keeps
        the subscription for any other return value). Returns a Subscription: as in loro,
        dropping it unsubscribes, `detach()` keeps the callback for the document's lifetime.

        Callbacks run after the public call that committed (commit, export, import, ...) has
        finished and released the document, on the thread that delivers the queue, one
        event at a time in commit order; a callback may edit, commit, import or export the
        same document (the updates it commits are delivered after it returns). If callbacks
        raise, every queued event still goes to every subscriber, the subscriptions stay,
        and the operation is not undone; then the call raises CallbackError from the first
        callback exception (loro raises a PanicException there). If the call itself failed,
        its own exception propagates and callback exceptions go to sys.unraisablehook."""
        if not callable(callback):
            raise LoroValueError("callback must be callable")
        return Subscription(self.local_update_subs, callback)

    def redact_json_updates(self, json, version_range):
        """`json` (JSON updates) with the ops inside `version_range` redacted by loro's
        rules (text becomes U+FFFD, values null, containers and deletes kept)."""
        from loro_c.codec import redact
        return redact.redact_json_updates(json, version_range)

    def export_pending_updates(self):
        """The received changes still waiting for their dependencies, as an updates blob
        (None when nothing waits). Local edits are not committed. Saved beside a snapshot,
        they restore a server's pending state: import the snapshot, then these bytes."""
        from loro_c import _codec
        doc_acquire(self)
        try:
            changes = pending_changes(self)
        finally:
            doc_release(self)
        return _codec.encode_updates(changes) if changes else None

    def export_json_updates(self, VersionVector start_vv, VersionVector end_vv, with_peer_compression=True):
        """Export the changes between two versions in Loro's JSON updates format."""
        from loro_c import _json
        doc_acquire(self)
        try:
            commit_txn(self)
            out = _json.export_updates(self, start_vv._map, end_vv._map)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)
        return out

    def import_json_updates(self, str json):
        """Import Loro JSON updates. Returns an ImportStatus; raises DecodeError on malformed
        input, leaving the document unchanged."""
        from loro_c import _json
        return self._import_changes(_json.decode_updates(json))

    def export_json_in_id_span(self, id_span):
        """The committed changes in `id_span` (an IdSpan) as a JSON list of changes in the
        schema of export_json_updates, with ids naming the peers themselves (deterministic,
        for hashing). Does not commit; the open transaction is left out, as in loro."""
        if not isinstance(id_span, _types.IdSpan):
            raise LoroTypeError(f"export_json_in_id_span needs an IdSpan, not {type(id_span).__name__}")
        a, b = id_span.counter.start, id_span.counter.end
        from loro_c.codec import json as json_codec
        doc_acquire(self)
        try:
            if a >= b:
                return "[]"
            return json_codec.export_in_id_span(self, id_span.peer, max(a, 0), min(b, INT32_MAX))
        finally:
            doc_release(self)

    def _changes(self, dict start, dict end, Py_ssize_t piece_ops=0, int64_t since=-1,
                 bint regroup=False, bint commit=True):
        """See collect_changes (doc/export.pxi)."""
        return collect_changes(self, start, end, piece_ops, since, regroup, commit)

    def fork(self):
        """A new document with this one's history and state and a new random peer id (the
        open transaction is committed first, as in loro). While detached, the fork holds
        the history up to the version checked out (fork_at(state_frontiers)), as in loro."""
        self.commit()
        if self.detached:
            return self.fork_at(self.state_frontiers)
        return self._fork_from(self.export(_types.ExportMode.Updates(VersionVector())))

    def fork_at(self, Frontiers frontiers):
        """A new document holding only the history up to `frontiers` (a new random peer
        id); LoroError when the frontiers are not in this document's history."""
        self.commit()
        vv = self.frontiers_to_vv(frontiers)
        if vv is None:
            raise LoroError(f"Cannot find ({frontiers!r})")
        spans = [_types.IdSpan(peer, _types.CounterSpan(0, end)) for peer, end in vv.to_dict().items()
                 if end > 0]
        return self._fork_from(self.export(_types.ExportMode.UpdatesInRange(spans)) if spans else None)

    def _fork_from(self, blob):
        cdef LoroDoc fork = LoroDoc()
        cdef int64_t r
        # as loro's fork does: roots cleared by delete_root_container stay out of the
        # fork's deep value; the hide-empty-roots option is not carried over
        fork.deleted_roots = set(self.deleted_roots)
        if blob is not None:
            fork.import_(blob)
        # the fork lists the roots this document lists, edited or not (loro's fork carries
        # its state's roots)
        doc_acquire(self)
        try:
            shown = [(self.cids[r].name, self.ckind[r]) for r in self.roots]
        finally:
            doc_release(self)
        doc_acquire(fork)
        try:
            for name, kind in shown:
                show_root(fork, root_index(fork, name, kind))
        finally:
            doc_release(fork)
        return fork
