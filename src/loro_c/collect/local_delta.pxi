# The delta of a commit's Text, List or MovableList, built from the transaction's ops as
# loro 1.17.1 builds it (included by _events.pyx; see docs/ARCHITECTURE.md "Diff events").
#
# Loro records a hint per local op: an insert (position, length, for text the styles it
# took), a delete span (position, signed length), a movable list's move or set, a mark. A
# hint joins the container's previous one when loro's rules allow (an insert that continues
# the previous insert with the same styles; a delete span that continues the previous span,
# either direction). Each hint becomes a small delta, `retain(pos)` then its insert, delete
# or attributed retain (a list insert: one delta per op of the hint), and the deltas of one
# container are composed in order on loro's delta rope. The rope keeps items as the
# composition leaves them: adjacent items join only where the rope's own merge rules let
# them (inserted text joins when its bytes follow in loro's string storage, list inserts in
# runs of up to 8 values, deletes with deletes), and an insert that lands after a delete at
# the end of the rope comes after it. So the item lists (not only their effect) equal
# loro's. `LocalRope` models the rope: its items in order, and the B-tree over them, whose
# node boundaries stop one of its merges.
#
# The journal's local notes carry what a hint needs (doc/txn.pxi record_local_op, and
# state/movable_local.pxi ml_note_local): `old` is the op's position (code points without
# the style anchors; a move's from | to << 32; a mark's start | end << 32), `delta` the
# content offset (text) or value slot (lists) of an insert, set or move, a movable list's
# `key` the hint kind. A styled insert's styles are in `_DocEvents.local_styles`. Notes
# journaled after the fact (note_open_txn) have no position: the state-based diff is used.

from cpython.unicode cimport PyUnicode_GET_LENGTH
from loro_c._doc cimport ML_HINT_INSERT, ML_HINT_DELETE, ML_HINT_MOVE, ML_HINT_SET

cdef int LD_CAP_DEFAULT = 32    # the capacity of an empty owned string of loro's (a delete's)
cdef int LD_LIST_CAP = 8        # values per list insert item
cdef bint _ld_check_lengths = False   # (tests: LocalRope.compose checks its tree and length)


def _check_rope_lengths(bint on):
    """(tests) Make every composition on the rope model check its tree (LocalRope.check)
    and recount its data length against the one it keeps."""
    global _ld_check_lengths
    _ld_check_lengths = on


cdef int64_t ld_utf8_len(str s):
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(s)
    cdef int64_t out = 0
    cdef Py_UCS4 ch
    for i in range(n):
        ch = s[i]
        out += 1 if ch < 0x80 else (2 if ch < 0x800 else (3 if ch < 0x10000 else 4))
    return out


cdef int LD_MAX_CHILDREN = 12  # generic-btree's MAX_CHILDREN_NUM (a node splits when full)


cdef class LdNode:
    """A node of the rope's B-tree: its children are nodes, or items (a leaf node).

    `dlen` is the data length under it, kept so that a search by position descends the
    tree (a commit of thousands of ops searched its thousands of items linearly for each).
    -1: to be counted again; a node so marked has its ancestors marked too (`ld_dirty`)."""
    cdef list children
    cdef LdNode parent
    cdef int64_t dlen

    def __cinit__(self):
        self.children = []
        self.dlen = -1


cdef class LdItem:
    """One rope item: a retain of `n`, or a replace (insert `val`, then delete `n`).

    Text values are loro's string slices: a slice of its string storage (`owned` False,
    bytes [lo, hi) of buffer `buf`, which joins the slice that ends where it starts) or an
    owned string of capacity `cap` bytes (what a delete item holds, and what an insert
    becomes when it is put inside one). List values are lists of value slots."""
    cdef bint retain
    cdef int64_t n
    cdef object val         # str (text) or list (list)
    cdef bint owned
    cdef bint mv            # a movable list's moved value (loro's from_move attribute)
    cdef object attrs       # a text item's attributes (a dict, never changed; None: none)
    cdef LdNode parent      # the rope's tree node holding it
    cdef int64_t buf, lo, hi, cap

    cdef LdItem copy(self):
        cdef LdItem x = LdItem.__new__(LdItem)
        x.retain = self.retain
        x.n = self.n
        x.val = list(self.val) if type(self.val) is list else self.val
        x.owned = self.owned
        x.mv = self.mv
        x.attrs = self.attrs
        x.buf = self.buf
        x.lo = self.lo
        x.hi = self.hi
        x.cap = self.cap
        return x

    cdef LdItem copy_cloned(self, bint text):
        """A copy as Rust's clone makes it: an owned string's capacity becomes its length."""
        cdef LdItem x = self.copy()
        if text and not x.retain and x.owned:
            x.cap = ld_utf8_len(x.val)
        return x


cdef bint ld_attrs_eq(a, b):
    """Whether two attribute maps are equal as loro's (a bool is no int; None is empty)."""
    if not a:
        return not b
    if not b or len(<dict>a) != len(<dict>b):
        return False
    for k, v in (<dict>a).items():
        if k not in b:
            return False
        w = (<dict>b)[k]
        if type(v) is not type(w) or v != w:
            return False
    return True


cdef LdItem ld_retain(int64_t n):
    cdef LdItem x = LdItem.__new__(LdItem)
    x.retain = True
    x.n = n
    return x


cdef LdItem ld_delete(bint is_text, int64_t n, int64_t cap):
    """A delete item, its value empty (an owned string of capacity `cap` for text)."""
    cdef LdItem x = LdItem.__new__(LdItem)
    x.retain = False
    x.n = n
    x.val = "" if is_text else []
    x.owned = True
    x.cap = cap
    return x


cdef inline void ld_dirty(LdNode node):
    """Mark a node's counts stale, and its ancestors' (up to one already marked)."""
    while node is not None and node.dlen >= 0:
        node.dlen = -1
        node = node.parent


cdef inline void ld_touch(LdItem x):
    """An item's data length may have changed: its node's counts are stale. (An item out
    of the tree may name a node it left: marking that one costs a recount, no more.)"""
    if x.parent is not None:
        ld_dirty(x.parent)


cdef int ld_recount(LdNode node) except -1:
    """Count a stale node's data length again (and its stale descendants')."""
    cdef int64_t dl = 0
    cdef LdNode sub
    cdef LdItem x
    if node.dlen >= 0:
        return 0
    for ch in node.children:
        if type(ch) is LdNode:
            sub = <LdNode>ch
            if sub.dlen < 0:
                ld_recount(sub)
            dl += sub.dlen
        else:
            x = <LdItem>ch
            dl += x.n if x.retain else len(x.val)
    node.dlen = dl
    return 0


cdef inline void ld_set_parent(object ch, LdNode p):
    if type(ch) is LdNode:
        (<LdNode>ch).parent = p
    else:
        (<LdItem>ch).parent = p


cdef Py_ssize_t ld_slot(LdNode p, object ch) except -1:
    cdef Py_ssize_t i
    for i in range(len(p.children)):
        if p.children[i] is ch:
            return i
    raise AssertionError("local_delta: a node's child is missing")


cdef void ld_unlink(LdNode node):
    """Unlink a tree's children from their parents (then it goes by reference counting).
    An item pushed on into another rope names that rope's node: it is left as it is."""
    for ch in node.children:
        if type(ch) is LdNode:
            (<LdNode>ch).parent = None
            ld_unlink(<LdNode>ch)
        elif (<LdItem>ch).parent is node:
            (<LdItem>ch).parent = None


cdef void ld_collect(LdNode node, list out):
    for ch in node.children:
        if type(ch) is LdNode:
            ld_collect(<LdNode>ch, out)
        else:
            out.append(ch)


cdef class LocalRope:
    """Loro's delta rope (loro-delta's DeltaRope over generic-btree's B-tree), with the
    operations a commit's composition uses. The items lie in order at the leaves of the
    tree (`root`, nodes of at most 12 children, split in halves when full, rebalanced with
    a neighbour when under 6); its shape matters where loro joins a new item to the next
    one only in the same node. Items are found by position down the nodes' data lengths,
    and walked with `next_item`."""
    cdef bint text
    cdef LdNode root
    # where a composition's search for attributes last stopped (its positions only grow):
    # an item in the rope and the data position it starts at; None: search from the root
    cdef LdItem at_item
    cdef int64_t at_pos

    def __cinit__(self, bint text):
        self.text = text
        self.root = LdNode()

    def __dealloc__(self):
        # items and nodes point to their parents: unlinked here, the tree goes by
        # reference counting, and a commit's ropes (made with the collector paused) leave
        # no cycles behind. (Its items may live on in another rope, which sets their
        # parents again.)
        if self.root is not None:
            ld_unlink(self.root)

    cdef inline bint empty(self):
        return not self.root.children

    cdef LdItem first_item(self):
        cdef object node = self.root
        if not self.root.children:
            return None
        while type(node) is LdNode:
            node = (<LdNode>node).children[0]
        return <LdItem>node

    cdef LdItem last_item(self):
        cdef object node = self.root
        if not self.root.children:
            return None
        while type(node) is LdNode:
            node = (<LdNode>node).children[len((<LdNode>node).children) - 1]
        return <LdItem>node

    cdef LdItem next_item(self, LdItem x):
        """The item after x (None: x is the last)."""
        cdef LdNode node = x.parent, up
        cdef Py_ssize_t s = ld_slot(node, x) + 1
        cdef object ch
        if s < len(node.children):
            return node.children[s]
        while node.parent is not None:
            up = node.parent
            s = ld_slot(up, node) + 1
            if s < len(up.children):
                ch = up.children[s]
                while type(ch) is LdNode:
                    ch = (<LdNode>ch).children[0]
                return <LdItem>ch
            node = up
        return None

    cdef list to_list(self):
        """The items in order."""
        cdef list out = []
        ld_collect(self.root, out)
        return out

    cdef int check(self) except -1:
        """(tests) The invariants: each child names its node as parent, a node's data
        length (when kept) is its children's, a stale node has stale ancestors, items lie
        at the leaves only, no node but the root is empty or over full."""
        cdef int depth = -1
        self.check_node(self.root, 0, &depth)
        return 0

    cdef int64_t check_node(self, LdNode node, int level, int *leaf_level) except -1:
        cdef int64_t dl = 0
        cdef LdItem x
        cdef bint inner = bool(node.children) and type(node.children[0]) is LdNode
        if node is not self.root and not (0 < len(node.children) <= LD_MAX_CHILDREN):
            raise AssertionError(f"local_delta: a node has {len(node.children)} children")
        for ch in node.children:
            if (type(ch) is LdNode) != inner:
                raise AssertionError("local_delta: a node holds both items and nodes")
            if inner:
                if (<LdNode>ch).parent is not node:
                    raise AssertionError("local_delta: a node names another parent")
                if (<LdNode>ch).dlen < 0 and node.dlen >= 0:
                    raise AssertionError("local_delta: a stale node under a counted one")
                dl += self.check_node(<LdNode>ch, level + 1, leaf_level)
            else:
                x = <LdItem>ch
                if x.parent is not node:
                    raise AssertionError("local_delta: an item names another parent")
                dl += x.n if x.retain else len(x.val)
        if not inner and node.children:
            if leaf_level[0] >= 0 and leaf_level[0] != level:
                raise AssertionError("local_delta: leaves at different depths")
            leaf_level[0] = level
        if node.dlen >= 0 and node.dlen != dl:
            raise AssertionError(f"local_delta: a node counts {node.dlen}, its children {dl}")
        return dl

    # -- the tree ------------------------------------------------------------------------

    cdef int leaf_insert(self, LdNode p, Py_ssize_t slot, LdItem x) except -1:
        """Put item x in the tree as child `slot` of leaf node `p`."""
        p.children.insert(slot, x)
        x.parent = p
        ld_dirty(p)
        return 0

    cdef int split_node(self, LdNode node) except -1:
        """Split a full node in halves (the root: under a new root)."""
        cdef LdNode right = LdNode(), left, p
        cdef Py_ssize_t k = len(node.children) // 2
        ld_dirty(node)
        right.children = node.children[k:]
        del node.children[k:]
        for ch in right.children:
            ld_set_parent(ch, right)
        if node.parent is None:
            left = LdNode()
            left.children = node.children
            for ch in left.children:
                ld_set_parent(ch, left)
            node.children = [left, right]
            left.parent = node
            right.parent = node
            return 0
        p = node.parent
        p.children.insert(ld_slot(p, node) + 1, right)
        right.parent = p
        ld_dirty(p)
        if len(p.children) >= LD_MAX_CHILDREN:
            self.split_node(p)
        return 0

    cdef int handle_lack(self, LdNode node) except -1:
        cdef LdNode nxt = self.lack_layer(node)
        while nxt is not None:
            nxt = self.lack_layer(nxt)
        return 0

    cdef LdNode lack_layer(self, LdNode node):
        """generic-btree's handle_lack_single_layer: an empty node leaves its parent; else
        it evens out with a neighbour or merges into it. The node to see to next."""
        cdef LdNode p, a, b, child
        cdef Py_ssize_t s, m
        if node is self.root:
            # the root loses levels of one child
            while len(self.root.children) == 1 and type(self.root.children[0]) is LdNode:
                child = self.root.children[0]
                ld_dirty(self.root)
                self.root.children = child.children
                for ch in child.children:
                    ld_set_parent(ch, self.root)
            return None
        p = node.parent
        s = ld_slot(p, node)
        ld_dirty(p)
        if not node.children:
            del p.children[s]
            return p
        if s == 0:
            if len(p.children) < 2:
                return p
            a = node
            b = p.children[1]
        else:
            a = p.children[s - 1]
            b = node
        a.dlen = -1
        b.dlen = -1
        if len(a.children) + len(b.children) >= LD_MAX_CHILDREN:
            if len(a.children) < len(b.children):
                m = (len(b.children) - len(a.children)) // 2
                moved = b.children[:m]
                del b.children[:m]
                a.children.extend(moved)
                for ch in moved:
                    ld_set_parent(ch, a)
            else:
                m = (len(a.children) - len(b.children)) // 2
                moved = a.children[len(a.children) - m:]
                del a.children[len(a.children) - m:]
                b.children[0:0] = moved
                for ch in moved:
                    ld_set_parent(ch, b)
        elif node is a:
            for ch in b.children:
                ld_set_parent(ch, a)
            a.children.extend(b.children)
            del p.children[ld_slot(p, b)]
        else:
            for ch in a.children:
                ld_set_parent(ch, b)
            b.children[0:0] = a.children
            del p.children[ld_slot(p, a)]
        return p if len(p.children) < LD_MAX_CHILDREN // 2 else None

    cdef int remove_node(self, LdNode node) except -1:
        cdef LdNode p
        if node is self.root:
            return 0
        p = node.parent
        del p.children[ld_slot(p, node)]
        ld_dirty(p)
        if not p.children:
            self.remove_node(p)
        elif len(p.children) < LD_MAX_CHILDREN // 2:
            self.handle_lack(p)
        return 0

    cdef int remove_leaf(self, LdItem x) except -1:
        """generic-btree's remove_leaf."""
        cdef LdNode p = x.parent
        ld_dirty(p)
        del p.children[ld_slot(p, x)]
        if not p.children:
            self.remove_node(p)
        elif len(p.children) < LD_MAX_CHILDREN // 2:
            self.handle_lack(p)
        return 0

    # -- values --------------------------------------------------------------------------

    cdef bint val_can_merge(self, LdItem a, LdItem b):
        if not self.text:
            return len(a.val) + len(b.val) <= LD_LIST_CAP
        if a.owned != b.owned:
            return False
        if not a.owned:
            return a.buf == b.buf and a.hi == b.lo
        return ld_utf8_len(a.val) + ld_utf8_len(b.val) <= a.cap

    cdef void val_merge_right(self, LdItem a, LdItem b):
        if not self.text:
            a.val = a.val + b.val
            return
        a.val = a.val + b.val
        if not a.owned:
            a.hi = b.hi

    cdef void val_merge_left(self, LdItem a, LdItem left):
        cdef int64_t need
        if not self.text:
            a.val = left.val + a.val
            return
        a.val = left.val + a.val
        if not a.owned:
            a.lo = left.lo
        else:
            need = ld_utf8_len(a.val)
            if need > a.cap:
                # a string grows to twice its capacity, or to what it needs (at least 8)
                a.cap = max(a.cap * 2, need, 8)

    cdef bint val_try_insert(self, LdItem a, Py_ssize_t pos, LdItem b):
        if not self.text:
            if len(a.val) + len(b.val) > LD_LIST_CAP:
                return False
            a.val = a.val[:pos] + b.val + a.val[pos:]
            return True
        # a slice of the storage takes nothing in; an owned string does while it has room
        if not a.owned or a.cap < ld_utf8_len(a.val) + ld_utf8_len(b.val):
            return False
        a.val = a.val[:pos] + b.val + a.val[pos:]
        return True

    cdef object val_split(self, LdItem a, Py_ssize_t pos, LdItem right):
        """Cut `a`'s value at `pos`: `a` keeps the left part, `right` gets the rest."""
        cdef int64_t cut
        v = a.val
        right.val = v[pos:]
        a.val = v[:pos]
        right.owned = a.owned
        if not self.text:
            return None
        if not a.owned:
            cut = a.lo + ld_utf8_len(a.val)
            right.buf = a.buf
            right.lo = cut
            right.hi = a.hi
            a.hi = cut
        elif pos == 0:
            # splitting an owned string at 0 hands its buffer to the right part
            right.cap = a.cap
        else:
            right.cap = ld_utf8_len(right.val)
        return None

    # -- items ---------------------------------------------------------------------------

    cdef inline int64_t data_len(self, LdItem x):
        return x.n if x.retain else len(x.val)

    cdef inline int64_t delta_len(self, LdItem x):
        return x.n if x.retain else len(x.val) + x.n

    cdef inline bint can_remove(self, LdItem x):
        return x.n == 0 if x.retain else (len(x.val) == 0 and x.n == 0)

    cdef bint can_merge(self, LdItem a, LdItem b):
        if a.retain != b.retain or not ld_attrs_eq(a.attrs, b.attrs):
            return False
        return a.retain or (a.mv == b.mv and self.val_can_merge(a, b))

    cdef void merge_right(self, LdItem a, LdItem b):
        ld_touch(a)
        if not a.retain:
            self.val_merge_right(a, b)
        a.n += b.n

    cdef void merge_left(self, LdItem a, LdItem left):
        ld_touch(a)
        if not a.retain:
            self.val_merge_left(a, left)
        a.n += left.n

    cdef LdItem split(self, LdItem a, int64_t pos):
        cdef LdItem right
        cdef int64_t rest
        ld_touch(a)
        if a.retain:
            right = ld_retain(a.n - pos)
            right.attrs = a.attrs
            a.n = pos
            return right
        if pos < len(a.val):
            right = LdItem.__new__(LdItem)
            self.val_split(a, pos, right)
            right.mv = a.mv
            right.attrs = a.attrs
            right.n = a.n
            a.n = 0
            return right
        rest = len(a.val) + a.n - pos
        a.n -= rest
        return ld_delete(self.text, rest, LD_CAP_DEFAULT)

    cdef bint try_insert(self, LdItem a, int64_t pos, LdItem b):
        ld_touch(a)
        if a.retain and b.retain:
            if not ld_attrs_eq(a.attrs, b.attrs):
                return False
            a.n += b.n
            return True
        if a.retain or b.retain:
            return False
        if len(a.val) == 0 and len(b.val) == 0:
            a.n += b.n
            return True
        if a.mv == b.mv and ld_attrs_eq(a.attrs, b.attrs) and self.val_try_insert(a, pos, b):
            a.n += b.n
            return True
        return False

    cdef void assign(self, LdItem a, LdItem src):
        ld_touch(a)
        a.retain = src.retain
        a.n = src.n
        a.val = src.val
        a.owned = src.owned
        a.mv = src.mv
        a.attrs = src.attrs
        a.buf = src.buf
        a.lo = src.lo
        a.hi = src.hi
        a.cap = src.cap

    cdef tuple update_with_split(self, LdItem it, int64_t start, int64_t end, LdItem tpl):
        """Replace part [start, end) of item `it` by `tpl` (copied), as loro's
        update_with_split: returns the up to two items that follow `it`."""
        cdef int64_t total = self.delta_len(it)
        cdef LdItem right, middle
        if start == 0 and end == total:
            self.assign(it, tpl.copy())
            return (None, None)
        if start == 0:
            right = self.split(it, end)
            self.assign(it, tpl.copy())
            if self.can_merge(it, right):
                self.merge_right(it, right)
                return (None, None)
            return (right, None)
        if end == total:
            right = self.split(it, start)
            self.assign(right, tpl.copy())
            if self.can_merge(it, right):
                self.merge_right(it, right)
                return (None, None)
            return (right, None)
        right = self.split(it, end)
        middle = self.split(it, start)
        self.assign(middle, tpl.copy())
        if self.can_remove(middle):
            if self.can_merge(it, right):
                self.merge_right(it, right)
                return (None, None)
            return (right, None)
        if self.can_merge(middle, right):
            self.merge_right(middle, right)
            if self.can_merge(it, middle):
                self.merge_right(it, middle)
                return (None, None)
            return (middle, None)
        if self.can_merge(it, middle):
            self.merge_right(it, middle)
            return (right, None)
        return (middle, right)

    # -- the rope ------------------------------------------------------------------------

    cdef int64_t length(self):
        ld_recount(self.root)
        return self.root.dlen

    cdef int push_retain(self, int64_t n, object attrs=None) except -1:
        cdef LdItem last, x
        if n == 0:
            return 0
        last = self.last_item()
        if last is not None:
            if last.retain and ld_attrs_eq(last.attrs, attrs):
                ld_touch(last)
                last.n += n
                return 0
        x = ld_retain(n)
        x.attrs = attrs
        return self.tree_push(x)

    cdef int push_replace(self, LdItem x) except -1:
        """Append an insert or delete item, joined to the last one when its value can."""
        cdef LdItem last
        if len(x.val) == 0 and x.n == 0:
            return 0
        last = self.last_item()
        if last is not None:
            if (not last.retain and last.mv == x.mv and ld_attrs_eq(last.attrs, x.attrs)
                    and self.val_can_merge(last, x)):
                ld_touch(last)
                self.val_merge_right(last, x)
                last.n += x.n
                return 0
        return self.tree_push(x)

    cdef int tree_push(self, LdItem x) except -1:
        """generic-btree's push: joined to the last item, or a new last child of its node."""
        cdef LdItem last = self.last_item()
        cdef LdNode p
        if last is None:
            self.leaf_insert(self.root, len(self.root.children), x)
            return 0
        if self.can_merge(last, x):
            self.merge_right(last, x)
            return 0
        p = last.parent
        self.leaf_insert(p, len(p.children), x)
        if len(p.children) >= LD_MAX_CHILDREN:
            self.split_node(p)
        return 0

    cdef LdItem query(self, int64_t pos, int64_t *off):
        """The item at data position `pos` (the first whose data covers it; past the end,
        the last item) and the offset in it; None when the rope is empty. Found down the
        tree by its nodes' data lengths."""
        cdef LdNode node = self.root
        cdef Py_ssize_t k, n
        cdef int64_t dl
        cdef LdItem x
        if not self.root.children:
            return None
        ld_recount(node)
        while True:
            n = len(node.children)
            for k in range(n):
                ch = node.children[k]
                if type(ch) is LdNode:
                    if pos < (<LdNode>ch).dlen or k == n - 1:
                        node = <LdNode>ch
                        break
                    pos -= (<LdNode>ch).dlen
                else:
                    x = <LdItem>ch
                    dl = x.n if x.retain else len(x.val)
                    if pos < dl or k == n - 1:
                        off[0] = pos
                        return x
                    pos -= dl

    cdef LdItem query_from(self, int64_t pos, LdItem first, int64_t first_pos, int64_t *off):
        """`query`, walking on from item `first`, which starts at data position
        `first_pos` (<= pos; None: from the root): a composition's positions only grow, so
        the next is often near."""
        cdef int64_t dl, rel = pos - first_pos
        cdef LdItem x = first, nxt
        cdef int steps = 0
        if first is None:
            return self.query(pos, off)
        while True:
            dl = x.n if x.retain else len(x.val)
            nxt = self.next_item(x) if rel >= dl else None
            if nxt is None:
                off[0] = rel
                return x
            rel -= dl
            x = nxt
            steps += 1
            if steps == 32:
                # far on: down the tree instead
                return self.query(pos, off)

    cdef int insert_at(self, LdItem leaf, int64_t off, LdItem data) except -1:
        """loro's insert_by_path: into the item, joined to it, or as an item of its own
        (the item cut at `off` when inside it)."""
        cdef int64_t total
        cdef LdNode p
        cdef Py_ssize_t slot
        if self.try_insert(leaf, off, data):
            return 0
        total = self.delta_len(leaf)
        if off == 0 and self.can_merge(data, leaf):
            self.merge_left(leaf, data)
            return 0
        if off == total and self.can_merge(leaf, data):
            self.merge_right(leaf, data)
            return 0
        self.split_leaf(leaf, off)
        # the new item goes before the item (offset 0) or after its left part
        p = leaf.parent
        slot = ld_slot(p, leaf)
        self.leaf_insert(p, slot if off == 0 else slot + 1, data)
        if len(p.children) >= LD_MAX_CHILDREN:
            self.split_node(p)
        return 0

    cdef int insert_values(self, int64_t pos, LdItem data) except -1:
        cdef int64_t off = 0
        cdef LdItem leaf
        if self.empty():
            return self.tree_push(data)
        leaf = self.query(pos, &off)
        return self.insert_at(leaf, off, data)

    cdef object split_leaf(self, LdItem leaf, int64_t off):
        """generic-btree's split_leaf_if_needed: cut the item at `off` unless at an end (its
        node split first when it would be full); the item that starts there (None: the
        end)."""
        cdef LdItem right
        cdef LdNode p = leaf.parent
        if off == 0:
            return leaf
        if off == self.delta_len(leaf):
            return self.next_item(leaf)
        if len(p.children) + 1 >= LD_MAX_CHILDREN:
            self.split_node(p)
            p = leaf.parent
        right = self.split(leaf, off)
        self.leaf_insert(p, ld_slot(p, leaf) + 1, right)
        return right

    cdef int update_leaf(self, LdItem leaf, tuple news) except -1:
        """generic-btree's update_leaf, after the item changed: the up to two new items
        follow it (one joins the next item of the same node when it can); an item left
        empty goes."""
        cdef LdNode p
        cdef Py_ssize_t slot
        ld_touch(leaf)
        new1 = news[0]
        new2 = news[1]
        if new1 is not None and self.can_remove(new1):
            new1 = new2
            new2 = None
            if new1 is not None and self.can_remove(new1):
                new1 = None
        if new2 is not None:
            if self.can_remove(new2):
                new2 = None
            elif new1 is None:
                new1 = new2
                new2 = None
        if self.can_remove(leaf) and new1 is not None:
            self.assign(leaf, new1)
            new1 = new2
            new2 = None
        p = leaf.parent
        slot = ld_slot(p, leaf)
        if self.can_remove(leaf):
            del p.children[slot]
            ld_dirty(p)
            if len(p.children) < LD_MAX_CHILDREN // 2:
                self.handle_lack(p)
            return 0
        if new1 is None:
            return 0
        if new2 is None and slot + 1 < len(p.children) and self.can_merge(new1, p.children[slot + 1]):
            self.merge_left(p.children[slot + 1], new1)
            return 0
        if len(p.children) + (1 if new2 is None else 2) >= LD_MAX_CHILDREN:
            self.split_node(p)
            p = leaf.parent
            slot = ld_slot(p, leaf)
        self.leaf_insert(p, slot + 1, new1)
        if new2 is not None:
            self.leaf_insert(p, slot + 2, new2)
        return 0

    cdef int replace_at(self, int64_t index, LdItem it, int64_t total) except -1:
        """Compose item `it` (an insert, a delete, or both: a movable list's set) at data
        position `index` (loro's _compose_replace); `total`: the data length."""
        cdef int64_t end, off_a = 0, off_b = 0, n = it.n
        cdef LdItem ia, ib, leaf, x, tpl, ins
        cdef int64_t vl, vs, ve
        cdef bint insert = len(it.val) > 0
        if index > total:
            self.push_retain(index - total)
            total = index
        if n > 0 and index != total:
            end = index + n if index + n < total else total
            ia = self.query(index, &off_a)
            ib = self.query(end, &off_b)
            if ia is ib:
                leaf = ia
                tpl = it.copy_cloned(self.text)
                if leaf.retain:
                    # the item lands on the retained range, its delete whole
                    self.update_leaf(leaf, self.update_with_split(leaf, off_a, off_b, tpl))
                else:
                    # inserted content deleted again: the rest of the delete joins the item
                    vl = len(leaf.val)
                    vs = off_a if off_a < vl else vl
                    ve = off_b if off_b < vl else vl
                    if n > ve - vs:
                        ld_touch(leaf)
                        leaf.n += n - (ve - vs)
                    tpl.n = 0
                    self.update_leaf(leaf, self.update_with_split(leaf, vs, ve, tpl))
                return 0
            # several items: cut at both ends, then each item in between becomes a delete
            stop = self.split_leaf(ib, off_b)
            start = self.split_leaf(ia, off_a)
            drop = []
            x = start
            while x is not None and x is not stop:
                if n > 0:
                    ld_touch(x)
                    n -= x.n if x.retain else len(x.val)
                    x.retain = False
                    x.val = "" if self.text else []
                    x.owned = True
                    x.mv = False
                    x.attrs = None
                    x.cap = LD_CAP_DEFAULT
                if self.can_remove(x):
                    drop.append(x)
                x = self.next_item(x)
            for x in drop:
                self.remove_leaf(x)
        if n > 0 or insert:
            if insert:
                ins = it.copy_cloned(self.text)
                ins.n = n
            else:
                ins = ld_delete(self.text, n, LD_CAP_DEFAULT)
            self.insert_values(index, ins)
        return 0

    cdef int update_attrs(self, int64_t a, int64_t b, dict attrs) except -1:
        """Give data range [a, b) these attributes over its own (loro's
        update_attr_in_range: the items at both ends cut, none joined again). The search
        starts at `at_item` (at `at_pos` <= a) and leaves it at the item holding a."""
        cdef int64_t off_a = 0, off_b = 0
        cdef LdItem ia, ib, x
        if a == b or self.empty():
            return 0
        ia = self.query_from(a, self.at_item, self.at_pos, &off_a)
        ib = self.query_from(b, ia, a - off_a, &off_b)
        # (cutting at a and b adds items after ia only: it still starts at a - off_a)
        self.at_item = ia
        self.at_pos = a - off_a
        stop = self.split_leaf(ib, off_b)
        x = self.split_leaf(ia, off_a)
        while x is not None and x is not stop:
            merged = dict(x.attrs) if x.attrs else {}
            merged.update(attrs)
            x.attrs = merged
            x = self.next_item(x)
        return 0

    cdef int compose(self, list other) except -1:
        """Compose a delta (retains, then inserts or deletes) onto the rope."""
        cdef int64_t index = 0, total
        cdef bint rest = False
        cdef LdItem it
        self.at_item = None
        if self.empty():
            for it in other:
                self.tree_push(it.copy_cloned(self.text))
            return 0
        # `total` is the rope's data length, kept through every item (a replace removes
        # the data it deletes, up to the end, and adds its value); the search starts over
        # after a replace
        cdef int64_t removed
        total = self.length()
        for it in other:
            if index >= total:
                self.push_retain(index - total)
                total = index
                rest = True
            if rest:
                if it.retain:
                    self.push_retain(it.n, it.attrs)
                    total += it.n
                else:
                    self.push_replace(it.copy_cloned(self.text))
                    total += len(it.val)
                continue
            if it.retain:
                if total < index + it.n:
                    self.push_retain(index + it.n - total)
                    total = index + it.n
                if it.attrs:
                    self.update_attrs(index, index + it.n, it.attrs)
                index += it.n
            else:
                removed = 0
                if it.n > 0 and index != total:
                    removed = (index + it.n if index + it.n < total else total) - index
                self.replace_at(index, it, total)
                total = total - removed + len(it.val)
                index += len(it.val)
                self.at_item = None
        self.at_item = None
        if _ld_check_lengths:
            self.check()
            if self.length() != total:
                raise AssertionError(f"the rope's length is {self.length()}, its count {total}")
        return 0


# -- hints -----------------------------------------------------------------------------
# A hint is [kind, pos, n, parts]: kind 0 an insert of n atoms at pos, its parts the notes
# joined in it as (peer, counter, len, content offset or value slot); kind 1 a delete span
# (loro's DeleteSpan: n is its signed length, negative for a span that grew leftwards, pos
# its last position then).

cdef inline int64_t ld_span_start(int64_t pos, int64_t s) noexcept:
    return pos if s > 0 else pos + 1 + s


cdef inline int64_t ld_next_pos(int64_t pos, int64_t s) noexcept:
    return pos if s > 0 else pos + s


cdef inline int64_t ld_prev_pos(int64_t pos, int64_t s) noexcept:
    return pos if s > 0 else pos + 1


cdef bint ld_join_span(list h, int64_t pos, int64_t s):
    """Join the delete span (pos, s) to hint `h` as loro's DeleteSpan does (a span of one
    may continue either way; a longer one only its own way)."""
    cdef int64_t a_pos = h[1], a_s = h[2]
    cdef bint a_one = a_s == 1 or a_s == -1
    cdef bint b_one = s == 1 or s == -1
    if a_one and b_one:
        if a_pos == pos:
            h[2] = 2
            return True
        if a_pos == pos + 1:
            h[2] = -2
            return True
        return False
    if a_one:
        if a_pos == ld_prev_pos(pos, s):
            h[2] = s + (1 if s > 0 else -1)
            return True
        return False
    if b_one:
        if ld_next_pos(a_pos, a_s) == pos:
            h[2] = a_s + (1 if a_s > 0 else -1)
            return True
        return False
    if ld_next_pos(a_pos, a_s) == pos and (a_s > 0) == (s > 0):
        h[2] = a_s + s
        return True
    return False


cdef int ld_add_delete(list hints, int64_t pos, int64_t n) except -1:
    cdef list h
    if hints:
        h = hints[len(hints) - 1]
        if h[0] == 1 and ld_join_span(h, pos, n):
            return 0
    hints.append([1, pos, n, None])
    return 0


cdef int ld_add_list_delete(list hints, int64_t pos, int64_t n) except -1:
    """Loro deletes list elements one at a time at `pos`: a span of one each."""
    cdef list h
    while n > 0:
        if hints:
            h = hints[len(hints) - 1]
            if h[0] == 1 and h[1] == pos and <int64_t>h[2] > 0:
                # a forward span at pos takes every further element
                h[2] = <int64_t>h[2] + n
                return 0
        ld_add_delete(hints, pos, 1)
        n -= 1
    return 0


cdef list ld_insert_delta(LoroDoc doc, bint is_text, int64_t pos, list parts, bint bounds,
                          object attrs):
    """The deltas of one insert hint: for a text one delta, its parts joined where their
    bytes follow in loro's storage; for a list one delta per op of the transaction."""
    cdef LocalRope r = LocalRope(is_text)
    cdef LdItem x
    cdef OpLog log = doc.log
    cdef int64_t ch, op, last_ch = -2, last_op = -2
    cdef list out = []
    seq = doc.seq
    if is_text:
        r.push_retain(pos)
        for peer, counter, n, content in parts:
            x = LdItem.__new__(LdItem)
            x.val = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &doc.seq.text[<int64_t>content], n)
            x.attrs = attrs
            x.buf = -1      # joins nothing (the only insert of the commit needs no bounds)
            if bounds:
                b = stored_bounds(doc, peer, counter, content, n)
                if b[0] is not None and b[1] is not None and (<tuple>b[1])[0] == (<tuple>b[2])[0]:
                    x.buf = (<tuple>b[1])[0]
                    x.lo = (<tuple>b[1])[1]
                    x.hi = (<tuple>b[2])[1]
                else:
                    x.lo = x.hi = -1 - counter
            r.push_replace(x)
        return [r.to_list()]
    # a list: the values of each op of the transaction form a delta of their own
    groups = []
    for peer, counter, n, slot in parts:
        ch = log.find_change(peer, counter)
        op = log.find_op(ch, counter) if ch >= 0 else -1
        if groups and ch == last_ch and op == last_op:
            (<list>groups[len(groups) - 1]).extend(range(slot, slot + n))
        else:
            groups.append(list(range(slot, slot + n)))
        last_ch = ch
        last_op = op
    for g in groups:
        items = [ld_retain(pos)] if pos else []
        for k in range(0, len(g), LD_LIST_CAP):
            x = LdItem.__new__(LdItem)
            x.val = g[k:k + LD_LIST_CAP]
            items.append(x)
        out.append(items)
        pos += len(g)
    return out


cdef int ld_note_kind(lc_ev_note *e, bint movable) noexcept:
    """The hint kind of a local note: ML_HINT_INSERT, ML_HINT_DELETE, ML_HINT_MOVE or
    ML_HINT_SET; 0 when the note cannot say (not a local op's, or not a sequence op's)."""
    if e.old < 0:
        return 0
    if movable:
        return e.key if e.kind == LC_EV_COUNTER else 0
    if e.kind == LC_EV_INSERT:
        return ML_HINT_INSERT
    if e.kind == LC_EV_DELETE:
        return ML_HINT_DELETE
    return 0


cdef object local_seq_delta(LoroDoc doc, uint32_t c, list idxs, list shown, list reached):
    """The diff of a commit's Text, List or MovableList from its hints, as loro's (see the
    top of this file); None when the journal cannot say (then the state-based diff is used).
    Containers a movable list shows as (not moved) values go to `reached`."""
    # the cyclic collector is paused while the ropes are made: it ran every 700 of their
    # items and nodes, over every young object (a third of a large commit's time); the ropes
    # unlink their trees when they go (LocalRope.__dealloc__), so nothing is left for it
    cdef bint gc_was_on = PyGC_Disable()
    try:
        return ld_commit_delta(doc, c, idxs, shown, reached)
    finally:
        if gc_was_on:
            PyGC_Enable()


cdef object ld_commit_delta(LoroDoc doc, uint32_t c, list idxs, list shown, list reached):
    cdef int kind = doc.ckind[c]
    cdef bint is_text = kind == KIND_TEXT
    cdef bint movable = kind == KIND_MOVABLE_LIST
    cdef lc_ev_note *e
    cdef list hints = []
    cdef list h
    cdef LocalRope rope = None, mr
    cdef LdItem x
    cdef int64_t i, hk
    cdef bint anchored = is_text and doc.seq.nodes[doc.seq.roots[doc.ctree[c]]].lens.anchors != 0
    cdef dict styles = doc.evs.local_styles if anchored and doc.evs is not None else None
    cdef tuple st
    if len(idxs) == 1:
        e = &doc.evlog.notes[<int64_t>idxs[0]]
        hk = ld_note_kind(e, movable)
        if not anchored:
            if hk == ML_HINT_INSERT or hk == ML_HINT_DELETE:
                return ld_one_op(doc, is_text, e, hk == ML_HINT_INSERT, shown, reached)
        elif e.len > 0 and (hk == ML_HINT_INSERT or hk == ML_HINT_DELETE):
            # (what the rope gives for one op: an insert carries the styles it took)
            attrs = None
            if hk == ML_HINT_INSERT and styles is not None:
                st = styles.get(idxs[0])
                if st is not None and st[0] == e.peer and st[1] == e.counter:
                    attrs = st[3]
            return ld_one_op(doc, True, e, hk == ML_HINT_INSERT, shown, reached, attrs)
    for i in idxs:
        e = &doc.evlog.notes[i]
        hk = ld_note_kind(e, movable)
        if hk == ML_HINT_INSERT:
            part = (e.peer, e.counter, e.len, <int64_t>e.delta)
            ident = attrs = None
            if styles is not None:
                # the styles the text took (state/richtext.pxi: note_insert_styles)
                st = styles.get(i)
                if st is not None and st[0] == e.peer and st[1] == e.counter:
                    ident = st[2]
                    attrs = st[3]
            if hints:
                h = hints[len(hints) - 1]
                if h[0] == 0 and <int64_t>h[1] + <int64_t>h[2] == e.old and h[4] == ident:
                    h[2] = <int64_t>h[2] + e.len
                    (<list>h[3]).append(part)
                    continue
            hints.append([0, e.old, e.len, [part], ident, attrs])
        elif hk == ML_HINT_DELETE:
            if is_text:
                ld_add_delete(hints, e.old, e.len)
            else:
                ld_add_list_delete(hints, e.old, e.len)
        elif hk == ML_HINT_MOVE:
            hints.append([2, e.old & 0xFFFFFFFF, e.old >> 32, <int64_t>e.delta])
        elif hk == ML_HINT_SET:
            hints.append([3, e.old, 0, <int64_t>e.delta])
        elif is_text and e.kind == LC_EV_MARK and e.key == 1 and e.old >= 0:
            # a local mark (state/richtext.pxi notes its code point range)
            hints.append([4, e.old & 0xFFFFFFFF, e.old >> 32, (e.peer, e.counter)])
        else:
            return None
    if len(hints) == 1 and (<list>hints[0])[0] == 4:
        # a commit's only mark: what the rope gives (its position retained, then its range
        # with its own key and value), without the rope
        h = hints[0]
        mark = doc.styles.get((<uint64_t>(<tuple>h[3])[0] << 32) | <uint32_t>(<tuple>h[3])[1])
        out = [text_retain(h[1], None)] if h[1] else []
        if mark is not None and <int64_t>h[2] > <int64_t>h[1]:
            out.append(text_retain(<int64_t>h[2] - <int64_t>h[1], {(<tuple>mark)[0]: (<tuple>mark)[1]}))
        return text_diff(out)
    for h in hints:
        if h[0] == 0:
            deltas = ld_insert_delta(doc, is_text, h[1], h[3], len(hints) > 1 or len(h[3]) > 1,
                                     h[5] if is_text else None)
        elif h[0] == 4:
            # a mark: its range retained with its own key and value
            mark = doc.styles.get((<uint64_t>(<tuple>h[3])[0] << 32) | <uint32_t>(<tuple>h[3])[1])
            items = [ld_retain(h[1])] if h[1] else []
            if mark is not None and <int64_t>h[2] > <int64_t>h[1]:
                x = ld_retain(<int64_t>h[2] - <int64_t>h[1])
                x.attrs = {(<tuple>mark)[0]: (<tuple>mark)[1]}
                items.append(x)
            deltas = [items]
        elif h[0] == 1:
            n = h[2]
            start = ld_span_start(h[1], n)
            items = [ld_retain(start)] if start else []
            items.append(ld_delete(is_text, n if n > 0 else -n, LD_CAP_DEFAULT))
            deltas = [items]
        elif h[0] == 2:
            # a move: its value deleted at `from`, composed with its insert at `to`
            mr = LocalRope(False)
            if h[1]:
                mr.tree_push(ld_retain(h[1]))
            mr.tree_push(ld_delete(False, 1, 0))
            x = LdItem.__new__(LdItem)
            x.val = [h[3]]
            x.mv = True
            mr.compose(([ld_retain(h[2])] if h[2] else []) + [x])
            deltas = [mr.to_list()]
        else:
            # a set: the old value deleted and the new one inserted, as one item
            x = ld_delete(False, 1, 0)
            x.val = [h[3]]
            deltas = [([ld_retain(h[1])] if h[1] else []) + [x]]
        for items in deltas:
            if rope is None:
                # the first delta is the rope (built as loro's builder pushes its items)
                rope = LocalRope(is_text)
                for x in items:
                    rope.tree_push(x)
            else:
                rope.compose(items)
    out = []
    if rope is None:
        rope = LocalRope(is_text)
    if is_text:
        return text_diff(ld_text_items(rope))
    values = doc.log.values
    for x in rope.to_list():
        if x.retain:
            out.append(one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], x.n))
            continue
        if len(x.val):
            if x.mv:
                # a moved value is shown as it is (its container is not shown anew: loro
                # reports no diff of a moved counter)
                out.append(ListDiffItem.Insert([wrap_value(doc, values[slot], None, None)
                                                for slot in x.val], True))
            else:
                out.append(list_insert([wrap_value(doc, values[slot], shown, reached)
                                        for slot in x.val]))
        if x.n:
            out.append(one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, x.n))
    return list_diff(out)


cdef list ld_text_items(LocalRope rope):
    """A text rope's items as the event's: a retain, or an insert then its delete."""
    cdef LdItem x
    cdef list out = []
    for x in rope.to_list():
        if x.retain:
            out.append(text_retain(x.n, x.attrs or None))
            continue
        if len(x.val):
            out.append(text_insert(x.val, x.attrs or None))
        if x.n:
            out.append(text_delete(x.n))
    return out


cdef object ld_one_op(LoroDoc doc, bint is_text, lc_ev_note *e, bint insert, list shown,
                      list reached, object attrs=None):
    """The delta of a commit's only op on the container, an insert or a delete: its
    position retained, then the op (what composing would give, without the rope); a text
    insert has the attributes `attrs` (the styles it took)."""
    cdef int64_t pos = e.old, content = <int64_t>e.delta, k
    if is_text:
        out = [text_retain(pos)] if pos else []
        if insert:
            out.append(text_insert(PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND,
                                                             &doc.seq.text[content], e.len),
                                   attrs or None))
        else:
            out.append(text_delete(e.len))
        return text_diff(out)
    out = [one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], pos)] if pos else []
    if not insert:
        out.append(one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, e.len))
        return list_diff(out)
    values = doc.log.values
    for k in range(content, content + e.len, LD_LIST_CAP):
        out.append(list_insert([wrap_value(doc, values[slot], shown, reached)
                                for slot in range(k, min(k + LD_LIST_CAP, content + e.len))]))
    return list_diff(out)
