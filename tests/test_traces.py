"""Replay real editing traces through loro_c's LoroText (one commit at the end).

Trace format: gzip JSON {"endContent": str, "txns": [{"patches": [[pos, del, ins], ...]}]};
positions and lengths are code points. Each patch is delete(pos, del) then insert(pos, ins).
"""
import gzip
import json

import loro_c


def load_trace(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def test_sequential_trace(traces_dir, trace_file):
    data = load_trace(traces_dir / trace_file)
    expected = data["endContent"]

    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("text")
    insert = text.insert
    delete = text.delete
    for txn in data["txns"]:
        for pos, n_del, ins in txn["patches"]:
            if n_del:
                delete(pos, n_del)
            if ins:
                insert(pos, ins)
    doc.commit()

    got = text.to_string()
    if got != expected:
        # Locate the first difference instead of dumping two 100 kB strings.
        i = next((k for k, (a, b) in enumerate(zip(got, expected)) if a != b),
                 min(len(got), len(expected)))
        raise AssertionError(
            f"{trace_file}: final text differs at code point {i} "
            f"(len got {len(got)}, expected {len(expected)}): "
            f"got {got[max(0, i - 20):i + 20]!r}, expected {expected[max(0, i - 20):i + 20]!r}"
        )
    assert text.len_unicode == len(expected)
    assert text.len_utf8 == len(expected.encode("utf-8"))
    assert text.len_utf16 == len(expected.encode("utf-16-le")) // 2
    assert doc.get_deep_value() == {"text": expected}
