"""Redaction of JSON updates, behind `LoroDoc.redact_json_updates`, with loro's rules.

Every op whose id (its change's peer, the op's counter, one counter per atom) falls in the
version range loses its content, its structure kept so the result still imports:
- a text insert becomes U+FFFD per redacted character (the text's length is unchanged);
- list and movable-list inserts, map inserts and movable-list sets get null values, except
  child containers, which are kept;
- a mark keeps its key and loses its value (null); a counter op becomes the integer 0;
- deletes, moves, mark ends and tree ops are kept as they are.
Ops outside the range, change metadata and the peer table are untouched. The result is
compact JSON, as loro writes it. Malformed input raises `LoroValueError` (loro panics).
"""
import json

from loro_c.codec.json import _Decoder
from loro_c.errors import DecodeError, LoroValueError

__all__ = ["redact_json_updates"]

_REPLACEMENT = "\ufffd"
_CONTAINER_PREFIX = "\U0001f99c:cid:"  # how JSON updates spell a child container value


def redact_json_updates(text, version_range):
    """`text` (JSON updates) with the ops inside `version_range` redacted."""
    try:
        updates = json.loads(text)
    except (TypeError, ValueError, RecursionError) as e:
        raise LoroValueError(f"invalid JSON updates: {e}") from None
    if not isinstance(updates, dict):
        raise LoroValueError("invalid JSON updates: expected an object")
    for field in ("schema_version", "start_version", "changes"):
        if field not in updates:
            raise LoroValueError(f"invalid JSON updates: missing field `{field}`")
    changes = updates["changes"]
    if not isinstance(changes, list):
        raise LoroValueError("invalid JSON updates: `changes` must be a list")
    spans = version_range._m
    try:
        decoder = _Decoder(updates.get("peers"))
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("ops"), list):
                raise DecodeError("a change needs an id and a list of ops")
            peer, _ = decoder.id(change.get("id"))
            span = spans.get(peer)
            if span is None:
                continue
            for op in change["ops"]:
                _redact_op(op, span[0], span[1])
    except DecodeError as e:
        raise LoroValueError(f"invalid JSON updates: {e}") from None
    return json.dumps(updates, ensure_ascii=False, separators=(",", ":"))


def _redact_op(op, start, end):
    if not isinstance(op, dict) or not isinstance(op.get("content"), dict) \
            or type(op.get("counter")) is not int:
        raise DecodeError("an op needs a counter and a content")
    counter = op["counter"]
    content = op["content"]
    kind = content.get("type")
    if kind == "insert" and "text" in content:
        text = content["text"]
        if not isinstance(text, str):
            raise DecodeError("a text insert needs a string")
        content["text"] = "".join(
            _REPLACEMENT if start <= counter + i < end else ch for i, ch in enumerate(text))
    elif kind == "insert" and isinstance(content.get("value"), list) and "pos" in content:
        content["value"] = [
            _hidden(v) if start <= counter + i < end else v for i, v in enumerate(content["value"])]
    elif kind in ("insert", "set") and start <= counter < end:
        content["value"] = _hidden(content.get("value"))
    elif kind == "mark" and start <= counter < end:
        content["style_value"] = None
    elif kind == "counter" and start <= counter < end:
        content["value_type"] = "i64"
        content["value"] = 0


def _hidden(value):
    """null, unless the value names a child container (kept so the structure stays)."""
    if isinstance(value, str) and value.startswith(_CONTAINER_PREFIX):
        return value
    return None
