# LoroTree: one TreeMoves (_tree.pyx: the move log in (Lamport, peer) order, cycles skipped,
# late moves re-applying the later ones) per tree container, in `d.trees`. Create, move and
# delete are one op kind, LC_OP_TREE (its fields: kinds.h). Remote ops are added to the log
# of their tree in any order; an import while detached logs them left out of the version
# shown, and a checkout replays each tree's moves from the earliest Lamport that changes
# (tree_checkout_steps), as loro's tree diff does. An undone import only marks every tree
# stale, and the next read rebuilds the trees from the log (tree_recompute).
import bisect
import functools
from loro_c._tree import TreeMoves as _TreeMoves
from loro_c._tree cimport TreeMoves, IdMap, tree_move, TREE_ROOT, TREE_DELETED
from loro_c._tree import (included_vv as _included_vv, tree_view as _tree_view,
                          greater_items as _greater_items)


cdef object tree_state(LoroDoc d, uint32_t c):
    """The TreeMoves of tree `c`, brought up to the state's version first."""
    if d.trees is None:
        d.trees = {}
    if d.trees_stale:
        tree_recompute(d)
    tm = d.trees.get(c)
    if tm is None:
        tm = tree_put(d, c, _TreeMoves())
    return tm


cdef TreeMoves tree_put(LoroDoc d, uint32_t c, TreeMoves tm):
    """Make `tm` tree c's state; it takes the tree's map of nodes, if there is one yet."""
    if d.trees is None:
        d.trees = {}
    old = d.trees.get(c)
    if old is not None and old is not tm:
        # (what loro's store lacks does not change with the state's rebuild)
        tm.unensured = (<TreeMoves>old).unensured
        tm.withdrawn = (<TreeMoves>old).withdrawn
    d.trees[c] = tm
    tm.mp = None if d.tree_maps is None else d.tree_maps.get(c)
    return tm


cdef int tree_state_reset(LoroDoc d, uint32_t c) except -1:
    tree_put(d, c, _TreeMoves())
    return 0


cdef object tree_op_parent(LoroDoc d, const lc_op *op):
    """The parent an op names as TreeMoves takes it: None (a root), "deleted" or (peer,
    counter)."""
    if op.pos == LC_TREE_PARENT_ROOT:
        return None
    if op.pos == LC_TREE_PARENT_DELETED:
        return "deleted"
    return (d.log.peer_ids[op.pos], <int32_t>op.delta)


cdef int tree_add(LoroDoc d, object tm, const lc_op *op, uint32_t peer, uint32_t lamport,
                  bint excluded=False) except -1:
    """Log a logged tree op into its tree's TreeMoves (C calls only: the op path);
    `excluded`: the state's version does not hold it (a later checkout may include it)."""
    cdef bytes fi = <bytes>d.log.values[op.arg]
    cdef int64_t parent_kind = 0
    cdef uint64_t parent_peer = 0
    if op.pos == LC_TREE_PARENT_ROOT:
        parent_kind = TREE_ROOT
    elif op.pos == LC_TREE_PARENT_DELETED:
        parent_kind = TREE_DELETED
    else:
        parent_peer = d.log.peer_ids[op.pos]
    (<TreeMoves>tm).add_move_ids(lamport, d.log.peer_ids[peer], op.counter,
                                 d.log.peer_ids[op.start_id.peer], op.start_id.counter,
                                 parent_kind, parent_peer, <int32_t>op.delta,
                                 <const uint8_t*><char*>fi, len(fi))
    if excluded:
        # (logged, not applied yet: add_move only takes later moves back)
        (<TreeMoves>tm)._set_excluded(&(<TreeMoves>tm).moves[(<TreeMoves>tm).n_moves - 1], True)
    return 0


cdef int tree_apply(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    """A remote tree op (any causal order: the log orders moves by (Lamport, peer))."""
    with gil:
        tree_apply_gil(d, op, peer, lamport)
    return 0


cdef int tree_apply_gil(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1:
    cdef TreeMoves tm
    if d.trees_stale:
        return 0            # rebuilt from the log when read
    tm = <TreeMoves>tree_state(d, op.container)
    if d.detached:
        # the state shows an earlier version: logged, left out until a checkout includes it
        return tree_add(d, tm, op, peer, lamport, True)
    if d.tree_imp is not None and tm.imp_start < 0:
        # (loro's map of nodes takes this import's steps at its end: tree_import_end)
        tm.settle()
        tm.imp_start = tm.n_moves
        d.tree_imp.append(op.container)
    return tree_add(d, tm, op, peer, lamport)


cdef int tree_mark_stale(LoroDoc d) noexcept:
    d.trees_stale = True
    return 0


cdef int tree_after_undo(LoroDoc d) except -1:
    """A rejected import may have added moves: rebuild the trees from the log cut back."""
    if d.trees:
        d.trees_stale = True
    return 0


cdef int tree_recompute(LoroDoc d) except -1:
    """Every tree from the logged ops (those the state's version lacks left out: the tracker
    is at home), those of the open transaction included."""
    cdef int64_t ci, i, k
    cdef lc_change *ch
    cdef lc_op *op
    d.trees_stale = False
    # every tree container, those never read yet included (an import while detached adds
    # their ops to none)
    for k in range(d.n_containers):
        if d.ckind[k] == KIND_TREE:
            tree_put(d, <uint32_t>k, _TreeMoves())
    if not d.trees:
        return 0
    if d.shallow_trees:
        # a shallow document's trees start from their nodes at the root
        for c, rows in d.shallow_trees.items():
            thin_tree_into(d, d.trees[c], rows)
    ensure_tvv(d)
    for ci in range(d.log.n_changes):
        ch = &d.log.changes[ci]
        for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
            op = &d.log.ops[i]
            if op.kind == LC_OP_TREE and not shallow_root_op(d, ch.peer, op.counter):
                tree_add(d, tree_state(d, op.container), op, ch.peer,
                         ch.lamport + <uint32_t>(op.counter - ch.counter),
                         op.counter >= d.tvv[ch.peer])
    if d.txn_open:
        for i in range(d.txn_ops_off, d.log.n_ops):
            op = &d.log.ops[i]
            if op.kind == LC_OP_TREE:
                tree_add(d, tree_state(d, op.container), op, d.self_idx,
                         local_lamport(d, op.counter))
    if not d.tree_maps_quiet:
        for c in d.trees:
            tree_map_sync(d, c, d.trees[c])
    return 0


cdef int local_tree_move(LoroDoc d, uint32_t c, tuple target, object parent, bytes fi) except -1:
    """Log and apply a local tree op: `target` (peer, counter) goes under `parent` (None, a
    root; "deleted", a delete; or (peer, counter)) with fractional index `fi`. The caller
    has checked it (a cycle, an unknown node)."""
    cdef lc_op *op
    cdef int32_t counter
    cdef int64_t slot
    cdef TreeMoves tm
    check_alive(d, c)
    open_txn(d)
    tree_note_before(d, c)
    tm = <TreeMoves>tree_state(d, c)
    counter = d.log.vv[d.self_idx]
    slot = len(d.log.values)
    d.log.values.append(fi)
    tree_map_of(d, c, tm).insert(<uint64_t>target[0], <int32_t>target[1])   # (loro's state: mov)
    tm.apply(local_lamport(d, counter), d.peer, counter, target, parent, fi)
    if target[0] == d.peer and target[1] == counter:
        meta_queue(d, d.peer, counter, -1)      # a create: loro registers the node's meta map
    op = d.log.push_op()
    memset(op, 0, sizeof(lc_op))
    op.container = c
    op.kind = LC_OP_TREE
    op.counter = counter
    op.len = 1
    op.arg = slot
    op.start_id = make_id(d.log.peer_index(target[0]), <int32_t>target[1])
    if parent is None:
        op.pos = LC_TREE_PARENT_ROOT
    elif parent == "deleted":
        op.pos = LC_TREE_PARENT_DELETED
    else:
        op.pos = d.log.peer_index(parent[0])
        op.delta = <double><int32_t>parent[1]
    return after_local_op(d, 1)



cdef int local_tree_move_k(LoroDoc d, uint32_t c, TreeMoves tm, int64_t target,
                           int64_t parent, bytes fi, bint checked) except -1:
    """local_tree_move on node indexes of `tm` (tree `c`'s, settled), for the handle's C path:
    `parent` a node index or TREE_ROOT; `checked`: the handle found that it makes no cycle.
    The same op and state as local_tree_move."""
    cdef lc_op *op
    cdef int32_t counter
    cdef int64_t slot
    check_alive(d, c)
    open_txn(d)
    tree_note_before(d, c)
    counter = d.log.vv[d.self_idx]
    slot = len(d.log.values)
    d.log.values.append(fi)
    tm.add_local_move(local_lamport(d, counter), d.peer, counter, target, parent,
                      <const uint8_t*><char*>fi, <int32_t>len(fi), checked)
    tree_map_of(d, c, tm).insert(tm.nodes[target].peer, tm.nodes[target].counter)
    if tm.nodes[target].counter == counter and tm.nodes[target].peer == d.peer:
        meta_queue(d, d.peer, counter, -1)      # a create: loro registers the node's meta map
    op = d.log.push_op()
    memset(op, 0, sizeof(lc_op))
    op.container = c
    op.kind = LC_OP_TREE
    op.counter = counter
    op.len = 1
    op.arg = slot
    op.start_id = make_id(d.self_idx if tm.nodes[target].peer == d.peer else
                          d.log.peer_index(tm.nodes[target].peer), tm.nodes[target].counter)
    if parent == TREE_ROOT:
        op.pos = LC_TREE_PARENT_ROOT
    else:
        op.pos = (d.self_idx if tm.nodes[parent].peer == d.peer else
                  d.log.peer_index(tm.nodes[parent].peer))
        op.delta = <double>tm.nodes[parent].counter
    return after_local_op(d, 1)

cdef int32_t local_next_counter(LoroDoc d) except -1:
    """The counter the next local op gets (opens the transaction)."""
    open_txn(d)
    return d.log.vv[d.self_idx]


cdef object tree_value(LoroDoc d, uint32_t c, bint deep):
    """loro's value of a tree: its live nodes, roots first, each with its meta map (its
    ContainerID, or deep its value: {} while the map has no ops)."""
    cdef int64_t i
    state = tree_state(d, c)
    if not deep or 4 * len(state) < d.n_containers:
        return state.value(functools.partial(_tree_meta, d, deep))
    # deep, a tree with many nodes: a node whose meta map is not registered shows {}; the
    # registered ones are listed once, instead of a ContainerID made and looked up per
    # node (a small tree among many containers looks its few up: a deep read of nested
    # trees stays linear)
    maps = {}
    for i in range(d.n_containers):
        if d.ckind[i] == KIND_MAP:
            cid = d.cids[i]
            if type(cid) is _NormalCID:
                maps[(cid.peer, cid.counter)] = i
    return state.value(functools.partial(_tree_meta_deep, d, maps))


_NormalCID = type(_types.ContainerID.Normal(0, 0, _types.ContainerType.Map()))


def _tree_meta_deep(LoroDoc d, dict maps, peer, counter):
    i = maps.get((peer, counter))
    return {} if i is None else value_of(d, <uint32_t>i, True)


def _tree_meta(LoroDoc d, bint deep, peer, counter):
    cid = _normal_cid(peer, counter, _TYPE_BY_KIND[KIND_MAP])
    if not deep:
        return cid
    i = d.cid_index.get(cid)
    return {} if i is None else value_of(d, <uint32_t>i, True)


# -- events: a tree's diff is replayed from what it was before the batch ---------------------
# d.tree_ev: container -> [included moves' version, view, local items, moves logged then (-1:
# not kept)], kept from the batch's first op of that tree (local ops, an import's start, a
# checkout's first moved op).

cdef int tree_note_before(LoroDoc d, uint32_t c) except -1:
    """While someone subscribes, remember tree `c` as the batch found it."""
    if not d.evlog.on:
        return 0
    if d.tree_ev is None:
        d.tree_ev = {}
    if c in d.tree_ev:
        return 0
    tm = tree_state(d, c)
    # (the view only for LoroDoc.diff: a commit lists its own items, an import and a
    # checkout replay the moves)
    d.tree_ev[c] = [_included_vv(tm),
                    _tree_view(tm) if d.evs is not None and d.evs.tree_views else None, [], -1]
    return 0


cdef int tree_note_import(LoroDoc d, uint32_t c) except -1:
    """Keep the version of tree `c` for an import's events (an attached import's events
    need no view: tree_event_items' mode 1 replays the new moves, and a concurrent
    import's replay starts from the versions' ids)."""
    cdef TreeMoves tm = tree_state(d, c)
    tm.settle()                 # (the moves logged so far are applied)
    # with every move in effect, the version is that of the moves logged so far: kept as
    # their count, and read only if the import's moves do not all follow it (a pass over
    # every move, the cold memory of one of a server's many documents)
    vv = None if tm.n_excluded == 0 else _included_vv(tm)
    d.tree_ev[c] = [vv, None, [], tm.n_moves]
    return 0


cdef int tree_snapshot_all(LoroDoc d) except -1:
    """Keep the version of every tree (tree_note_import): an import_batch's move to the
    latest version with subscribers."""
    cdef int64_t c
    if d.tree_ev is None:
        d.tree_ev = {}
    for c in range(d.n_containers):
        if d.ckind[c] == KIND_TREE and c not in d.tree_ev:
            tree_note_import(d, <uint32_t>c)
    return 0


cdef int tree_note_local(LoroDoc d, uint32_t c, tuple item) except -1:
    """Journal a local tree op with the item loro's handler reports for it (its hint:
    indexes as the handler computed them)."""
    if d.evlog.on:
        d.tree_ev[c][2].append(item)
        ev_note(d, c, LC_EV_COUNTER, d.self_idx, d.log.vv[d.self_idx] - 1, 1, 0, 0.0)
    return 0


cdef list tree_event_items(LoroDoc d, uint32_t c, int mode):
    """Tree `c`'s diff since tree_note_before, as item tuples (_tree.greater_items):
    mode 0 a commit (its local items), 1 an import that follows the version before it (its
    moves replayed in order, as loro), 2 a checkout or a concurrent import (a sequence that
    turns the tree before into the tree after: loro's own order is not modelled there)."""
    # a tree the batch created (an import's first op on it) was empty before
    vv_before, before, local, n_before = ({}, {}, [], -1) if d.tree_ev is None \
        or c not in d.tree_ev else d.tree_ev[c]
    if mode == 0:
        return local
    tm = tree_state(d, c)
    if mode == 1:
        return _greater_items(tm, vv_before, n_before)
    if mode == 3:
        # a shallow snapshot's load (doc/shallow.pxi): loro shows the root state's nodes
        # created from the empty tree, then the retained changes' moves replayed
        # (the root's nodes as "root-create": loro shows their meta maps only when its
        # store holds them, and makes one for a node a later change creates)
        return ([("root-create",) + it[1:] for it in tree_view_diff({}, before)]
                + _greater_items(tm, vv_before))
    if before is None:
        raise AssertionError("a tree's view before the move was not kept")
    return tree_view_diff(before, _tree_view(tm))


cdef int tree_events_done(LoroDoc d) noexcept:
    d.tree_ev = None
    return 0


cdef dict view_kids(dict view):
    """parent -> [(sort key, node)] of a view, each list in sibling order."""
    kids = {}
    for n, (p, key) in view.items():
        kids.setdefault(p, []).append((key, n))
    for lst in kids.values():
        lst.sort()
    return kids


cdef list tree_view_diff(dict before, dict after):
    """Items that turn view `before` into view `after` (_tree.tree_view): the nodes no longer
    shown are deleted (top down: a deleted node's subtree goes with it), then every shown
    node, parents first, is created or moved where `after` has it. Indexes are those of
    the tree being turned, at each step (sibling lists kept sorted: O(n log n) apart from
    list shifts)."""
    model = dict(before)
    kids = view_kids(before)
    after_kids = view_kids(after)
    items = []
    queue = [n for _, n in kids.get(None, [])]
    at = 0
    while at < len(queue):
        n = queue[at]
        at += 1
        if n in after:
            queue += [m for _, m in kids.get(n, [])]
            continue
        p, key = model[n]
        lst = kids[p]
        i = bisect.bisect_left(lst, (key, n))
        items.append(("delete", n, p, i))
        del lst[i]
        gone = [n]
        while gone:                             # its subtree leaves the model with it
            m = gone.pop()
            del model[m]
            gone += [c for _, c in kids.pop(m, [])]
    queue = [n for _, n in after_kids.get(None, [])]
    at = 0
    while at < len(queue):
        n = queue[at]
        at += 1
        p, key = after[n]
        queue += [m for _, m in after_kids.get(n, [])]
        old = model.get(n)
        if old == (p, key):
            continue
        if old is not None:
            lst = kids[old[0]]
            i = bisect.bisect_left(lst, (old[1], n))
            del lst[i]
        model[n] = (p, key)
        lst = kids.setdefault(p, [])
        j = bisect.bisect_left(lst, (key, n))
        lst.insert(j, (key, n))
        if old is None:
            kids[n] = []                        # shown again: its children are created too
            items.append(("create", n, p, j, key[0]))
        else:
            items.append(("move", n, p, j, key[0], old[0], i))
    return items


# -- loro's hash map of a tree's nodes (LoroTree.nodes lists them in its order) ---------------
# loro keeps a tree's nodes in a hashbrown map; a local op inserts its node, an import or a
# checkout applies its tree diff item by item (an insert each, a remove for a node whose
# creation it takes back: a tombstone that decides where later nodes land), a snapshot
# load inserts the nodes in the order its state lists them. d.tree_maps holds one
# _tree.IdMap per tree that takes the same steps when the state takes them.

cdef IdMap tree_map(LoroDoc d, uint32_t c):
    """Tree c's map of nodes (empty when new)."""
    cdef IdMap mp
    if d.tree_maps is None:
        d.tree_maps = {}
    mp = d.tree_maps.get(c)
    if mp is None:
        mp = IdMap()
        d.tree_maps[c] = mp
        if d.trees is not None:
            tm = d.trees.get(c)
            if tm is not None:
                (<TreeMoves>tm).mp = mp
    return mp


cdef inline IdMap tree_map_of(LoroDoc d, uint32_t c, TreeMoves tm):
    """Tree c's map of nodes, reached through its state `tm` (no lookup once it has one)."""
    return tm.mp if tm.mp is not None else tree_map(d, c)


cdef int tree_map_put(LoroDoc d, uint32_t c, TreeMoves tm, IdMap mp) except -1:
    """Make `mp` tree c's map of nodes (replacing the one it had), held by its state `tm`."""
    if d.tree_maps is None:
        d.tree_maps = {}
    d.tree_maps[c] = mp
    tm.mp = mp
    return 0


cdef int tree_map_sync(LoroDoc d, uint32_t c, TreeMoves tm) except -1:
    """After the state changed in a way loro's steps are not modelled for (a rebuild from
    the log): the map holds the tree's nodes again, those it lacks inserted in the order
    they were first seen. Its order is then only as good as that guess."""
    cdef IdMap mp = tree_map(d, c)
    ids = tm.node_ids()
    if len(mp) == len(ids):
        for key in ids:
            if not mp.has(key[0], key[1]):
                break
        else:
            return 0
    keep = set(ids)
    for key in mp.order():
        if key not in keep:
            mp.remove(key[0], key[1])
    for key in ids:
        mp.insert(key[0], key[1])
    return 0


cdef list tree_nodes_order(LoroDoc d, uint32_t c):
    """Tree c's nodes, (peer, counter), in the order of loro's map of them."""
    cdef TreeMoves tm = <TreeMoves>tree_state(d, c)
    tm.settle()
    if d.tree_maps is None or c not in d.tree_maps:
        tree_map_sync(d, c, tm)
    return tree_map(d, c).order()


cdef int tree_import_begin(LoroDoc d) except -1:
    """An import starts (its transaction committed): note the version before it, for the
    steps loro's maps of nodes take at its end. A detached import changes no state, and
    reading a loaded snapshot's history changes none that loro has."""
    cdef int64_t i
    if d.detached or d.thin_materializing or d.shallow_loading:
        d.tree_imp = None
        return 0
    d.tree_imp = []
    # (the version as raw bytes: one copy per import, however many peers; made a list only
    # at the end of an import that moved a tree)
    d.tree_imp_base = ((<char*>d.log.vv)[:<Py_ssize_t>d.log.n_peers * <Py_ssize_t>sizeof(int32_t)],
                       {(d.log.frontiers[i].peer, d.log.frontiers[i].counter)
                        for i in range(d.log.n_frontiers)})
    return 0


cdef int tree_import_end(LoroDoc d, bint ok) except -1:
    """An import ended (`ok`: applied): each tree it moved takes loro's steps in its map of
    nodes, as loro's diff of the import gives them (TreeMoves.import_steps): the new moves
    in order when every new change follows the version before, else a replay from the
    Lamport of the earliest new op."""
    cdef list imp = d.tree_imp
    cdef list steps = []
    cdef uint32_t p, lmin = 0xFFFFFFFF, lam
    cdef int32_t old_end
    cdef bint greater
    cdef TreeMoves tm
    base = d.tree_imp_base
    d.tree_imp = None
    d.tree_imp_base = None
    if not imp:
        return 0
    # every mark is cleared, whatever the outcome (a tree listed twice was rebuilt during
    # the import: its first mark belongs to a TreeMoves that is gone)
    for c in imp:
        tm = <TreeMoves>d.trees.get(c) if d.trees is not None else None
        if tm is not None and tm.imp_start >= 0:
            steps.append((c, tm, tm.imp_start))
            tm.imp_start = -1
    if not ok or not steps or d.trees_stale or d.detached:
        return 0
    base = (memoryview(base[0]).cast('i').tolist(), base[1])
    greater = events_module().import_greater(d, base)
    if not greater:
        old_vv = base[0]
        for p in range(d.log.n_peers):
            old_end = old_vv[p] if p < len(old_vv) else 0
            if d.log.vv[p] > old_end:
                lam = d.log.lamport_of(make_id(p, old_end))
                if lam < lmin:
                    lmin = lam
    for c, tm, n_before in steps:
        tm.import_steps(n_before, greater, lmin, tree_map_of(d, c, tm))
    return 0


cdef int tree_checkout_steps(LoroDoc d, int64_t n_moved) except -1:
    """The state moved to another version (move_state_to; d.log.moves[:n_moved] the peers
    whose end changed): each tree shows it, replayed as loro's tree diff does, and, unless
    the move is a reading of another version (tree_maps_quiet), its map of nodes takes
    loro's steps."""
    cdef int64_t i
    cdef uint32_t lmin = 0xFFFFFFFF, lam
    cdef lc_move mv
    cdef uint64_t *peers
    cdef int32_t *ends
    if d.trees_stale or not d.trees or n_moved == 0:
        return 0
    peers = <uint64_t*>malloc(<size_t>n_moved * sizeof(uint64_t))
    ends = <int32_t*>malloc(<size_t>n_moved * sizeof(int32_t))
    try:
        if peers == NULL or ends == NULL:
            raise MemoryError()
        for i in range(n_moved):
            mv = d.log.moves[i]
            peers[i] = d.log.peer_ids[mv.peer]
            ends[i] = mv.new_end
            lam = d.log.lamport_of(make_id(mv.peer, mv.new_end if mv.new_end < mv.old_end
                                           else mv.old_end))
            if lam < lmin:
                lmin = lam
        for c, tm in d.trees.items():
            (<TreeMoves>tm).checkout_replay(lmin, peers, ends, n_moved,
                                            None if d.tree_maps_quiet else tree_map(d, c))
    finally:
        free(peers)
        free(ends)
    return 0


cdef int tree_batch_steps(LoroDoc d, dict snap_vv) except -1:
    """import_batch of a snapshot and more into an empty document, applied as one import
    (no subscriber): loro imports the batch detached, then checks the latest version out
    from the snapshot's, so its tree diff replays the moves past the snapshot as a
    checkout's does, and a node they create straight inside the deleted subtree gets no
    meta map (TreeMoves.unensured). Each tree takes those two moves (to the snapshot's
    version, back to the latest) with a scratch map of nodes: the state and the real maps
    end as the import left them."""
    cdef OpLog log = d.log
    cdef int64_t n = log.n_peers, c
    cdef uint32_t p, lam, lmin = 0xFFFFFFFF
    cdef uint64_t *peers
    cdef int32_t *at_snap
    cdef int32_t *at_end
    cdef TreeMoves tm
    trees = [tree_state(d, <uint32_t>c) for c in range(d.n_containers) if d.ckind[c] == KIND_TREE]
    if not trees or n == 0:
        return 0
    peers = <uint64_t*>malloc(<size_t>n * sizeof(uint64_t))
    at_snap = <int32_t*>malloc(<size_t>n * sizeof(int32_t))
    at_end = <int32_t*>malloc(<size_t>n * sizeof(int32_t))
    try:
        if peers == NULL or at_snap == NULL or at_end == NULL:
            raise MemoryError()
        for p in range(<uint32_t>n):
            peers[p] = log.peer_ids[p]
            at_snap[p] = <int32_t>snap_vv.get(peers[p], 0)
            at_end[p] = log.vv[p]
            if at_end[p] > at_snap[p]:
                lam = log.lamport_of(make_id(p, at_snap[p]))
                if lam < lmin:
                    lmin = lam
        if lmin == 0xFFFFFFFF:
            return 0
        for t in trees:
            tm = <TreeMoves>t
            tm.checkout_replay(lmin, peers, at_snap, n, None)
            tm.checkout_replay(lmin, peers, at_end, n, IdMap())
    finally:
        free(peers)
        free(at_snap)
        free(at_end)
    return 0


cdef int tree_load_maps(LoroDoc d) except -1:
    """A snapshot was loaded into the empty document: loro decodes each tree's state,
    inserting its nodes in the order the snapshot lists them (TreeMoves.load_into)."""
    cdef int64_t c
    cdef IdMap mp
    cdef TreeMoves tm
    for c in range(d.n_containers):
        if d.ckind[c] == KIND_TREE:
            mp = IdMap()
            tm = <TreeMoves>tree_state(d, <uint32_t>c)
            tm.load_into(mp)
            tree_map_put(d, <uint32_t>c, tm, mp)
    return 0


cdef int tree_loaded_unensured(LoroDoc d) except -1:
    """A snapshot was loaded into the empty document (d.loaded_store noted): loro's store
    holds what the snapshot's state lists, so a deleted node whose meta map it does not
    list has none (TreeMoves.unensured) until loro's diff creates the node again. Only the
    nodes in the deleted subtree are asked (a shown one's map was made when it came)."""
    cdef int64_t c, k
    cdef TreeMoves tm
    if d.loaded_store is None:
        return 0
    for c in range(d.n_containers):
        if d.ckind[c] != KIND_TREE:
            continue
        tm = <TreeMoves>tree_state(d, <uint32_t>c)
        tm.settle()
        if tm.deleted_kids.n == 0:
            continue
        for k in range(tm.n_nodes):
            if tm.nodes[k].parent == TREE_NONE_NODE or tm.top_of(k) != TREE_DELETED:
                continue
            if not loaded_listed(d, _types.ContainerID.Normal(tm.nodes[k].peer, tm.nodes[k].counter,
                                                               _types.ContainerType.Map())):
                if tm.unensured is None:
                    tm.unensured = set()
                tm.unensured.add((tm.nodes[k].peer, tm.nodes[k].counter))
    return 0


cdef int tree_ensure_at(LoroDoc d, dict vv) except -1:
    """loro's fork_at and shallow exports check the state out at their version and ensure
    every alive container in its store there, a tree's every node's meta map among them
    (its child containers are all its nodes, deleted ones too), then check it back: the
    nodes that exist at `vv` (peer -> counter end) have their maps from then on (also
    those of a loaded store that did not list them: meta_rows reads metas_ensured)."""
    cdef TreeMoves tm
    cdef bint changed = False
    cdef int64_t k
    cdef dict before = d.metas_ensured or {}
    if d.trees:
        for t in d.trees.values():
            tm = <TreeMoves>t
            if tm.unensured:
                kept = {key for key in tm.unensured if key[1] >= vv.get(key[0], 0)}
                changed = changed or len(kept) != len(tm.unensured)
                tm.unensured = kept or None
            if changed or d.loaded_store is None:
                continue
            # (a deleted node a loaded store left without its map, newly covered)
            tm.settle()
            for k in range(tm.n_nodes):
                if (tm.nodes[k].parent != TREE_NONE_NODE and tm.top_of(k) == TREE_DELETED_NODE
                        and before.get(tm.nodes[k].peer, 0) <= tm.nodes[k].counter
                        < vv.get(tm.nodes[k].peer, 0)):
                    cid = _types.ContainerID.Normal(tm.nodes[k].peer, tm.nodes[k].counter,
                                                    _types.ContainerType.Map())
                    if from_loaded(d, cid) and not loaded_listed(d, cid):
                        changed = True
                        break
    if d.metas_ensured is None:
        d.metas_ensured = {}
    for peer, end in vv.items():
        if end > d.metas_ensured.get(peer, 0):
            d.metas_ensured[peer] = end
    if changed:
        # (the next snapshot lists more: no kept entry or bytes stand for it)
        d.snapshot_cache = None
        snap_forget(d)
    return 0


cdef int tree_ensure_thin(LoroDoc d, dict vv) except -1:
    """tree_ensure_at for a document still thin from a snapshot load (its trees not built):
    when the loaded state holds a tree, whose deleted nodes the state may list without
    their maps, its next snapshot is encoded from the state (with those maps) instead of
    the loaded blob."""
    tree_ensure_at(d, vv)
    if d.loaded_store is None or d.thin_relisted:
        return 0
    for cid in loaded_listing(d):
        if kind_of_type(cid.container_type) == KIND_TREE:
            d.thin_relisted = True
            d.snapshot_cache = None
            snap_forget(d)
            break
    return 0


cdef int tree_fork_unensured(LoroDoc src, LoroDoc fork) except -1:
    """loro forks through a snapshot of the store: the fork's trees lack the meta maps
    `src`'s lack (TreeMoves.unensured, by node id) of the nodes the fork has deleted."""
    cdef TreeMoves tm, ft
    cdef int64_t j
    if not src.trees:
        return 0
    for c, t in src.trees.items():
        tm = <TreeMoves>t
        if not tm.unensured:
            continue
        fc = fork.cid_index.get(src.cids[c])
        if fc is None:
            continue
        ft = <TreeMoves>tree_state(fork, <uint32_t>fc)
        ft.settle()
        for key in tm.unensured:
            j = ft.find(key[0], key[1])
            # (one a fork at an earlier version shows was created there: loro's diff
            # to that version made its map)
            if j >= 0 and ft.nodes[j].parent != TREE_NONE_NODE and ft.top_of(j) == TREE_DELETED:
                if ft.unensured is None:
                    ft.unensured = set()
                ft.unensured.add(key)
    return 0


def check_tree_maps(LoroDoc d):
    """Raise AssertionError unless each tree's map of nodes is a sound table whose keys are
    the tree's nodes (deleted ones included). For tests."""
    cdef int64_t c
    cdef IdMap mp
    doc_acquire(d)
    try:
        for c in range(d.n_containers):
            if d.ckind[c] != KIND_TREE:
                continue
            tree_nodes_order(d, <uint32_t>c)
            mp = tree_map(d, <uint32_t>c)
            mp.check()
            keys = mp.order()
            assert len(keys) == len(mp) == len(set(keys)), "the map repeats a node"
            assert set(keys) == set(tree_state(d, <uint32_t>c).node_ids()), \
                "the map's nodes are not the tree's"
    finally:
        doc_release(d)



cdef int tree_shallow_maps(LoroDoc d, bint has_state) except -1:
    """A shallow snapshot was loaded into the empty document (doc/shallow.pxi). With the
    latest state in the blob (`has_state`), loro decodes it: each map of nodes in that
    state's order. Without it, loro decodes the root's state, then checks the latest
    version out (tree_root_maps), from the lowest Lamport of an op after the root."""
    cdef int64_t ci
    cdef uint32_t lmin = 0xFFFFFFFF, lam
    cdef int32_t base
    cdef lc_change *ch
    if has_state or d.shallow_trees is None:
        return tree_load_maps(d)
    for ci in range(d.log.n_changes):
        ch = &d.log.changes[ci]
        base = <int32_t>d.shallow_base.get(ch.peer, 0)
        if ch.end <= base:
            continue
        lam = ch.lamport + <uint32_t>(base - ch.counter if base > ch.counter else 0)
        if lam < lmin:
            lmin = lam
    return tree_root_maps(d, d.shallow_trees, lmin)


cdef int tree_root_maps(LoroDoc d, dict root_rows, uint32_t lmin) except -1:
    """Each tree's map of nodes as loro's is after it decoded a root state (`root_rows`:
    tree -> its nodes, thin_tree_into's rows; None: the empty version) and checked the
    latest version out: its tree diff replays from Lamport `lmin` (replay_to), and the
    map takes those steps. A scratch TreeMoves holds the root's nodes, then the moves
    after it (those the document's TreeMoves logged after the root's), left out until the
    replay includes them."""
    cdef int64_t c, m, n_root
    cdef TreeMoves tm, s
    cdef tree_move *mv
    cdef IdMap mp
    cdef int64_t parent_kind
    cdef uint64_t parent_peer
    cdef int32_t parent_counter
    for c in range(d.n_containers):
        if d.ckind[c] != KIND_TREE:
            continue
        tm = <TreeMoves>tree_state(d, <uint32_t>c)
        tm.settle()
        rows = None if root_rows is None else root_rows.get(c)
        s = _TreeMoves()
        n_root = 0
        if rows:
            thin_tree_into(d, s, rows)
            n_root = len(rows)      # (thin_tree_into logs one move per node, first)
        mp = IdMap()
        s.settle()
        s.load_into(mp)
        for m in range(n_root, tm.n_moves):
            mv = &tm.moves[m]
            parent_kind = 0
            parent_peer = 0
            parent_counter = 0
            if mv.parent == TREE_ROOT or mv.parent == TREE_DELETED:
                parent_kind = mv.parent
            else:
                parent_peer = tm.nodes[mv.parent].peer
                parent_counter = tm.nodes[mv.parent].counter
            s.add_move_ids(mv.lamport, mv.peer, mv.counter, tm.nodes[mv.target].peer,
                           tm.nodes[mv.target].counter, parent_kind, parent_peer,
                           parent_counter, &tm.fis[mv.fi_off], mv.fi_len)
            s._set_excluded(&s.moves[s.n_moves - 1], True)
        s.settle()
        s.replay_to(s.first_at_lamport(lmin), NULL, mp)
        tree_map_put(d, <uint32_t>c, tm, mp)
    return 0
