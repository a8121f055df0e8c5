// Applies a loro_c EphemeralStore message (hex, last argument) in loro-crdt and prints, as one
// JSON line, the resulting states and events and messages of a store of its own.
import { EphemeralStore } from "loro-crdt";
const hex = process.argv[process.argv.length - 1];
const enc = (v) => JSON.stringify(v, (k, x) => {
  if (x instanceof Uint8Array) return { $bytes: Buffer.from(x).toString("hex") };
  if (typeof x === "bigint") return { $int: x.toString() };
  return x;
});
const store = new EphemeralStore(30000);
const events = [];
store.subscribe((e) => { events.push({ by: e.by, added: e.added, updated: e.updated, removed: e.removed }); });
store.apply(Uint8Array.from(Buffer.from(hex, "hex")));
const states = store.getAllStates();
const mine = new EphemeralStore(30000);
mine.set("js", { n: 1.5, s: "é🦜", l: [true, null, "x"], b: new Uint8Array([0, 255]) });
mine.set("gone", 1);
mine.delete("gone");
await new Promise((r) => setTimeout(r, 0));
console.log(enc({ states, events, all: Buffer.from(mine.encodeAll()).toString("hex"),
                  one: Buffer.from(mine.encode("js")).toString("hex") }));
store.destroy(); mine.destroy();
