// One editing peer for tests/test_sync_js.py, using the unchanged npm packages
// (loro-websocket client, loro-adaptors' LoroAdaptor, loro-crdt).
// argv: url room name edits.  Talks to the test over stdio, one JSON object a line:
//   out {"event":"joined"} / {"event":"edited","version":{peer:counter}} / {"event":"final","value":...}
//   in  {"target":{peer:counter}}  -> wait until the doc includes it, then print "final".
import { WebSocket } from "ws";
import { LoroDoc, VersionVector } from "loro-crdt";
import { LoroWebsocketClient } from "loro-websocket";
import { LoroAdaptor } from "loro-adaptors/loro";
import readline from "node:readline";

// Node 20 has no global WebSocket; the client expects one.
Object.defineProperty(globalThis, "WebSocket", { value: WebSocket, configurable: true, writable: true });

const [url, roomId, name, editsArg] = process.argv.slice(2);
const edits = Number(editsArg);
// Resolves once written: stdout to a pipe is asynchronous, and exit() would cut it short.
const say = obj => new Promise(r => process.stdout.write(JSON.stringify(obj) + "\n", r));
const sleep = ms => new Promise(r => setTimeout(r, ms));
const deadline = Date.now() + 60_000;
const guard = what => { if (Date.now() > deadline) { console.error(`timeout: ${what}`); process.exit(3); } };

const doc = new LoroDoc();
const adaptor = new LoroAdaptor(doc);
const client = new LoroWebsocketClient({ url, disablePing: true });
await client.waitConnected();
await client.join({ roomId, crdtAdaptor: adaptor });
await say({ event: "joined" });

const text = doc.getText("t");
const map = doc.getMap("m");
const list = doc.getList("l");
for (let i = 0; i < edits; i++) {
  const pos = (i * 7919) % (text.length + 1);
  text.insert(pos, `${name}${i};`);
  if (i % 3 === 0) map.set(`${name}-${i % 5}`, `${name}:${i}`);
  if (i % 4 === 0) list.insert(Math.floor(list.length / 2), `${name}${i}`);
  if (i % 10 === 9 && text.length > 4) text.delete(1, 2);
  // One update over the 256 KiB frame limit: the JS client fragments it, the server
  // reassembles it and sends it on to the others as fragments.
  if (name === "A" && i === Math.floor(edits / 2)) map.set("big", "x".repeat(300_000));
  doc.commit();
  await sleep(i % 5 === 0 ? 2 : 0);  // interleave with the other peers
}
await say({ event: "edited", version: Object.fromEntries(doc.version().toJSON()) });

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const { target } = JSON.parse(line);
  const want = VersionVector.parseJSON(new Map(Object.entries(target)));
  while (true) {
    guard("reaching the target version");
    const cmp = doc.version().compare(want);
    if (cmp !== undefined && cmp >= 0) break;
    await sleep(10);
  }
  await say({ event: "final", value: doc.toJSON(), version: Object.fromEntries(doc.version().toJSON()) });
  break;
}
client.destroy?.();
process.exit(0);
