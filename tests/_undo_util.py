"""One library's side of a differential undo session: its peers, their undo managers, and
the steps every undo test shares (commit, sync, undo, redo, group). Each test's subclass
makes its own edits in `edit`, and may configure each new document in `setup_doc`."""


class UndoSide:
    def __init__(self, lib, peers):
        self.lib = lib
        self.docs = []
        self.undos = []
        for p in range(peers):
            d = lib.LoroDoc()
            d.peer_id = p + 1
            self.setup_doc(d)
            self.docs.append(d)
            self.undos.append(lib.UndoManager(d))
        self.grouped = [False] * peers

    def setup_doc(self, doc):
        pass

    def edit(self, kind, p, a, b):
        """Make edit `kind` on peer p's document; returns what the step returns."""
        raise NotImplementedError

    def step(self, kind, p, a, b):
        d, u = self.docs[p], self.undos[p]
        if kind == "commit":
            d.commit()
        elif kind == "sync":
            src = self.docs[a]
            if src is not d:
                d.import_(src.export(self.lib.ExportMode.Updates(d.oplog_vv)))
        elif kind == "undo":
            return u.undo()
        elif kind == "redo":
            return u.redo()
        elif kind == "group":
            if self.grouped[p]:
                u.group_end()
            else:
                u.group_start()
            self.grouped[p] = not self.grouped[p]
        else:
            return self.edit(kind, p, a, b)
        return None


def run_against_loro(ref, ours, ops, check_invariants=True):
    """Drive both sides through `ops`; after every step their results and states agree."""
    for i, (kind, p, a, b) in enumerate(ops):
        r1 = ref.step(kind, p, a, b)
        r2 = ours.step(kind, p, a, b)
        assert r1 == r2, (i, kind, p)
        assert ours.state() == ref.state(), (i, kind, p, ops[:i + 1])
    if check_invariants:
        for d in ours.docs:
            d._check_invariants()
