"""Exception hierarchy of loro_c.

Every error that loro_c raises on purpose derives from :class:`LoroError`, so
``except loro_c.LoroError`` catches them all.  Each concrete class also derives
from the closest built-in exception (``ValueError``, ``IndexError``,
``TypeError`` or ``KeyError``), so code written against plain Python
conventions keeps working.

Argument conversion errors that Python itself raises before any loro_c code
runs (for example ``OverflowError`` when a peer id does not fit in 64 bits,
or ``TypeError`` when an ``ID`` is expected and something else is given) are
left as they are, mirroring the reference ``loro`` package.
"""

__all__ = [
    "LoroError",
    "DecodeError",
    "OutOfBoundsError",
    "LoroTypeError",
    "LoroValueError",
    "ContainerMismatchError",
    "UnknownContainerError",
    "CallbackError",
    "KeyNotFoundError",
    "DetachedError",
    "ContainerDeletedError",
    "OutdatedVersionError",
    "UsedOpIdError",
]


class LoroError(Exception):
    """Base class of every error raised by loro_c."""


class DecodeError(LoroError, ValueError):
    """Raised when bytes or text handed to a decoder are malformed.

    Examples: truncated input, trailing garbage, a varint that overflows its
    type, a wrong checksum, an unsupported format version, or a value that is
    out of range for its field.  Decoders never crash on bad input; they raise
    this error instead.
    """


class OutOfBoundsError(LoroError, IndexError):
    """Raised when a position or length falls outside a container.

    For example inserting at an index greater than the length of a list or
    text, or deleting past its end.
    """


class LoroTypeError(LoroError, TypeError):
    """Raised when a value has a type loro_c cannot store or accept.

    For example inserting an unsupported Python object into a map, or passing
    a non-``ContainerType`` where a container type is required.
    """


class LoroValueError(LoroError, ValueError):
    """Raised when an argument has the right type but an invalid value.

    For example an invalid peer id, an invalid root container name (empty,
    containing ``/`` or NUL), or a container id string that cannot be parsed.
    """


class ContainerMismatchError(LoroError, TypeError):
    """Raised when a container id is used as the wrong kind of container.

    For example asking for a text handler with the id of a map.
    """


class UnknownContainerError(LoroError, KeyError):
    """Raised when a container id does not name a container the document knows.

    Derives from ``KeyError`` because it signals a failed lookup.
    """


class CallbackError(LoroError):
    """Raised by a public call when a subscriber callback it delivered to raised.

    The call's own operation (a commit, an import, an export) completed and is not undone;
    every queued event was still delivered to every subscriber.  ``__cause__`` is the first
    exception a callback raised.  (``loro`` reports this case with a ``PanicException``
    from the same call.)
    """


class KeyNotFoundError(LoroError, KeyError):
    """Raised by ``map[key]`` and ``del map[key]`` when the map has no such key."""


class DetachedError(LoroError):
    """Raised by an edit while the document is detached (after ``checkout`` or
    ``detach``): its state shows an old version and is read-only until ``attach`` or
    ``checkout_to_latest``.  Nothing is changed.  (``loro`` panics there.)"""


class ContainerDeletedError(LoroError):
    """Raised by a local edit of a container that is no longer part of the document: its
    entry in the parent map or list was deleted or overwritten, or its tree node was
    deleted. Loro refuses these edits too; the document is left unchanged."""


class OutdatedVersionError(LoroError):
    """A shallow document lacks the history an operation needs: an update depending on ops
    before its shallow root (loro's ImportUpdatesThatDependsOnOutdatedVersion), or a
    checkout to a version before that root. An import raising it left the document
    unchanged unless other changes of it joined the history: those stay applied (as in
    loro) and only the changes before the root were dropped."""


class UsedOpIdError(LoroError, ValueError):
    """An import carries, under op ids the document already has, different ops than the
    document's (two documents edited with the same peer id). Applying its new part on
    top would corrupt the merge, so the import is refused and the document left
    unchanged. ``id`` is the first conflicting op id. (``loro`` raises its UsedOpID error
    there.) A duplicate delivery of the same ops is not a conflict."""

    def __init__(self, message, id=None):
        super().__init__(message)
        self.id = id
