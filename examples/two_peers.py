"""Two peers sync the way Loro's sync guide describes: exchange version vectors, send each
other the missing updates (binary, Loro's own format), then stream every local commit."""
import loro_c as loro
from loro_c import ExportMode

a = loro.LoroDoc(); a.peer_id = 1
b = loro.LoroDoc(); b.peer_id = 2

# offline edits on both sides
a.get_text("text").insert(0, "Hello"); a.commit()
b.get_list("todo").push("write docs"); b.commit()

# message 1: version vectors; message 2: the updates the other side lacks
a_vv, b_vv = a.oplog_vv, b.oplog_vv
a.import_(b.export(ExportMode.Updates(a_vv)))
b.import_(a.export(ExportMode.Updates(b_vv)))

# from now on, every local commit streams to the other peer
# keep the handles: as in loro, dropping a Subscription unsubscribes (or call .detach());
# a callback returns True to stay subscribed, and runs after the commit has finished
sub_a = a.subscribe_local_update(lambda update: b.import_(update) is not None)
sub_b = b.subscribe_local_update(lambda update: a.import_(update) is not None)
b.get_text("text").insert(5, " world"); b.commit()

assert a.get_deep_value() == b.get_deep_value() == {"text": "Hello world", "todo": ["write docs"]}
print(a.get_deep_value())
