"""Rich-text style configuration, as loro's `ExpandType` and `StyleConfigMap`.

A mark's expand type decides whether text typed at its edges joins it (Loro's
TextStyleInfoFlag: 0x80 alive, 0x02 expand before, 0x04 expand after); an unmark uses the
reversed type (Both <-> Null, Before and After unchanged)."""
from enum import Enum

from loro_c.errors import LoroTypeError, LoroValueError
from loro_c._types import check_utf8

__all__ = ["ExpandType", "StyleConfigMap", "PositionType"]


class ExpandType(Enum):
    """Whether text inserted at a style's edges inherits it."""
    Before = "before"
    After = "after"
    Both = "both"
    Null = "null"


_BITS = {ExpandType.Before: 0x02, ExpandType.After: 0x04, ExpandType.Both: 0x06, ExpandType.Null: 0}
_REVERSED = {ExpandType.Before: ExpandType.Before, ExpandType.After: ExpandType.After,
             ExpandType.Both: ExpandType.Null, ExpandType.Null: ExpandType.Both}


def info_byte(expand, unmark=False):
    """The info byte Loro writes into a mark op of this expand type."""
    return 0x80 | _BITS[_REVERSED[expand] if unmark else expand]


def check_expand(expand):
    if not isinstance(expand, ExpandType):
        raise LoroTypeError(f"expected an ExpandType, not {type(expand).__name__}")
    return expand


class StyleConfigMap:
    """Expand types by style key (a key "k:rest" is configured by "k")."""
    __slots__ = ("_map", "_default")

    def __init__(self):
        self._map = {}
        self._default = None        # a document's default (Configure.text_style_config)

    def insert(self, key, value):
        if not isinstance(key, str):
            raise LoroTypeError("style keys must be str")
        if ":" in key:
            raise LoroValueError("style key should not contain ':'")
        self._map[check_utf8(key, "style key")] = check_expand(value)

    def get(self, key):
        return self._map.get(key, self._default)

    @classmethod
    def default_rich_text_config(cls):
        m = cls()
        for k in ("bold", "italic", "underline"):
            m._map[k] = ExpandType.After
        for k in ("link", "highlight", "comment", "code"):
            m._map[k] = ExpandType.Null
        return m

    def _copy(self):
        m = StyleConfigMap()
        m._map = dict(self._map)
        return m

    def __repr__(self):
        return f"StyleConfigMap({self._map!r})"


class TextStyles:
    """A document's style configuration: the configured keys and the default."""
    __slots__ = ("map", "default")

    def __init__(self):
        self.map = StyleConfigMap.default_rich_text_config()
        self.default = None

    def info(self, key, unmark):
        """The info byte of a mark (or unmark) of `key`, or None when it is not configured."""
        k = key.split(":", 1)[0]
        e = self.map._map.get(k, self.default)
        return None if e is None else info_byte(e, unmark)


class PositionType(Enum):
    """The unit of a text position."""
    Bytes = "bytes"
    Unicode = "unicode"
    Utf16 = "utf16"
    Event = "event"
    Entity = "entity"
