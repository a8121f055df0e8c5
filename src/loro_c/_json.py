"""Old name of :mod:`loro_c.codec.json` (JSON updates), kept for existing imports."""
from loro_c.codec.json import (OP_COUNTER, OP_DELETE, OP_INSERT, OP_MAP_DELETE,  # noqa: F401
                               OP_MAP_SET, decode_updates, export_updates)
