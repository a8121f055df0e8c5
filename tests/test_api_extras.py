"""Small parts of loro's API: LORO_VERSION, IdLp, Configure.text_style_config."""
import loro
import pytest

import loro_c


def test_loro_version_names_the_release_followed():
    assert loro_c.LORO_VERSION == loro.LORO_VERSION


def test_idlp_is_a_value_ordered_by_lamport_then_peer():
    a, b = loro_c.IdLp(2, 5), loro_c.IdLp(1, 6)
    assert (a.peer, a.lamport) == (2, 5)
    assert a == loro_c.IdLp(2, 5) and hash(a) == hash(loro_c.IdLp(2, 5))
    assert a < b and sorted([b, a]) == [a, b]
    assert loro_c.IdLp(1, 5) < loro_c.IdLp(2, 5)
    with pytest.raises(AttributeError):
        a.peer = 3
    with pytest.raises(OverflowError):
        loro_c.IdLp(1, 1 << 32)


@pytest.mark.parametrize("setup", ["fresh", "configured", "default", "free"])
def test_text_style_config_as_loro(setup):
    keys = ["bold", "italic", "link", "comment", "mine", "zzz"]
    got = []
    for mod in (loro, loro_c):
        if setup == "free":
            cfg = mod.Configure().text_style_config()
        else:
            d = mod.LoroDoc()
            if setup in ("configured", "default"):
                m = mod.StyleConfigMap()
                m.insert("mine", mod.ExpandType.Before)
                m.insert("bold", mod.ExpandType.Both)
                d.config_text_style(m)
            if setup == "default":
                d.config_default_text_style(mod.ExpandType.None_ if hasattr(mod.ExpandType, "None_")
                                            else mod.ExpandType.After)
            cfg = d.config.text_style_config()
            cfg.insert("mine", mod.ExpandType.After)        # a copy: the document keeps its own
            assert d.config.text_style_config().get("mine") == (
                None if setup == "fresh" else mod.ExpandType.Before)
        got.append([str(cfg.get(k)) for k in keys])
    assert got[0] == got[1]
