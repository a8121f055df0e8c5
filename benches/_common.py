"""Trace loading and the per-library replay functions shared by the benchmarks."""
import gzip
import importlib
import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TRACES = ("automerge-paper", "seph-blog1", "json-crdt-patch", "friendsforever_flat")
LIBRARIES = ("loro_c", "loro", "pycrdt")


def traces_dir():
    env = os.environ.get("LORO_C_TRACES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "traces"


def trace_path(name):
    """'automerge-paper' or 'ascii_only/rustcode' -> path of the .json.gz file."""
    name = name[:-len(".json.gz")] if name.endswith(".json.gz") else name
    return traces_dir() / "sequential_traces" / (name + ".json.gz")


class Trace:
    """A sequential trace: patches as (pos, n_delete, insert) in code points."""

    def __init__(self, name):
        self.name = name
        with gzip.open(trace_path(name), "rt", encoding="utf-8") as f:
            data = json.load(f)
        self.end = data["endContent"]
        self.patches = [
            (pos, n_del, ins)
            for txn in data["txns"]
            for pos, n_del, ins in txn["patches"]
        ]
        self.txn_sizes = [len(txn["patches"]) for txn in data["txns"]]
        self._utf8 = None

    @property
    def utf8_txns(self):
        """The trace's transactions, each a list of patches with UTF-8 byte positions and
        lengths (pycrdt/Yrs index bytes).

        Only non-ASCII characters make bytes and code points differ, and traces hold few of
        them, so the conversion tracks just those: (code point index, extra bytes) pairs.
        """
        if self._utf8 is None:
            if all(ins.isascii() for _, _, ins in self.patches):
                flat = self.patches
            else:
                flat = _to_utf8_positions(self.patches)
            txns, k = [], 0
            for n in self.txn_sizes:
                txns.append(flat[k:k + n])
                k += n
            self._utf8 = txns
        return self._utf8


def _to_utf8_positions(patches):
    wide = []  # [code point index, extra bytes] of each non-ASCII char, by index
    out = []
    for pos, n_del, ins in patches:
        bpos = pos + sum(extra for idx, extra in wide if idx < pos)
        blen = n_del
        if n_del:
            kept = []
            for entry in wide:
                idx = entry[0]
                if idx < pos:
                    kept.append(entry)
                elif idx < pos + n_del:
                    blen += entry[1]
                else:
                    kept.append([idx - n_del, entry[1]])
            wide = kept
        if ins:
            n = len(ins)
            new = [[pos + k, len(ch.encode("utf-8")) - 1]
                   for k, ch in enumerate(ins) if ord(ch) > 0x7F]
            wide = ([e for e in wide if e[0] < pos] + new
                    + [[e[0] + n, e[1]] for e in wide if e[0] >= pos])
        out.append((bpos, blen, ins))
    return out


def load_library(name):
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def replay_loro_api(lib, patches):
    """loro and loro_c: code point positions, one commit at the end. Returns the text."""
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    insert = text.insert
    delete = text.delete
    for pos, n_del, ins in patches:
        if n_del:
            delete(pos, n_del)
        if ins:
            insert(pos, ins)
    doc.commit()
    return text.to_string()


def replay_pycrdt(pycrdt, txns):
    """pycrdt: one transaction per trace transaction (UTF-8 byte positions). Returns the text.

    Not one transaction for the whole trace: Yrs merges blocks only when a transaction
    ends, so a 260k-edit transaction makes every positional lookup scan all the unmerged
    blocks (about 200 s for automerge-paper instead of about 10 s).
    """
    doc = pycrdt.Doc()
    text = doc.get("text", type=pycrdt.Text)
    insert = text.insert
    transaction = doc.transaction
    for patches in txns:
        if len(patches) == 1 and not (patches[0][1] and patches[0][2]):
            # a lone insert or delete: its own implicit transaction is the same thing,
            # without the cost of an explicit context manager
            pos, n_del, ins = patches[0]
            if n_del:
                del text[pos:pos + n_del]
            else:
                insert(pos, ins)
            continue
        with transaction():
            for pos, n_del, ins in patches:
                if n_del:
                    del text[pos:pos + n_del]
                if ins:
                    insert(pos, ins)
    return str(text)


def runner(lib_name, module, trace):
    """A zero-argument callable that replays `trace` with the given library."""
    if lib_name == "pycrdt":
        txns = trace.utf8_txns
        return lambda: replay_pycrdt(module, txns)
    patches = trace.patches
    return lambda: replay_loro_api(module, patches)
