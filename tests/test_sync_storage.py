"""Storage backends and the group commit of AsyncStorage."""

import asyncio
import threading

from loro_c.sync.storage import AsyncStorage, MemoryStorage, SQLiteStorage


def test_sqlite_append_load_compact_keep(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    s = SQLiteStorage(path)
    a1 = s.append("a", b"1")
    b1 = s.append("b", b"x")
    a2, a3 = s.append_many([("a", b"2"), ("a", b"3")])
    assert a1 < b1 < a2 < a3
    s.compact("a", b"blob", a3, keep=[a2])  # a2 stays: the blob cannot hold it yet
    s.close()
    s = SQLiteStorage(path)  # reopened: everything was committed
    d = s.load("a")
    assert (d.blob, d.updates, d.last_seq) == (b"blob", [(a2, b"2")], a3)
    assert s.load("b").updates == [(b1, b"x")] and s.load("b").blob is None
    assert s.load("none").updates == [] and s.size() > 0
    s.close()
    m = MemoryStorage()
    assert m.append_many([("a", b"1"), ("a", b"2")]) == [1, 2]
    m.compact("a", b"B", 2, keep=[1])
    assert m.load("a").updates == [(1, b"1")]


class Gate(MemoryStorage):
    """Holds its first commit until released, as a slow disk would."""

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = []

    def append_many(self, items):
        self.calls.append(len(items))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(10)
        return super().append_many(items)


def test_appends_arriving_during_a_commit_share_the_next_one():
    async def body():
        gate = Gate()
        st = AsyncStorage(gate)
        first = asyncio.ensure_future(st.append("r", bytes([0])))
        assert await asyncio.to_thread(gate.entered.wait, 10)
        rest = [asyncio.ensure_future(st.append("r", bytes([i]))) for i in range(1, 11)]
        load = asyncio.ensure_future(st.load("r"))  # requested after the appends
        await asyncio.sleep(0)
        gate.release.set()
        seqs = await asyncio.wait_for(asyncio.gather(first, *rest), 10)
        assert seqs == list(range(1, 12))
        assert gate.calls == [1, 10] and st.commits == 2
        data = await asyncio.wait_for(load, 10)
        assert [u for _, u in data.updates] == [bytes([i]) for i in range(11)]
        await st.close()
    asyncio.run(asyncio.wait_for(body(), 30))
