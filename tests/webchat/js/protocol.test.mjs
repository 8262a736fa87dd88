// Unit tests of static/webchat/protocol.js with node's own runner (no bundler, no DOM):
//   node --test tests/webchat/js/
// Run from pytest by tests/webchat/test_protocol_js.py, so `make test` covers them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ConversationSync, backoffDelay } from "../../../static/webchat/protocol.js";

const ME = 1;
const OTHER = 2;

class FakeSocket {
  constructor() {
    this.ready = true;
    this.connectionId = 1;
    this.sent = [];
  }
  send(frame) {
    if (!this.ready) return false;
    this.sent.push(frame);
    return true;
  }
  of(type) {
    return this.sent.filter((f) => f.type === type);
  }
}

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

const message = (seq, author = OTHER, extra = {}) => ({ id: 100 + seq, seq, author: { id: author, name: "x" }, text: `m${seq}`, ...extra });
const subscribed = (last_seq, extra = {}) => ({ type: "subscribed", conversation: 7, last_seq, has_more: false, read: {}, online: [], ...extra });

function caughtUp({ held = [1, 2, 3], storage = new MemoryStorage() } = {}) {
  const socket = new FakeSocket();
  const sync = new ConversationSync({ socket, me: ME, messages: held.map((s) => message(s)), storage });
  sync.attach(7);
  sync.onSubscribed(subscribed(held.length ? Math.max(...held) : 0));
  socket.sent = [];
  return { socket, sync, storage };
}

test("subscribes from the highest seq it holds", () => {
  const socket = new FakeSocket();
  const sync = new ConversationSync({ socket, me: ME, messages: [message(4), message(5), message(6)], storage: null });
  sync.attach(7);
  assert.deepEqual(socket.sent, [{ type: "subscribe", conversation: 7, after_seq: 6, after_update_seq: 0 }]);
  assert.equal(sync.subscribed, false);
  assert.equal(sync.onSubscribed(subscribed(6)), true);
  assert.equal(sync.subscribed, true);
});

test("a seq already held is dropped", () => {
  const { sync } = caughtUp();
  assert.equal(sync.receive({ type: "message.new", message: message(3) }), null);
  assert.ok(sync.receive({ type: "message.new", message: message(4) }));
  assert.equal(sync.receive({ type: "message.new", message: message(4), replay: true }), null);
  assert.deepEqual([...sync.messages.keys()], [1, 2, 3, 4]);
});

test("a gap in live seqs resubscribes from the last contiguous seq, once", () => {
  const { socket, sync } = caughtUp();
  // Given seq 4 was lost on the way, seq 5 and 6 arrive live
  assert.ok(sync.receive({ type: "message.new", message: message(5) }));
  assert.ok(sync.receive({ type: "message.new", message: message(6) }));
  // Then one resubscribe asks for everything after 3 (the second gap waits for it)
  assert.deepEqual(socket.of("subscribe"), [{ type: "subscribe", conversation: 7, after_seq: 3, after_update_seq: 0 }]);
  assert.equal(sync.through, 3);
  // When the replay arrives, the missing one is kept and the overlap dropped
  assert.ok(sync.receive({ type: "message.new", message: message(4), replay: true }));
  assert.equal(sync.receive({ type: "message.new", message: message(5), replay: true }), null);
  assert.equal(sync.receive({ type: "message.new", message: message(6), replay: true }), null);
  assert.equal(sync.through, 6);
  assert.equal(sync.onSubscribed(subscribed(6)), true);
  assert.equal(socket.of("subscribe").length, 1);
  assert.deepEqual([...sync.messages.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
});

test("a gap still open after the replay is asked for again, at most three times", () => {
  const { socket, sync } = caughtUp();
  sync.receive({ type: "message.new", message: message(5) });
  for (let i = 0; i < 3; i += 1) assert.equal(sync.onSubscribed(subscribed(5)), false);
  assert.equal(sync.onSubscribed(subscribed(5)), true); // gives up until the next reconnect
  assert.equal(socket.of("subscribe").length, 4);
  assert.ok(socket.of("subscribe").every((f) => f.after_seq === 3));
});

test("the server's resync hint resumes from the last contiguous seq", () => {
  const { socket, sync } = caughtUp();
  assert.equal(sync.resync(), true);
  assert.equal(sync.resync(), false); // one in flight
  assert.deepEqual(socket.of("subscribe"), [{ type: "subscribe", conversation: 7, after_seq: 3, after_update_seq: 0 }]);
  sync.onSubscribed(subscribed(3));
  socket.ready = false;
  assert.equal(sync.resync(), false); // no socket: the reconnect's hello resumes instead
});

test("more than one replay page missed: subscribes again from the new position", () => {
  const socket = new FakeSocket();
  const sync = new ConversationSync({ socket, me: ME, storage: null });
  sync.attach(7);
  for (let seq = 1; seq <= 200; seq += 1) sync.receive({ type: "message.new", message: message(seq), replay: true });
  assert.equal(sync.onSubscribed(subscribed(250, { has_more: true })), false);
  assert.deepEqual(socket.of("subscribe").at(-1), { type: "subscribe", conversation: 7, after_seq: 200, after_update_seq: 0 });
  assert.equal(socket.of("subscribe").length, 2); // no gap resubscribes for replayed pages
});

test("unsent messages keep their client_id across reconnects and settle once", () => {
  const { socket, sync, storage } = caughtUp();
  const entry = sync.queue({ text: "hello" });
  sync.ready(entry);
  const [first] = socket.of("message.send");
  assert.equal(first.client_id, entry.clientId);
  assert.equal(first.text, "hello");
  assert.ok(storage.getItem("atelier-outbox-1-7").includes(entry.clientId));
  // When the connection drops before the ack and comes back
  sync.flush();
  assert.equal(socket.of("message.send").length, 1); // not twice on one connection
  sync.connectionLost();
  socket.connectionId = 2;
  sync.subscribe();
  sync.onSubscribed(subscribed(3));
  const sends = socket.of("message.send");
  assert.equal(sends.length, 2);
  assert.equal(sends[1].client_id, entry.clientId);
  // Then its message.new settles the entry and clears the stored outbox
  const received = sync.receive({ type: "message.new", message: message(4, ME, { client_id: entry.clientId }) });
  assert.equal(received.mine, true);
  assert.equal(received.clientId, entry.clientId);
  assert.equal(sync.pending.size, 0);
  assert.equal(storage.getItem("atelier-outbox-1-7"), null);
  assert.equal(sync.acknowledge({ client_id: entry.clientId, seq: 4 }), null);
});

test("an outbox saved before a reload is restored, except what the server already holds", () => {
  const storage = new MemoryStorage();
  storage.setItem(
    "atelier-outbox-1-7",
    JSON.stringify([
      { clientId: "held", text: "already stored", attachments: [], createdAt: "2026-01-01T00:00:00Z" },
      { clientId: "lost", text: "never arrived", attachments: [], createdAt: "2026-01-01T00:00:00Z" },
    ]),
  );
  const socket = new FakeSocket();
  const sync = new ConversationSync({ socket, me: ME, messages: [message(1, ME, { client_id: "held" })], storage });
  const restored = sync.attach(7);
  assert.deepEqual(restored.map((e) => e.clientId), ["lost"]);
  assert.equal(restored[0].state, "sending");
});

test("an error about one of our messages marks it failed; rate limits retry", () => {
  const { sync } = caughtUp();
  const entry = sync.queue({ text: "x" });
  assert.equal(sync.reject({ type: "error", code: "empty", message: "Empty." }), null);
  const failed = sync.reject({ type: "error", code: "blocked", client_id: entry.clientId, message: "Blocked." });
  assert.equal(failed.entry.state, "failed");
  assert.equal(failed.entry.error, "Blocked.");
  const other = sync.queue({ text: "y" });
  const limited = sync.reject({ type: "error", code: "rate_limited", client_id: other.clientId, retry_after: 0.2 });
  assert.equal(limited.retryAfter, 1);
  assert.equal(other.state, "sending");
  clearTimeout(limited.timer);
});

test("read markers only move forward; others' markers give the receipts", () => {
  const { sync } = caughtUp();
  sync.setMarker(OTHER, 3);
  sync.setMarker(OTHER, 2);
  sync.setMarker(ME, 9);
  assert.equal(sync.othersRead(), 3);
});

test("reconnect delays grow exponentially with jitter and stay under the ceiling", () => {
  const opts = { baseDelay: 1000, maxDelay: 30000 };
  assert.equal(backoffDelay(1, { ...opts, random: () => 0 }), 500);
  assert.equal(backoffDelay(1, { ...opts, random: () => 1 }), 1000);
  assert.equal(backoffDelay(3, { ...opts, random: () => 0 }), 2000);
  assert.equal(backoffDelay(20, { ...opts, random: () => 1 }), 30000);
  assert.equal(backoffDelay(20, { ...opts, random: () => 0 }), 15000);
});

test("a resubscribe asks for the changes to held messages since the last catch-up", () => {
  const socket = new FakeSocket();
  // The page drew three messages; the card at seq 2 had last changed at update_seq 5
  const held = [message(1), message(2, OTHER, { update_seq: 5 }), message(3)];
  const sync = new ConversationSync({ socket, me: ME, messages: held, storage: null });
  sync.attach(7);
  assert.deepEqual(socket.of("subscribe"), [{ type: "subscribe", conversation: 7, after_seq: 3, after_update_seq: 5 }]);
  sync.onSubscribed(subscribed(3, { update_seq: 6 }));
  // A live change (update_seq 8) after a lost one (7) does not move the mark...
  assert.ok(sync.update(message(1, OTHER, { update_seq: 8, text: "edited" })));
  sync.connectionLost();
  sync.subscribe();
  // ...so the resume asks for everything after 6, and the lost change is replayed
  assert.deepEqual(socket.of("subscribe").at(-1), { type: "subscribe", conversation: 7, after_seq: 3, after_update_seq: 6 });
  const card = message(2, OTHER, { update_seq: 7, payload: { card: "csat", closed: true } });
  assert.equal(sync.update(card).payload.closed, true);
  assert.equal(sync.messages.get(2).payload.closed, true);
  assert.equal(sync.onSubscribed(subscribed(3, { update_seq: 8 })), true);
  assert.equal(sync.updateSeq, 8);
});

test("a replayed change keeps the translations it carries, else the held ones", () => {
  const { sync } = caughtUp();
  sync.messages.get(2).translations = { fr: { status: "done", text: "bonjour" } };
  sync.update(message(2, OTHER, { update_seq: 4 }));
  assert.equal(sync.messages.get(2).translations.fr.text, "bonjour");
  sync.update(message(3, OTHER, { update_seq: 5, translations: { fr: { status: "done", text: "salut" } } }));
  assert.equal(sync.messages.get(3).translations.fr.text, "salut");
});

test("more changes missed than one replay page: subscribes again from the last one replayed", () => {
  const { socket, sync } = caughtUp();
  assert.equal(sync.onSubscribed(subscribed(3, { has_more: true, update_seq: 200 })), false);
  assert.deepEqual(socket.of("subscribe").at(-1), { type: "subscribe", conversation: 7, after_seq: 3, after_update_seq: 200 });
  assert.equal(sync.onSubscribed(subscribed(3, { update_seq: 260 })), true);
});
