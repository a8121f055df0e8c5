"""Section 8: hot paths found in review (issue 7), each isolated in one workload.

Each workload builds its document untimed, then times only the operations it is about; the
libraries run interleaved, best of N. The result of the timed part is compared across the
libraries (a wrong result is a problem, not a number).

* ``unit edits``: 5,000 edits at UTF-16/UTF-8 positions (``insert_utf16``,
  ``delete_utf16``, ``insert_utf8``, ``delete_utf8``) in a 40,000-code-point text pasted as
  long paragraphs of Cyrillic, CJK, emoji and mixed scripts.
* ``convert_pos``: 20,000 ``convert_pos`` calls (UTF-16 -> code points, code points ->
  UTF-8) at random positions of the same text.
* ``split long spans``: 5,000 one-character inserts at random code point positions into
  that text: each splits a long non-ASCII span, and leaves full of long spans split.
* ``leaf splits``: 3,000 one-character inserts into 20 pasted runs of 25,000 code points:
  leaves holding pieces of the long runs split again and again (the atom index moves).
* ``len(map)``: 2,000 ``len(map)`` calls on a map with 5,000 keys.
* ``get_text``: 100,000 ``doc.get_text("t")`` calls.
"""
import gc
import random
import time

PARAGRAPHS = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю. ",   # 1 and 2 bytes
    "我能吞下玻璃而不伤身体。天地玄黄宇宙洪荒日月盈昃辰宿列张",            # 3 bytes only
    "😀😃😄😁🎉🚀🌍🌈🍕🎸",                                           # 4 bytes, surrogates
    "Grüße aus Köln — 東京 😀 naïve café ",                          # everything
)
TEXT_CPS = 40_000
N_UNIT_EDITS = 5_000
N_CONVERT = 20_000
N_SPLITS = 5_000
N_LEAF = 3_000
MAP_KEYS = 5_000
N_LEN = 2_000
N_GET = 100_000


def _base_text(rng):
    """Pastes of 300..1,500 code points, each from one paragraph repeated."""
    chunks = []
    total = 0
    while total < TEXT_CPS:
        p = rng.choice(PARAGRAPHS)
        n = rng.randint(300, 1500)
        chunks.append((p * (n // len(p) + 1))[:n])
        total += n
    return chunks


def _u16(s):
    return len(s.encode("utf-16-le")) // 2


def _u8(s):
    return len(s.encode("utf-8"))


def _paste(lib, chunks, rng):
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    pos = 0
    for c in chunks:
        text.insert(pos, c)
        pos = rng.randint(0, text.len_unicode)
    doc.commit()
    return doc, text


def unit_edit_script(seed=8):
    """The pastes and (op, unit position, arg) edits, positions valid for a model string."""
    rng = random.Random(seed)
    chunks = _base_text(rng)
    model = ""
    prng = random.Random(seed + 1)
    pos = 0
    for c in chunks:
        model = model[:pos] + c + model[pos:]
        pos = prng.randint(0, len(model))
    ops = []
    for i in range(N_UNIT_EDITS):
        at = rng.randint(0, len(model) - 10)
        kind = i % 4
        if kind == 0:
            s = rng.choice(("x", "é", "中", "😀", "ab"))
            ops.append(("insert_utf16", _u16(model[:at]), s))
            model = model[:at] + s + model[at:]
        elif kind == 1:
            n = rng.randint(1, 3)
            ops.append(("delete_utf16", _u16(model[:at]), _u16(model[at:at + n])))
            model = model[:at] + model[at + n:]
        elif kind == 2:
            s = rng.choice(("y", "ö", "文", "🎉"))
            ops.append(("insert_utf8", _u8(model[:at]), s))
            model = model[:at] + s + model[at:]
        else:
            n = rng.randint(1, 3)
            ops.append(("delete_utf8", _u8(model[:at]), _u8(model[at:at + n])))
            model = model[:at] + model[at + n:]
    return chunks, ops, model


def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def work_unit_edits(lib, script):
    chunks, ops, _ = script
    doc, text = _paste(lib, chunks, random.Random(9))
    calls = [(getattr(text, name), a, b) for name, a, b in ops]

    def run():
        for f, a, b in calls:
            f(a, b)
        return text.to_string()
    return _timed(run)


def work_convert(lib, script):
    chunks, _, _ = script
    doc, text = _paste(lib, chunks, random.Random(9))
    rng = random.Random(3)
    P = getattr(lib, "PositionType", None)
    u16, uni, u8 = (P.Utf16, P.Unicode, P.Bytes) if P else ("utf16", "unicode", "utf8")
    n16, n = text.len_utf16, text.len_unicode
    qs = [(rng.randint(0, n16), u16, uni) if i % 2 else (rng.randint(0, n), uni, u8)
          for i in range(N_CONVERT)]
    conv = text.convert_pos

    def run():
        return sum(conv(p, a, b) or 0 for p, a, b in qs)
    return _timed(run)


def work_splits(lib, script):
    chunks, _, _ = script
    doc, text = _paste(lib, chunks, random.Random(9))
    rng = random.Random(4)
    n = text.len_unicode
    pos = []
    for i in range(N_SPLITS):
        pos.append(rng.randint(0, n))
        n += 1
    ins = text.insert

    def run():
        for p in pos:
            ins(p, "·")
        doc.commit()
        return text.to_string()
    return _timed(run)


def work_leaf_splits(lib):
    doc = lib.LoroDoc()
    doc.peer_id = 1
    text = doc.get_text("t")
    rng = random.Random(1)
    for _ in range(20):
        text.insert(rng.randint(0, text.len_unicode), "ab中😀 " * 5000)
    doc.commit()
    pos = [rng.randint(0, text.len_unicode) for _ in range(N_LEAF)]
    ins = text.insert

    def run():
        for p in pos:
            ins(p, "x")
        doc.commit()
        return text.to_string()
    return _timed(run)


def work_map_len(lib):
    doc = lib.LoroDoc()
    doc.peer_id = 1
    m = doc.get_map("m")
    for i in range(MAP_KEYS):
        m.insert(f"key{i}", i)
    for i in range(0, MAP_KEYS, 7):
        m.delete(f"key{i}")
    doc.commit()

    def run():
        total = 0
        for _ in range(N_LEN):
            total += len(m)
        return total
    return _timed(run)


def work_get_text(lib):
    doc = lib.LoroDoc()
    doc.get_text("t").insert(0, "x")
    get = doc.get_text

    def run():
        for _ in range(N_GET):
            t = get("t")
        return t.to_string()
    return _timed(run)


WORKLOADS = (
    ("unit edits", N_UNIT_EDITS, "utf"),
    ("convert_pos", N_CONVERT, "utf"),
    ("split long spans", N_SPLITS, "utf"),
    ("leaf splits", N_LEAF, "utf"),
    ("len(map)", N_LEN, None),
    ("get_text", N_GET, None),
)


def run_hot(run, log):
    out = run.results.setdefault("hot", {})
    libs = [l for l in run.libs if l in ("loro_c", "loro")]
    script = unit_edit_script()
    fns = {
        "unit edits": lambda lib: work_unit_edits(lib, script),
        "convert_pos": lambda lib: work_convert(lib, script),
        "split long spans": lambda lib: work_splits(lib, script),
        "leaf splits": work_leaf_splits,
        "len(map)": work_map_len,
        "get_text": work_get_text,
    }
    for name, n, _ in WORKLOADS:
        log(f"[hot] {name}")
        best = {}
        results = {}
        for r in range(run.args.repeat):
            order = libs[r % len(libs):] + libs[:r % len(libs)]
            for lib in order:
                try:
                    dt, res = fns[name](run.modules[lib])
                except Exception as exc:
                    run.problem(f"hot paths ({name})", lib, f"{type(exc).__name__}: {exc}")
                    continue
                best[lib] = dt if lib not in best else min(best[lib], dt)
                results[lib] = res
        if len(set(map(repr, results.values()))) > 1:
            run.problem(f"hot paths ({name})", "loro_c", "result differs from loro's")
        if name == "unit edits" and results.get("loro_c") not in (None, script[2]):
            run.problem(f"hot paths ({name})", "loro_c", "text differs from the model")
        out[name] = {"ops": n, "us_per_op": {l: t / n * 1e6 for l, t in best.items()}}


def table_hot(run, render, fmt_ratio, ratio):
    libs = [l for l in run.libs if l in ("loro_c", "loro")]
    rows = []
    for name, n, _ in WORKLOADS:
        e = run.results.get("hot", {}).get(name)
        if not e:
            continue
        t = e["us_per_op"]
        rows.append([name, f"{n:,}"] + [f"{t[l]:.3f}" if l in t else "n/a" for l in libs]
                    + [fmt_ratio(ratio(t.get("loro_c"), t.get("loro")))])
    header = ["workload", "ops"] + [f"{l} µs/op" for l in libs] + ["ratio"]
    run.tables.append(render(
        "8. Hot paths (non-ASCII positions, long spans, map length, root lookup)", header, rows,
        ["only the operations are timed (the document is built untimed); "
         f"best of {run.args.repeat}, libraries interleaved; see benches/_hot.py"]))
