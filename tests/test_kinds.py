"""Container kinds and op kinds have one place, include/loro_c/kinds.h: every other place that
names or numbers them (the compiled loro_c._kinds, ContainerType, the document's kind names,
the codec's op kinds) agrees with it, with loro, and does not define them again."""
import re
from pathlib import Path

import loro
import pytest

from loro_c import ContainerType, _codec, _doc, _kinds
from loro_c.codec import json as json_codec

ROOT = Path(__file__).resolve().parent.parent
KINDS_H = ROOT / "include" / "loro_c" / "kinds.h"


def _header_enums(text):
    return {name: int(value) for name, value in re.findall(r"\b(LC_\w+)\s*=\s*(\d+)", text)}


def test_python_names_come_from_the_header_module():
    assert _doc._TYPE_NAMES is _kinds.KIND_NAMES
    assert len(_kinds.KIND_NAMES) == len(_kinds.KIND_HISTORICAL) == 6
    # historical bytes are a permutation of the raw ones
    assert sorted(_kinds.KIND_HISTORICAL) == list(range(len(_kinds.KIND_NAMES)))


def test_container_types_follow_the_kinds():
    for raw, name in enumerate(_kinds.KIND_NAMES):
        ct = ContainerType.from_byte(raw)
        assert (str(ct), ct.kind, ct.to_byte()) == (name, raw, raw)
        assert ct.to_historical_byte() == _kinds.KIND_HISTORICAL[raw]
        assert ContainerType.from_historical_byte(_kinds.KIND_HISTORICAL[raw]) == ct
        assert ContainerType.from_name(name) == ct == getattr(ContainerType, name)()
        assert ContainerType.from_name(name[0].lower() + name[1:]) == ct
        assert _doc.kind_of_type(ct) == raw
        assert _doc.container_type(raw) == ct
    assert str(ContainerType.from_byte(len(_kinds.KIND_NAMES))).startswith("Unknown")


def test_kind_names_match_loro():
    for name in _kinds.KIND_NAMES:
        assert str(getattr(loro.ContainerType, name)()) == name


def test_raw_bytes_and_op_kinds_match_loros_binary_format():
    """The kinds loro_c's decoder reads from a loro blob: the container bytes name the kinds
    loro wrote, and each op comes out as the op kind of kinds.h."""
    d = loro.LoroDoc()
    d.peer_id = 3
    d.get_text("t").insert(0, "a")
    d.get_text("t").delete(0, 1)
    d.get_list("l").insert(0, 1)
    d.get_map("m").insert("k", 2)
    d.get_map("m").delete("k")
    d.get_counter("c").increment(2.0)
    d.commit()
    (change,) = _codec.decode_updates(d.export(loro.ExportMode.Updates(loro.VersionVector())))
    got = [(op[0], op[1].name, str(op[1].container_type)) for op in change[-1]]
    k = _kinds.OP_KINDS
    assert got == [(k["insert"], "t", "Text"), (k["delete"], "t", "Text"), (k["insert"], "l", "List"),
                   (k["map_set"], "m", "Map"), (k["map_delete"], "m", "Map"),
                   (k["counter"], "c", "Counter")]


def test_codec_op_kinds_are_the_headers():
    k = _kinds.OP_KINDS
    assert (_codec.OP_INSERT, _codec.OP_DELETE, _codec.OP_MAP_SET, _codec.OP_MAP_DELETE,
            _codec.OP_COUNTER) == (k["insert"], k["delete"], k["map_set"], k["map_delete"], k["counter"])
    assert (json_codec.OP_INSERT, json_codec.OP_COUNTER) == (k["insert"], k["counter"])


@pytest.mark.skipif(not KINDS_H.is_file(), reason="needs the source tree (include/ is not installed)")
def test_the_header_is_the_one_place():
    enums = _header_enums(KINDS_H.read_text(encoding="utf-8"))
    for raw, name in enumerate(_kinds.KIND_NAMES):
        cname = "LC_KIND_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
        assert enums[cname] == raw
    assert enums["LC_N_KINDS"] == len(_kinds.KIND_NAMES)
    for name, value in _kinds.OP_KINDS.items():
        assert enums["LC_OP_" + name.upper()] == value
    # nobody else numbers a kind or spells the name table
    defines = re.compile(r"\b(?:LC_)?(?:KIND|OP)_[A-Z_]+\s*=\s*\d|\"Map\",\s*\"List\"|_make_known_type\(\s*\"")
    sources = [p for pat in ("src/loro_c/**/*.py", "src/loro_c/**/*.pyx", "src/loro_c/**/*.pxd",
                             "src/loro_c/**/*.pxi", "include/loro_c/*.h")
               for p in ROOT.glob(pat)]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if p != KINDS_H and defines.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
