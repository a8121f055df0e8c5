"""`LoroUnknown`: loro's handle for a container whose kind this library does not know (a
`ContainerType.Unknown(kind)` id, e.g. a root named by a newer peer). It reads nothing; it
only names the container and its document, so code written against `loro` that meets one
keeps working."""


class LoroUnknown:
    """A container of a kind this library does not know: its id and document only."""

    __slots__ = ("_doc", "_id")

    def __init__(self, doc, cid):
        self._doc = doc
        self._id = cid

    @property
    def id(self):
        """The ContainerID of this container."""
        return self._id

    def doc(self):
        """The LoroDoc this handle was obtained from."""
        return self._doc

    def __repr__(self):
        return f"LoroUnknown({self._id})"

    def __eq__(self, other):
        return (isinstance(other, LoroUnknown) and other._doc is self._doc
                and other._id == self._id)

    def __hash__(self):
        return hash(self._id)
