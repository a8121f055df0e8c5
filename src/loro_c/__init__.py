"""loro_c: a Cython CRDT engine that mirrors the Python API of `loro` and converges exactly
with it. `import loro_c as loro` works for the supported subset (Text, List, Map, Counter,
versions, JSON updates)."""
from loro_c.errors import (LoroError, DecodeError, OutOfBoundsError, LoroTypeError,
                           LoroValueError, ContainerMismatchError, UnknownContainerError,
                           CallbackError, KeyNotFoundError, DetachedError,
                           ContainerDeletedError, OutdatedVersionError, UsedOpIdError)
from loro_c._version import ID, VersionVector, Frontiers
from loro_c._types import (ContainerType, ContainerID, IdSpan, IdLp, CounterSpan, VersionRange,
                           VersionVectorDiff, ImportStatus, ExportMode, ValueOrContainer,
                           EncodedBlobMode, ImportBlobMetadata, Ordering, ChangeMeta)
from loro_c._doc import LoroDoc, Subscription
from loro_c._containers import LoroText, LoroList, LoroMap, LoroCounter, LoroMovableList
from loro_c.unknown import LoroUnknown
from loro_c.ephemeral import (EphemeralStore, EphemeralStoreEvent, Awareness,
                              AwarenessPeerUpdate, PeerInfo)
from loro_c.cursor import Cursor, Side, PosQueryResult, AbsolutePosition
from loro_c.undo import UndoManager, UndoOrRedo, UndoItemMeta, CursorWithPos
from loro_c.paths import Index
from loro_c.config import Configure
from loro_c.events import (EventTriggerKind, DiffEvent, ContainerDiff, PathItem, Diff, TextDelta,
                           ListDiffItem, MapDelta, EventStream, EventStreamOverflow, ChangeModifier,
                           DiffBatch)
from loro_c.richtext import ExpandType, StyleConfigMap, PositionType

__version__ = "0.1.0"
# The Loro release whose behaviour and formats loro_c follows (loro's own LORO_VERSION).
LORO_VERSION = "1.17.1"

__all__ = [
    "LoroDoc", "Subscription", "LoroText", "LoroList", "LoroMap", "LoroCounter", "LoroMovableList",
    "LoroUnknown", "ID", "VersionVector", "Frontiers", "ContainerType", "ContainerID", "IdSpan", "IdLp",
    "LORO_VERSION",
    "CounterSpan", "VersionRange", "VersionVectorDiff", "ImportStatus", "ExportMode",
    "ValueOrContainer", "LoroError", "DecodeError", "OutOfBoundsError", "LoroTypeError",
    "LoroValueError", "ContainerMismatchError", "UnknownContainerError", "CallbackError", "KeyNotFoundError", "DetachedError",
    "ContainerDeletedError", "OutdatedVersionError", "UsedOpIdError",
    "EncodedBlobMode", "ImportBlobMetadata", "ChangeMeta",
    "EphemeralStore", "EphemeralStoreEvent", "Awareness", "AwarenessPeerUpdate", "PeerInfo",
    "Cursor", "Side", "PosQueryResult", "AbsolutePosition", "Ordering",
    "UndoManager", "UndoOrRedo", "UndoItemMeta", "CursorWithPos",
    "Index", "EventTriggerKind", "DiffEvent", "ContainerDiff", "PathItem", "Diff", "TextDelta",
    "ListDiffItem", "MapDelta", "EventStream", "EventStreamOverflow", "ChangeModifier",
    "Configure", "DiffBatch",
    "ExpandType", "StyleConfigMap", "PositionType",
]

# LoroTree (handles/tree.pxi, state/tree.pxi)
from loro_c._containers import LoroTree
from loro_c._types import TreeID, TreeNode
from loro_c.events import TreeDiff, TreeDiffItem, TreeExternalDiff

__all__ += ["LoroTree", "TreeID", "TreeNode", "TreeDiff", "TreeDiffItem", "TreeExternalDiff"]
