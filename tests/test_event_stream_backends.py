"""The async event stream under anyio, on both of its backends (asyncio and trio).

tests/test_events.py tests the stream with asyncio alone; here the same promises are
checked through anyio's API: order, one container's stream, events from worker threads,
cancel scopes that lose nothing, several waiting tasks, overflow, and closing.
"""
import threading

import anyio
import pytest

import loro_c

BACKENDS = ["asyncio", "trio"]


def run(backend, main):
    return anyio.run(main, backend=backend)


def counter_deltas(events):
    return [ev.events[0].diff.diff for ev in events]


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_arrive_in_commit_order_from_a_producer_task(backend):
    async def main():
        doc = loro_c.LoroDoc()
        text = doc.get_text("t")
        got = []
        async with doc.events() as stream:
            async def produce():
                for ch in "abcd":
                    text.insert(len(text.to_string()), ch)
                    doc.commit()
                    await anyio.sleep(0)

            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                async for ev in stream:
                    got.append(ev.events[0].diff.diff[-1].insert)
                    if len(got) == 4:
                        break
        return got
    assert run(backend, main) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_containers_stream_sees_only_it_and_its_children(backend):
    async def main():
        doc = loro_c.LoroDoc()
        m = doc.get_map("m")
        stream = m.events()
        doc.get_text("other").insert(0, "x")
        doc.commit()
        inner = m.insert_container("inner", loro_c.LoroList())
        doc.commit()
        inner.push(7)
        doc.commit()
        with anyio.fail_after(5):
            first = await stream.__anext__()
            second = await stream.__anext__()
        await stream.aclose()
        return first, second
    first, second = run(backend, main)
    assert [c.target for c in first.events] == [loro_c.ContainerID.Root("m", loro_c.ContainerType.Map())]
    assert [v.value for v in second.events[0].diff.diff[0].insert] == [7]


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_committed_by_worker_threads_wake_the_reader(backend):
    async def main():
        doc = loro_c.LoroDoc()
        counter = doc.get_counter("c")
        stream = doc.events()

        def write(n):
            counter.increment(n)
            doc.commit()
        got = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                async def read():
                    async for ev in stream:
                        got.append(ev)
                        if len(got) == 3:
                            return
                tg.start_soon(read)
                await anyio.sleep(0.01)     # the reader waits before any event exists
                for n in (1, 2, 3):
                    await anyio.to_thread.run_sync(write, n)
        stream.close()
        return got
    assert counter_deltas(run(backend, main)) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cancel_scope_around_a_wait_loses_no_event(backend):
    async def main():
        doc = loro_c.LoroDoc()
        counter = doc.get_counter("c")
        stream = doc.events()
        with anyio.move_on_after(0.02) as scope:
            await stream.__anext__()
        assert scope.cancelled_caught
        # an event committed from a thread while nobody waits, then one from the loop
        th = threading.Thread(target=lambda: (counter.increment(4), doc.commit()))
        th.start()
        th.join()
        counter.increment(5)
        doc.commit()
        with anyio.fail_after(5):
            got = [await stream.__anext__(), await stream.__anext__()]
        stream.close()
        return got
    assert counter_deltas(run(backend, main)) == [4.0, 5.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_tasks_waiting_on_one_stream_share_its_events(backend):
    async def main():
        doc = loro_c.LoroDoc()
        counter = doc.get_counter("c")
        stream = doc.events()
        got = []

        async def read():
            got.append(await stream.__anext__())
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(read)
                await anyio.sleep(0.01)     # all three wait on the empty stream
                for n in (1, 2, 3):
                    counter.increment(n)
                    doc.commit()
        stream.close()
        return got
    assert sorted(counter_deltas(run(backend, main))) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_then_the_end_of_the_stream(backend):
    async def main():
        doc = loro_c.LoroDoc()
        counter = doc.get_counter("c")
        stream = doc.events(maxsize=2)
        for n in (1, 2, 3):
            counter.increment(n)
            doc.commit()
        got = [await stream.__anext__(), await stream.__anext__()]
        with pytest.raises(loro_c.EventStreamOverflow):
            await stream.__anext__()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return got
    assert counter_deltas(run(backend, main)) == [1.0, 2.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_closing_from_another_task_ends_a_waiting_reader(backend):
    async def main():
        doc = loro_c.LoroDoc()
        stream = doc.events()
        ended = []

        async def read():
            async for _ in stream:
                pass
            ended.append(True)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await anyio.sleep(0.01)
                await stream.aclose()
        doc.get_counter("c").increment(1)
        doc.commit()        # after the close: no subscriber left to call
        return ended
    assert run(backend, main) == [True]


def test_reading_outside_an_event_loop_says_what_is_needed():
    doc = loro_c.LoroDoc()
    stream = doc.events()
    with pytest.raises(RuntimeError, match="asyncio or trio"):
        stream.__anext__().send(None)
    stream.close()


def test_a_detached_container_has_no_stream():
    with pytest.raises(loro_c.LoroValueError):
        loro_c.LoroText().events()
