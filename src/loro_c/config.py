"""`Configure`: a document's options, as loro's ``LoroDoc.config`` exposes them."""
from loro_c.errors import LoroTypeError

__all__ = ["Configure"]


class Configure:
    """The options of a document (``LoroDoc.config``, live: setting one changes the
    document), or a free-standing set of them (``Configure()``, loro's defaults)."""

    __slots__ = ("_doc", "_record", "_interval", "_detached")

    def __init__(self):
        self._doc = None
        self._record = False
        self._interval = 1000
        self._detached = False

    @classmethod
    def _of(cls, doc):
        c = cls()
        c._doc = doc
        return c

    def record_timestamp(self) -> bool:
        """Whether commits are stamped with the current time (set_record_timestamp)."""
        return self._doc._config_values()[0] if self._doc is not None else self._record

    def set_record_timestamp(self, record: bool) -> None:
        if self._doc is not None:
            self._doc.set_record_timestamp(record)
        elif not isinstance(record, bool):
            raise LoroTypeError("record must be a bool")
        else:
            self._record = record

    def merge_interval(self) -> int:
        """Seconds within which consecutive local changes merge (set_change_merge_interval)."""
        return self._doc._config_values()[1] if self._doc is not None else self._interval

    def set_merge_interval(self, interval: int) -> None:
        if self._doc is not None:
            self._doc.set_change_merge_interval(interval)
        elif not isinstance(interval, int) or isinstance(interval, bool):
            raise LoroTypeError("the merge interval must be an int")
        else:
            self._interval = interval

    def detached_editing(self) -> bool:
        """Whether edits are allowed while detached (set_detached_editing)."""
        return self._doc.is_detached_editing_enabled if self._doc is not None else self._detached

    def set_detached_editing(self, mode: bool) -> None:
        if self._doc is not None:
            self._doc.set_detached_editing(mode)
        elif not isinstance(mode, bool):
            raise LoroTypeError("set_detached_editing takes a bool")
        else:
            self._detached = mode

    def text_style_config(self):
        """A copy of the text style configuration (a StyleConfigMap; its ``get`` answers
        the document's default style for keys it does not name)."""
        if self._doc is not None:
            return self._doc._text_style_config()
        from loro_c.richtext import StyleConfigMap
        return StyleConfigMap.default_rich_text_config()
