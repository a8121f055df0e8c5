"""The items of a tree's checkout event in loro 1.17.1's order (plain Python, run only while
someone subscribes to a checkout or a diff that moves tree ops).

loro does not compare the tree before and after; its diff calculator replays moves:

* From an ancestor version (`lca`), it takes back every move the `from` version holds and
  the ancestor lacks, latest (Lamport, peer) first; each one that had taken effect reports
  the node going back where it was before that move (a node coming back is created with
  its whole subtree: each level's children, sorted by fractional index then (Lamport,
  peer), listed before the next level is entered, the last child's first).
* Then it applies the moves the `to` version holds and the ancestor lacks, in (Lamport,
  peer) order; each that takes effect (one that would make a cycle does not) reports the
  node's move, with the same subtree rule for a creation.
* Its state turns each report into Create, Move or Delete with the indexes of that moment:
  nothing for a node moved inside a deleted subtree, a Move of a node that was not shown
  is a Create, a Delete of one already deleted says nothing.

The ancestor is what loro's DAG search answers (`common_ancestor`): often the empty version
(the whole tree is taken back and built again). See docs/ARCHITECTURE.md ("The movable
tree", Events).
"""
from bisect import bisect_left, insort

ROOT = None
DELETED = "deleted"
UNEXIST = "unexist"


class _Move:
    __slots__ = ("lamport", "peer", "counter", "target", "parent", "fi", "effective")

    def __init__(self, lamport, peer, counter, target, parent, fi):
        self.lamport = lamport
        self.peer = peer
        self.counter = counter
        self.target = target
        self.parent = parent
        self.fi = fi
        self.effective = False

    def key(self):
        return (self.lamport, self.peer)


def _includes(vv, mv):
    return vv.get(mv.peer, 0) > mv.counter


class _Replay:
    """loro's cache of moves per node: a node's parent is its last effective move's."""

    def __init__(self):
        self.by_node = {}
        self.kids = {}          # parent -> set of nodes (each node under its current parent)

    def last(self, node):
        for mv in reversed(self.by_node.get(node, ())):
            if mv.effective:
                return mv
        return None

    def parent(self, node):
        mv = self.last(node)
        return UNEXIST if mv is None else mv.parent

    def is_ancestor(self, node, parent):
        if node not in self.by_node:
            return False
        while parent is not ROOT and parent != DELETED and parent != UNEXIST:
            if parent == node:
                return True
            parent = self.parent(parent)
        return False

    def deleted(self, parent):
        while parent is not ROOT and parent != UNEXIST:
            if parent == DELETED:
                return True
            parent = self.parent(parent)
        return False

    def add(self, mv):
        mv.effective = not self.is_ancestor(mv.target, mv.parent)
        lst = self.by_node.setdefault(mv.target, [])
        insort(lst, mv, key=_Move.key)
        return mv.effective

    def take_back(self, mv):
        self.by_node[mv.target].remove(mv)

    def reparent(self, node, old, new):
        if old != UNEXIST:
            s = self.kids.get(old)
            if s is not None and node in s:
                s.discard(node)
            else:
                for s in self.kids.values():
                    s.discard(node)
        self.kids.setdefault(new, set()).add(node)

    def children(self, parent):
        out = []
        for node in self.kids.get(parent, ()):
            mv = self.last(node)
            out.append((mv.fi, mv.lamport, mv.peer, node, mv))
        out.sort(key=lambda x: x[:3])
        return out


def _action(parent, old_parent, new_deleted, old_deleted):
    if parent == UNEXIST:
        return "uncreate"
    if new_deleted:
        return "move_in_deleted" if old_deleted or old_parent == UNEXIST else "delete"
    return "create" if old_deleted or old_parent == UNEXIST else "move"


def _reports(replay, moves, from_vv, to_vv, lca_vv, min_lamport, max_lamport):
    """loro's internal reports: (action, node, parent, fi, move), `replay` holding the moves
    of `from_vv`. Moves below `min_lamport` (the Lamport of the ancestor's first change)
    are not taken back, nor those above `max_lamport` applied, as in loro."""
    for node in replay.by_node:
        mv = replay.last(node)
        if mv is not None:
            replay.kids.setdefault(mv.parent, set()).add(node)
    out = []

    def with_subtree(node):
        stack = [node]
        while stack:
            n = stack.pop()
            kids = replay.children(n)
            for fi, _, _, kid, mv in kids:
                out.append(("create", kid, n, fi, mv))
            stack.extend(k[3] for k in kids)

    if lca_vv != from_vv:
        back = [mv for lst in replay.by_node.values() for mv in lst
                if not _includes(lca_vv, mv) and mv.lamport >= min_lamport]
        back.sort(key=_Move.key, reverse=True)
        for mv in back:
            replay.take_back(mv)
            last = replay.last(mv.target)
            parent = UNEXIST if last is None else last.parent
            if mv.effective:
                action = _action(parent, mv.parent, replay.deleted(parent),
                                 replay.deleted(mv.parent))
                replay.reparent(mv.target, mv.parent, parent)
                out.append((action, mv.target, parent, None if last is None else last.fi, last))
                if action == "create":
                    with_subtree(mv.target)
    for mv in moves:
        if _includes(lca_vv, mv) or not _includes(to_vv, mv) or not \
                min_lamport <= mv.lamport <= max_lamport:
            continue
        if mv in replay.by_node.get(mv.target, ()):
            continue
        old_parent = replay.parent(mv.target)
        new_deleted = replay.deleted(mv.parent)
        old_deleted = replay.deleted(old_parent)
        if replay.add(mv):
            action = _action(mv.parent, old_parent, new_deleted, old_deleted)
            replay.reparent(mv.target, old_parent, mv.parent)
            out.append((action, mv.target, mv.parent, mv.fi, mv))
            if action == "create":
                with_subtree(mv.target)
    return out


class _State:
    """loro's tree state while it applies the reports: node -> (parent, sort key), children
    kept sorted by (fractional index, Lamport, peer) of their last move."""

    def __init__(self, replay):
        self.nodes = {}
        self.kids = {}
        for node in replay.by_node:
            mv = replay.last(node)
            if mv is not None:
                self._put(node, mv.parent, (mv.fi or b"", mv.lamport, mv.peer))

    def _put(self, node, parent, key):
        self.nodes[node] = (parent, key)
        insort(self.kids.setdefault(parent, []), (key, node))

    def _remove(self, node):
        parent, key = self.nodes.pop(node)
        lst = self.kids[parent]
        del lst[bisect_left(lst, (key, node))]

    def move(self, node, parent, mv):
        if node in self.nodes:
            self._remove(node)
        self._put(node, parent, (mv.fi or b"", mv.lamport, mv.peer) if mv is not None else (b"", 0, 0))

    def drop(self, node):
        if node in self.nodes:
            self._remove(node)

    def deleted(self, node):
        while node in self.nodes:
            parent = self.nodes[node][0]
            if parent == DELETED:
                return True
            if parent is ROOT:
                return False
            node = parent
        return False

    def index(self, node):
        parent, key = self.nodes[node]
        return bisect_left(self.kids[parent], (key, node))


def checkout_items(moves, from_vv, to_vv, lca_vv, min_lamport=0, max_lamport=1 << 32):
    """Event items, as state/tree.pxi's tuples, of a checkout from `from_vv` to `to_vv`
    ({peer: end} of the tree's moves) over the ancestor `lca_vv`. `moves`: every move of
    the tree as (Lamport, peer, counter, node, parent, fractional index bytes), parent None
    for a root and "deleted" for the deleted root, in (Lamport, peer) order."""
    moves = [_Move(*m) for m in moves]
    replay = _Replay()
    for mv in moves:
        if mv.counter < from_vv.get(mv.peer, 0):
            replay.add(mv)
    state = _State(replay)
    items = []
    for action, node, parent, fi, mv in _reports(replay, moves, from_vv, to_vv, lca_vv,
                                                  min_lamport, max_lamport):
        if action == "uncreate":
            if node in state.nodes and not state.deleted(node):
                items.append(("delete", node, state.nodes[node][0], state.index(node)))
            state.drop(node)
        elif action == "delete":
            if not state.deleted(node):
                items.append(("delete", node, state.nodes[node][0], state.index(node)))
            state.move(node, parent, mv)
        elif action == "move_in_deleted":
            state.move(node, parent, mv)
        else:
            was_shown = action == "move" and node in state.nodes and not state.deleted(node)
            if was_shown:
                old_parent, old_index = state.nodes[node][0], state.index(node)
            state.move(node, parent, mv)
            if parent is not ROOT and state.deleted(parent):
                continue
            if was_shown:
                items.append(("move", node, parent, state.index(node), fi, old_parent, old_index))
            else:
                items.append(("create", node, parent, state.index(node), fi))
    return items


# -- the ancestor loro's tree diff replays from ------------------------------------------------
#
# loro asks its DAG for the common ancestor of the two versions. Its search works on history
# nodes (a peer's ops cut where a change does not continue from the peer's previous op and
# after every op some change depends on): it walks down from both sides, latest (Lamport,
# peer) first, and whenever a side reaches a node without deps before meeting the other side
# (a first change), it gives up and answers the empty version (loro 1.17.1 then sometimes
# answers another version, not modelled: about 1 checkout in 12 of random three-peer
# sessions). Two ids inside one node answer the earlier. `Dag` holds the nodes; ids are
# (peer index, counter).


class Dag:
    """History nodes of a log: per peer, [(start, end, Lamport at start, deps)] by start."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.starts = {p: [n[0] for n in lst] for p, lst in nodes.items()}

    def node(self, peer, counter):
        lst = self.nodes[peer]
        return lst[bisect_left(self.starts[peer], counter + 1) - 1]

    def span(self, peer, counter):
        """The node holding (peer, counter), cut after it: [peer, start, len, lamport, deps]."""
        start, _, lamport, deps = self.node(peer, counter)
        return [peer, start, counter - start + 1, lamport, deps]

    def closure(self, ids):
        """{peer: end} of everything the ids depend on, themselves included."""
        vv = {}
        stack = list(ids)
        while stack:
            p, c = stack.pop()
            if vv.get(p, 0) > c:
                continue
            vv[p] = c + 1
            start, _, _, deps = self.node(p, c)
            stack.extend(deps)
            if start > 0:
                stack.append((p, start - 1))
        return vv


def _last(s):
    return (s[0], s[1] + s[2] - 1)


def common_ancestor(dag, a, b, peer_ids):
    """The ids of the ancestor loro's tree diff uses for versions `a` and `b` (lists of ids)."""
    if not b or not a:
        return []
    if len(a) == 1 and len(b) == 1 and a[0][0] == b[0][0]:
        na, nb = dag.node(*a[0]), dag.node(*b[0])
        if na[0] == nb[0]:
            return [a[0]] if a[0][1] < b[0][1] else [b[0]]
        p = a[0][0]
        if len(na[3]) == 1 and na[3][0][0] == p and nb[0] <= na[3][0][1] < nb[1]:
            return [b[0]]
        if len(nb[3]) == 1 and nb[3][0][0] == p and na[0] <= nb[3][0][1] < na[1]:
            return [a[0]]
    import heapq
    heap = []
    seq = 0

    def push(s, side):
        nonlocal seq
        last_lamport = s[3] + s[2] - 1
        # a max-heap on (last Lamport, peer id, shorter first, side)
        heapq.heappush(heap, ((-last_lamport, -peer_ids[s[0]], s[2], -side), seq, s, side))
        seq += 1

    for i in a:
        push(dag.span(*i), 0)
    for i in b:
        push(dag.span(*i), 1)
    ans = []
    unmatched = False
    while heap:
        _, _, node, side = heapq.heappop(heap)
        while heap and _last(heap[0][2]) == _last(node):
            if heap[0][3] != side:
                side = 2
            heapq.heappop(heap)
        if side == 2:
            ans.append(_last(node))
            continue
        if not heap:
            unmatched = True
            break
        other, other_side = heap[0][2], heap[0][3]
        op, oc = _last(other)
        if node[0] == op and node[1] <= oc < node[1] + node[2] and side != other_side:
            push([node[0], node[1], oc - node[1] + 1, node[3], node[4]], side)
            continue
        if node[2] > 1:
            olast = other[3] + other[2] - 1
            n = min(olast - node[3] + 1, node[2] - 1) if olast >= node[3] else 1
            push([node[0], node[1], n, node[3], node[4]], side)
            continue
        deps = list(node[4])
        if node[1] > 0:
            prev = (node[0], node[1] - 1)
            if not any(d[0] == prev[0] and dag.node(*d)[0] <= prev[1] <= d[1] for d in deps):
                deps.append(prev)
        if deps:
            for d in deps:
                push(dag.span(*d), side)
            continue
        unmatched = True
    if unmatched:
        return []
    # keep the ids no other one depends on
    out = []
    for i in ans:
        if not any(j != i and dag.closure([j]).get(i[0], 0) > i[1] for j in ans):
            if i not in out:
                out.append(i)
    return out
