"""LoroText.update on a large text (loro_c vs loro): a 200,000-character text with a few
words replaced in the middle ("small"), or with 50 one-word changes spread over it
("scattered", which exercises the Myers search rather than the trimming of common ends);
update and update_by_line.
The document is built outside the timed code; each round updates to the changed text and
back, so every round does the same work."""
import random

import pytest

N_CHARS = 200_000


def _texts(kind="small"):
    rng = random.Random(17)
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "😀", "crdt", "text"]
    out, n = [], 0
    while n < N_CHARS:
        w = rng.choice(words) + (" " if rng.random() < 0.9 else "\n")
        out.append(w)
        n += len(w)
    base = "".join(out)
    if kind == "small":
        mid = len(base) // 2
        return base, base[:mid] + "a small change" + base[mid + 20:]
    changed = base
    for pos in sorted(rng.sample(range(len(base) - 10), 50), reverse=True):
        changed = changed[:pos] + rng.choice(words) + changed[pos + 5:]
    return base, changed


@pytest.mark.parametrize("kind", ["small", "scattered"])
@pytest.mark.parametrize("method", ["update", "update_by_line"])
def test_text_update(benchmark, library, method, kind):
    name, module = library
    if name == "pycrdt":
        pytest.skip("pycrdt has no text diff update")
    base, changed = _texts(kind)
    doc = module.LoroDoc()
    text = doc.get_text("t")
    text.insert(0, base)
    doc.commit()
    fn = getattr(text, method)

    def round_trip():
        fn(changed)
        fn(base)
        doc.commit()

    benchmark.group = f"text {method} (200k chars, {kind} change)"
    benchmark.pedantic(round_trip, rounds=20, iterations=1, warmup_rounds=1)
    benchmark.extra_info["chars"] = len(base)
    assert text.to_string() == base
