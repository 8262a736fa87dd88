// The chat protocol of docs/protocol.md, without any DOM: node --test runs this file as is
// (tests/webchat/js/protocol.test.mjs).
//
//   ChatSocket        one WebSocket per tab: hello, ping/pong watchdog, reconnect with
//                     exponential backoff + jitter.
//   ConversationSync  one conversation's delivery state: the messages held (by seq), resume
//                     with after_seq, seq-gap detection, the outbox of unsent messages
//                     (client_id, re-sent after reconnect, kept in sessionStorage), read
//                     markers.
//
// The database is the source of truth: after any reconnect, a `resync` hint from the server
// or a gap in the seqs received, the conversation subscribes again with the highest seq up
// to which it holds every message, and the server replays the rest. A seq already held is
// dropped, so replays and live events may overlap.

export function newClientId() {
  const crypto = globalThis.crypto;
  if (crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Non-secure contexts (plain http on a LAN address) lack randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- Socket -----------------------------------------------------------------------------

export class ChatSocket {
  /**
   * @param {object} [options]
   * @param {string} [options.path]        the socket path on this origin
   * @param {Function} [options.onStatus]  (state, detail) => void: connecting, connected,
   *                                       waiting {seconds}, reconnecting, offline,
   *                                       signed_out, suspended {message}
   * @param {object} [options.timings]     pingInterval, pongTimeout, baseDelay, maxDelay (ms);
   *                                       defaults to window.ATELIER_CHAT_TEST (browser tests)
   */
  constructor({ path = "/ws/chat/", onStatus = () => {}, timings } = {}) {
    const t = timings || globalThis.ATELIER_CHAT_TEST || {};
    this.path = path;
    this.onStatus = onStatus;
    this.listeners = new Set();
    this.ws = null;
    this.attempt = 0;
    this.connectionId = 0; // increments per successful hello: outbox re-sends per connection
    this.ready = false;
    this.stopped = false;
    this.pingEvery = t.pingInterval || 25000;
    this.pongTimeout = t.pongTimeout || 10000;
    this.maxDelay = t.maxDelay || 30000;
    this.baseDelay = t.baseDelay || 1000;
    if (typeof window !== "undefined" && typeof document !== "undefined") {
      window.addEventListener("online", () => this.reconnectNow());
      window.addEventListener("offline", () => this._status("offline"));
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible" && !this.ready) this.reconnectNow();
      });
    }
  }

  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    this._connect();
  }

  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  reconnectNow() {
    if (this.stopped || this.ready) return;
    clearTimeout(this.retryTimer);
    clearInterval(this.countdownTimer);
    this.attempt = 0;
    if (!this.ws) this._connect();
  }

  _status(state, detail = {}) {
    this.state = state;
    this.onStatus(state, detail);
  }

  _emit(frame) {
    for (const listener of this.listeners) {
      try {
        listener(frame);
      } catch (error) {
        console.error("chat listener failed", error);
      }
    }
  }

  _url() {
    const { protocol, host } = globalThis.location;
    return `${protocol === "https:" ? "wss" : "ws"}://${host}${this.path}`;
  }

  _connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    this._status(this.attempt ? "reconnecting" : "connecting", { seconds: 0 });
    ws.onmessage = (event) => this._onFrame(event);
    ws.onclose = (event) => this._onClose(ws, event);
    ws.onerror = () => {}; // onclose follows and handles it
  }

  _onFrame(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
      return;
    }
    if (frame.type === "hello") {
      this.ready = true;
      this.attempt = 0;
      this.connectionId += 1;
      this.userId = frame.user;
      this._startPing();
      this._status("connected");
    }
    if (frame.type === "error" && (frame.code === "not_authenticated" || frame.code === "suspended")) {
      this.stopped = true;
      this._status(frame.code === "suspended" ? "suspended" : "signed_out", { message: frame.message });
    }
    this._emit(frame);
  }

  _onClose(ws, event) {
    if (ws !== this.ws) return; // a socket we already dropped
    this.ws = null;
    this.ready = false;
    this._stopPing();
    this._emit({ type: "socket.closed", code: event && event.code });
    if (event && (event.code === 4401 || event.code === 4403)) this.stopped = true;
    if (!this.stopped) this._scheduleReconnect();
  }

  // A socket can die silently (sleeping laptop, lost Wi-Fi): no pong in time means dead.
  _drop() {
    const ws = this.ws;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close();
    } catch {
      /* already closed */
    }
    this._onClose(ws, { code: 4000 });
    this.ws = null;
  }

  _startPing() {
    this._stopPing();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this._drop(), this.pongTimeout);
    }, this.pingEvery);
  }

  _stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  _scheduleReconnect() {
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, { baseDelay: this.baseDelay, maxDelay: this.maxDelay });
    const due = Date.now() + delay;
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      this._status(globalThis.navigator && navigator.onLine === false ? "offline" : "waiting", { seconds });
    };
    tick();
    clearInterval(this.countdownTimer);
    this.countdownTimer = setInterval(tick, 1000);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      clearInterval(this.countdownTimer);
      this._connect();
    }, delay);
  }
}

// Exponential backoff with "equal jitter": never hammer the server in lock-step after an
// outage, never wait longer than maxDelay. attempt counts from 1.
export function backoffDelay(attempt, { baseDelay = 1000, maxDelay = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// --- One conversation ---------------------------------------------------------------------

// Subscribing again when a gap stays open after a replay; more means something is wrong on
// the server, and hammering it would not help (the next reconnect tries again).
const MAX_GAP_RETRIES = 3;

export class ConversationSync {
  /**
   * @param {object} options
   * @param {ChatSocket} options.socket
   * @param {number} options.me                 the signed-in user's id
   * @param {object[]} [options.messages]       the latest messages the page rendered (contiguous)
   * @param {object} [options.readMarkers]      {user_id: seq}
   * @param {Storage|null} [options.storage]    where unsent messages survive a reload
   */
  constructor({ socket, me, messages = [], readMarkers = {}, storage }) {
    this.socket = socket;
    this.me = me;
    this.storage = storage === undefined ? safeSessionStorage() : storage;
    this.conversationId = null;
    this.messages = new Map(); // seq -> message
    this.pending = new Map(); // client_id -> {clientId, text, attachments, state, error, sentOn, …}
    this.highest = 0; // highest seq held
    this.lowest = Infinity; // lowest seq held (older pages come from the history API)
    this.through = 0; // every seq from the first page up to this one is held: resume from here
    // Every change to held messages up to this update_seq is applied: on a resubscribe the
    // server replays later ones (an edit, a card's new state, a translation) as
    // message.updated. Only a `subscribed` frame moves it: a live change after a lost one
    // must not hide the lost one.
    this.updateSeq = 0;
    this.readMarkers = new Map(Object.entries(readMarkers).map(([k, v]) => [Number(k), v]));
    this.subscribed = false;
    this.resyncing = false;
    this.gapRetries = 0;
    for (const message of messages) this.store(message);
    this.through = this.highest;
    // The page drew these as they were when it rendered: changes after the latest one they
    // show are what a resume must bring (an earlier one again is harmless).
    for (const message of messages) this.updateSeq = Math.max(this.updateSeq, message.update_seq || 0);
  }

  attach(conversationId) {
    this.conversationId = conversationId;
    const restored = this._restoreOutbox();
    if (this.socket.ready) this.subscribe();
    return restored;
  }

  subscribe() {
    if (!this.conversationId) return false;
    const sent = this.socket.send({
      type: "subscribe",
      conversation: this.conversationId,
      after_seq: this.through,
      after_update_seq: this.updateSeq,
    });
    this.resyncing = sent;
    return sent;
  }

  // Resume from `through` now (a gap, or the server's `resync` hint); one request at a time.
  resync() {
    if (!this.conversationId || !this.socket.ready || this.resyncing) return false;
    return this.subscribe();
  }

  connectionLost() {
    this.subscribed = false;
    this.resyncing = false;
  }

  /** Keep a message. Returns false when its seq is already held. */
  store(message) {
    if (!message || typeof message.seq !== "number" || this.messages.has(message.seq)) return false;
    this.messages.set(message.seq, message);
    this.highest = Math.max(this.highest, message.seq);
    this.lowest = Math.min(this.lowest, message.seq);
    while (this.messages.has(this.through + 1)) this.through += 1;
    return true;
  }

  /**
   * A `message.new` frame. Returns null for a seq already held, else {message, mine,
   * clientId} (clientId: the outbox entry it settles). A live message past a gap is kept
   * and shown, and the gap is fetched with a resubscribe.
   */
  receive(frame) {
    const message = frame && frame.message;
    if (!message || this.messages.has(message.seq)) return null;
    const gap = message.seq > this.through + 1;
    this.store(message);
    const mine = !!(message.author && message.author.id === this.me);
    let clientId = null;
    if (mine && message.client_id) {
      clientId = message.client_id;
      this.pending.delete(clientId);
      this._saveOutbox();
    }
    if (gap && !frame.replay && this.subscribed) this.resync();
    return { message, mine, clientId };
  }

  /** A `message.updated` frame: replaces a held message, keeping its translations. */
  update(message) {
    if (!message || !this.messages.has(message.seq)) return null;
    const previous = this.messages.get(message.seq);
    // message.updated carries no translations; an edit invalidates them anyway.
    if (!message.translations && previous.translations && !message.edited_at) {
      message.translations = previous.translations;
    }
    this.messages.set(message.seq, message);
    return message;
  }

  /**
   * A `subscribed` frame. Returns true once caught up; false when it subscribed again
   * (more than one replay page missed, or a gap still open).
   */
  onSubscribed(frame) {
    this.resyncing = false;
    for (const [user, seq] of Object.entries(frame.read || {})) this.setMarker(Number(user), seq);
    if (typeof frame.update_seq === "number") this.updateSeq = Math.max(this.updateSeq, frame.update_seq);
    if (frame.has_more) {
      this.subscribe(); // more than one replay page was missed: ask for the next one
      return false;
    }
    if (this.through < this.highest && this.gapRetries < MAX_GAP_RETRIES) {
      this.gapRetries += 1;
      this.subscribe();
      return false;
    }
    this.gapRetries = 0;
    this.subscribed = true;
    this.flush();
    return true;
  }

  /** A `message.ack` frame: the outbox entry it settles, or null. */
  acknowledge(frame) {
    const entry = this.pending.get(frame.client_id);
    if (!entry) return null; // message.new came first and already settled it
    entry.state = "sent";
    entry.seq = frame.seq;
    this.pending.delete(frame.client_id);
    this._saveOutbox();
    return entry;
  }

  /**
   * An `error` frame about one of our messages: {entry, retryAfter} (rate limited: re-sent
   * after retryAfter seconds) or {entry} (failed), or null when it is about none of ours.
   */
  reject(frame) {
    const entry = frame.client_id ? this.pending.get(frame.client_id) : null;
    if (!entry) return null;
    if (frame.code === "rate_limited") {
      const retryAfter = Math.max(1, Math.ceil(frame.retry_after || 2));
      entry.state = "sending";
      entry.sentOn = null;
      const timer = setTimeout(() => this.flush(), retryAfter * 1000);
      return { entry, retryAfter, timer };
    }
    entry.state = "failed";
    entry.error = frame.message;
    this._saveOutbox();
    return { entry };
  }

  // -- Outbox -------------------------------------------------------------------------------

  /** A new outgoing message (state "sending", or "uploading" with a file). */
  queue({ text = "", attachments = [], ...extra }) {
    const entry = { clientId: newClientId(), text, attachments, state: "sending", createdAt: new Date().toISOString(), ...extra };
    this.pending.set(entry.clientId, entry);
    return entry;
  }

  ready(entry) {
    entry.state = "sending";
    entry.error = null;
    entry.sentOn = null;
    this._saveOutbox();
    this.flush();
  }

  fail(entry, error) {
    entry.state = "failed";
    entry.error = error;
  }

  discard(entry) {
    this.pending.delete(entry.clientId);
    this._saveOutbox();
  }

  // Every unsent message, once per connection, always with its first client_id: the server
  // stores it once however often it arrives.
  flush() {
    if (!this.conversationId || !this.subscribed) return;
    for (const entry of this.pending.values()) {
      if (entry.state !== "sending" || entry.sentOn === this.socket.connectionId) continue;
      const ok = this.socket.send({
        type: "message.send",
        conversation: this.conversationId,
        client_id: entry.clientId,
        text: entry.text,
        attachments: entry.attachments,
      });
      if (ok) entry.sentOn = this.socket.connectionId;
    }
  }

  _outboxKey() {
    return `atelier-outbox-${this.me}-${this.conversationId}`;
  }

  _saveOutbox() {
    if (!this.conversationId || !this.storage) return;
    const unsent = [...this.pending.values()].filter((e) => e.state !== "sent" && (e.text || e.attachments.length));
    try {
      if (unsent.length) {
        const slim = unsent.map(({ clientId, text, attachments, createdAt }) => ({ clientId, text, attachments, createdAt }));
        this.storage.setItem(this._outboxKey(), JSON.stringify(slim));
      } else {
        this.storage.removeItem(this._outboxKey());
      }
    } catch {
      /* storage full or disabled: the in-memory queue still works */
    }
  }

  _restoreOutbox() {
    let saved = [];
    try {
      saved = JSON.parse((this.storage && this.storage.getItem(this._outboxKey())) || "[]");
    } catch {
      saved = [];
    }
    const restored = [];
    for (const item of saved) {
      if (this.pending.has(item.clientId)) continue;
      const held = [...this.messages.values()].some((m) => m.client_id === item.clientId);
      if (held) continue;
      const entry = { ...item, state: "sending" };
      this.pending.set(entry.clientId, entry);
      restored.push(entry);
    }
    return restored;
  }

  // -- Read markers ---------------------------------------------------------------------------

  setMarker(user, seq) {
    this.readMarkers.set(user, Math.max(this.readMarkers.get(user) || 0, seq));
  }

  othersRead() {
    let max = 0;
    for (const [user, seq] of this.readMarkers) if (user !== this.me) max = Math.max(max, seq);
    return max;
  }

  /** Tell the server we read up to the highest seq held (debounced). */
  markRead() {
    if (!this.conversationId || !this.subscribed) return;
    if (this.highest <= (this.readMarkers.get(this.me) || 0)) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (this.socket.send({ type: "read", conversation: this.conversationId, seq: this.highest })) {
        this.setMarker(this.me, this.highest);
      }
    }, 250);
  }
}

function safeSessionStorage() {
  try {
    return globalThis.sessionStorage || null;
  } catch {
    return null; // some sandboxed iframes throw on access
  }
}
