"""Two peers edit one text and sync through JSON updates."""
import loro_c as loro

a = loro.LoroDoc(); a.peer_id = 1
b = loro.LoroDoc(); b.peer_id = 2
a.get_text("text").insert(0, "Hello"); a.commit()
b.import_json_updates(a.export_json_updates(b.oplog_vv, a.oplog_vv))
b.get_text("text").insert(5, " world"); b.commit()
a.import_json_updates(b.export_json_updates(a.oplog_vv, b.oplog_vv))
assert a.get_deep_value() == b.get_deep_value() == {"text": "Hello world"}
print(a.get_deep_value())
