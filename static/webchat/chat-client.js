// Atelier chat client: one module shared by the buyer widget and the inbox.
//
//   ChatSocket              one WebSocket per tab (docs/protocol.md): hello, ping/pong
//                           watchdog, reconnect with exponential backoff + jitter.
//   ConversationController  one conversation: resume with after_seq, send queue with
//                           client_id (re-sent after reconnect, deduplicated by the
//                           server), dedupe by seq, receipts, typing, presence,
//                           translations, rendering into the page's [data-chat] markup.
//
// The database is the source of truth: after any reconnect the controller subscribes
// with the highest seq it holds and the server replays the gap. Everything shown to
// people comes from the server-translated strings dict (see webchat/strings.py).

export function readJSON(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

export function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, key) => (key in params ? params[key] : m));
}

// Gettext catalogues keep Python's "%(name)s" placeholders (card strings are shared with the
// Telegram bot, see commerce/card_render.py); missing values render as nothing.
export function pyformat(template, params = {}) {
  return String(template || "").replace(/%\((\w+)\)s/g, (m, key) =>
    params[key] === undefined || params[key] === null ? "" : String(params[key]),
  );
}

// Card facts → text in the reader's locale (the page's <html lang>) and time zone (the browser's).
export function cardFormatters(locale) {
  const lang = locale || undefined;
  const number = (value) => (value === null || value === undefined || value === "" ? NaN : Number(value));
  return {
    money(amount, currency, signed = false) {
      const value = number(amount);
      if (!Number.isFinite(value) || !currency) return "";
      let text;
      try {
        text = new Intl.NumberFormat(lang, { style: "currency", currency }).format(value);
      } catch {
        text = `${amount} ${currency}`;
      }
      return signed && value > 0 ? `+${text}` : text;
    },
    percent(value) {
      const n = number(value);
      return Number.isFinite(n) ? new Intl.NumberFormat(lang, { style: "percent" }).format(n / 100) : "";
    },
    days(value) {
      const n = number(value);
      if (!Number.isFinite(n)) return "";
      try {
        return new Intl.NumberFormat(lang, { style: "unit", unit: "day", unitDisplay: "long" }).format(n);
      } catch {
        return String(n);
      }
    },
    date(value) {
      if (!value) return "";
      const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(String(value));
      const moment = new Date(dateOnly ? `${value}T00:00:00Z` : value);
      if (Number.isNaN(moment.getTime())) return "";
      // A calendar date (due date) is the same day everywhere; instants use the reader's zone.
      return new Intl.DateTimeFormat(lang, dateOnly ? { dateStyle: "medium", timeZone: "UTC" } : { dateStyle: "medium" }).format(moment);
    },
  };
}

export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  // Non-secure contexts (plain http on a LAN address) lack randomUUID.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function csrfFetch(url, { method = "POST", body, csrfToken, json = true } = {}) {
  const headers = { "X-CSRFToken": csrfToken, Accept: "application/json" };
  return fetch(url, { method, body, headers, credentials: "same-origin" }).then(async (res) => {
    const data = json ? await res.json().catch(() => ({})) : {};
    if (!res.ok) {
      const error = new Error(data.message || res.statusText);
      error.code = data.code || "http_" + res.status;
      throw error;
    }
    return data;
  });
}

function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- Socket -----------------------------------------------------------------------------

const TEST_OVERRIDES = window.ATELIER_CHAT_TEST || {};

export class ChatSocket {
  constructor({ path = "/ws/chat/", onStatus = () => {} } = {}) {
    this.path = path;
    this.onStatus = onStatus;
    this.listeners = new Set();
    this.ws = null;
    this.attempt = 0;
    this.connectionId = 0; // increments per successful hello: outbox re-sends per connection
    this.ready = false;
    this.stopped = false;
    this.pingEvery = TEST_OVERRIDES.pingInterval || 25000;
    this.pongTimeout = TEST_OVERRIDES.pongTimeout || 10000;
    this.maxDelay = TEST_OVERRIDES.maxDelay || 30000;
    this.baseDelay = TEST_OVERRIDES.baseDelay || 1000;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this._status("offline"));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ready) this.reconnectNow();
    });
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

  _connect() {
    if (this.stopped) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}${this.path}`);
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
    // Exponential backoff with "equal jitter": never hammer the server in lock-step
    // after an outage, never wait longer than maxDelay.
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** (this.attempt - 1));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    const due = Date.now() + delay;
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      this._status(navigator.onLine === false ? "offline" : "waiting", { seconds });
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

// --- Conversation ---------------------------------------------------------------------------

const NEAR_BOTTOM_PX = 96;
const TYPING_SEND_EVERY = 3000;
const TYPING_IDLE_STOP = 4000;
const TYPING_SHOW_FOR = 6000;
const PEOPLE_KINDS = new Set(["text", "image"]);
const CARD_KINDS = new Set(["offer", "order_update"]);

export class ConversationController {
  /**
   * @param {object} options
   * @param {ChatSocket} options.socket
   * @param {HTMLElement} options.root   element holding the [data-chat-*] markup
   * @param {object} options.config      from the page's #chat-config JSON
   * @param {object} options.strings     from the page's #chat-strings JSON
   * @param {Function} [options.ensureConversation]  async () => id, for the widget's first send
   * @param {Function} [options.onReport]  (message) => void, shows the report dialog
   */
  constructor({ socket, root, config, strings, ensureConversation, onReport, presenceEl }) {
    this.socket = socket;
    this.root = root;
    this.config = config;
    this.t = strings;
    this.me = config.me;
    this.language = config.language;
    this.other = config.other;
    this.profile = config.profile;
    this.ensureConversation = ensureConversation;
    this.onReport = onReport;
    this.active = true; // false while the widget panel is closed
    this.conversationId = null;
    this.historyUrl = config.historyUrl;
    this.hasMore = !!config.hasMore;
    this.messages = new Map(); // seq -> message
    this.pending = new Map(); // client_id -> {clientId, text, attachments, state, error, seq, sentOn}
    this.highest = 0;
    this.lowest = Infinity;
    this.readMarkers = new Map(Object.entries(config.readMarkers || {}).map(([k, v]) => [Number(k), v]));
    this.online = new Set(this.profile && this.profile.online && this.other ? [this.other.id] : []);
    this.typingTimers = new Map();
    this.showOriginal = new Set(); // message ids shown untranslated
    this.cardText = cardFormatters(document.documentElement.lang);
    this.subscribed = false;

    this.log = root.querySelector("[data-chat-log]");
    this.scroller = root.querySelector("[data-chat-scroll]") || this.log;
    this.emptyEl = root.querySelector("[data-chat-empty]");
    this.typingEl = root.querySelector("[data-chat-typing]");
    this.connectionEl = root.querySelector("[data-chat-connection]");
    this.earlierBtn = root.querySelector("[data-chat-earlier]");
    this.form = root.querySelector("[data-chat-composer]");
    this.input = root.querySelector("[data-chat-input]");
    this.presenceEl = presenceEl || document.querySelector("[data-chat-presence]");
    this.translationStateEl = root.querySelector("[data-chat-translation-state]");

    this.timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      hour: "2-digit",
      minute: "2-digit",
    });
    try {
      this.languageNames = new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "language" });
    } catch {
      this.languageNames = null;
    }

    this._bindComposer();
    if (this.earlierBtn) this.earlierBtn.addEventListener("click", () => this.loadEarlier());
    socket.on((frame) => this._onFrame(frame));

    for (const message of config.messages || []) this._store(message);
    this._renderAll();
    if (config.conversation) this.attach(config.conversation);
    this._updateEmpty();
    this._renderPresence();
    this.scrollToBottom();
  }

  // -- Public API --------------------------------------------------------------------------

  attach(conversationId) {
    this.conversationId = conversationId;
    this._restoreOutbox();
    if (this.socket.ready) this._subscribe();
  }

  setActive(active) {
    this.active = active;
    if (active) {
      this._markRead();
      this.scrollToBottom();
    }
  }

  focusComposer() {
    if (this.input) this.input.focus();
  }

  async send(text, attachments = []) {
    text = (text || "").trim();
    if (!text && !attachments.length) return;
    const entry = { clientId: newClientId(), text, attachments, state: "sending", createdAt: new Date().toISOString() };
    this.pending.set(entry.clientId, entry);
    this._renderPending(entry);
    this._updateEmpty();
    this.scrollToBottom(true);
    this._typing("stop");
    if (!this.conversationId && this.ensureConversation) {
      try {
        const id = await this.ensureConversation();
        this.attach(id);
      } catch (error) {
        entry.state = "failed";
        entry.error = error.message || this.t.error_generic;
        this._renderPending(entry);
        return;
      }
    }
    this._saveOutbox();
    this._flush();
  }

  async sendPhoto(file) {
    if (!file) return;
    const entry = {
      clientId: newClientId(),
      text: "",
      attachments: [],
      file,
      preview: URL.createObjectURL(file),
      state: "uploading",
      createdAt: new Date().toISOString(),
    };
    this.pending.set(entry.clientId, entry);
    this._renderPending(entry);
    this._updateEmpty();
    this.scrollToBottom(true);
    await this._upload(entry);
  }

  async _upload(entry) {
    try {
      if (!this.conversationId && this.ensureConversation) this.attach(await this.ensureConversation());
      const body = new FormData();
      body.append("file", entry.file);
      const url = format(this.config.uploadUrl, { conversation: this.conversationId });
      const attachment = await csrfFetch(url, { body, csrfToken: this.config.csrfToken });
      entry.attachments = [attachment.id];
      entry.state = "sending";
      this._renderPending(entry);
      this._saveOutbox();
      this._flush();
    } catch (error) {
      entry.state = "failed";
      entry.error = error.message || this.t.error_generic;
      this._renderPending(entry);
    }
  }

  insertText(text) {
    if (!this.input) return;
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    this.input.value = value.slice(0, start) + text + value.slice(end);
    const caret = start + text.length;
    this.input.setSelectionRange(caret, caret);
    this._autosize();
    this.input.focus();
  }

  scrollToBottom(force = false) {
    const s = this.scroller;
    if (!s) return;
    const near = s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
    if (force || near || !this._scrolledOnce) {
      s.scrollTop = s.scrollHeight;
      this._scrolledOnce = true;
    }
  }

  async loadEarlier() {
    if (!this.historyUrl || !this.hasMore || this.loadingEarlier) return;
    this.loadingEarlier = true;
    this.earlierBtn.textContent = this.t.loading;
    const before = this.lowest === Infinity ? this.highest + 1 : this.lowest;
    try {
      const res = await fetch(`${this.historyUrl}?before_seq=${before}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!res.ok) throw new Error(res.statusText);
      const data = await res.json();
      const heightBefore = this.scroller.scrollHeight;
      for (const message of data.messages) {
        if (this._store(message)) this._place(this._renderMessage(message), message.seq);
      }
      this.hasMore = data.has_more;
      this.scroller.scrollTop += this.scroller.scrollHeight - heightBefore;
      this._refreshReceipts();
    } catch {
      this._flashConnection(this.t.error_generic);
    } finally {
      this.loadingEarlier = false;
      this.earlierBtn.textContent = this.t.load_earlier;
      this._updateEarlier();
    }
  }

  // -- Socket frames -------------------------------------------------------------------

  _onFrame(frame) {
    if (frame.type === "hello") {
      this.subscribed = false;
      if (this.conversationId) this._subscribe();
      return;
    }
    if (frame.type === "socket.closed") {
      this.subscribed = false;
      this.online.clear();
      this._renderPresence();
      return;
    }
    if (frame.conversation !== undefined && frame.conversation !== this.conversationId) return;
    switch (frame.type) {
      case "subscribed":
        return this._onSubscribed(frame);
      case "message.new":
        return this._onNew(frame.message);
      case "message.updated":
        return this._onUpdated(frame.message);
      case "message.ack":
        return this._onAck(frame);
      case "message.translated":
        return this._onTranslated(frame);
      case "read":
        return this._onRead(frame);
      case "typing":
        return this._onTyping(frame);
      case "presence":
        if (frame.online) this.online.add(frame.user);
        else this.online.delete(frame.user);
        return this._renderPresence();
      case "error":
        return this._onError(frame);
      default:
        return undefined;
    }
  }

  _subscribe() {
    this.socket.send({ type: "subscribe", conversation: this.conversationId, after_seq: this.highest });
  }

  _onSubscribed(frame) {
    for (const [user, seq] of Object.entries(frame.read || {})) this._setMarker(Number(user), seq);
    this.online = new Set(frame.online || []);
    this._renderPresence();
    if (frame.has_more && frame.last_seq > this.highest) {
      this._subscribe(); // more than one replay page was missed: ask for the next one
      return;
    }
    this.subscribed = true;
    this._refreshReceipts();
    this._flush();
    this._markRead();
  }

  _onNew(message) {
    if (!message || this.messages.has(message.seq)) return; // replay overlap: already held
    const mine = message.author && message.author.id === this.me;
    this._store(message);
    const node = this._renderMessage(message);
    const pendingNode = mine && message.client_id ? this._pendingNode(message.client_id) : null;
    if (pendingNode) pendingNode.remove();
    if (mine && message.client_id) {
      this.pending.delete(message.client_id);
      this._saveOutbox();
    }
    this._place(node, message.seq);
    if (message.author) this._clearTyping(message.author.id);
    this._updateEmpty();
    this._refreshReceipts();
    this.scrollToBottom(mine);
    if (!mine) {
      this._markRead();
      if (!this.active && this.onUnseen) this.onUnseen(message);
    }
  }

  _onUpdated(message) {
    if (!message || !this.messages.has(message.seq)) return;
    const previous = this.messages.get(message.seq);
    // message.updated carries no translations; an edit invalidates them anyway.
    if (!message.translations && previous.translations && !message.edited_at) {
      message.translations = previous.translations;
    }
    this.messages.set(message.seq, message);
    const old = this.log.querySelector(`[data-seq="${message.seq}"]`);
    const node = this._renderMessage(message);
    if (old) old.replaceWith(node);
    this._refreshReceipts();
  }

  _onAck(frame) {
    const entry = this.pending.get(frame.client_id);
    if (!entry) return; // message.new came first and already replaced it
    entry.state = "sent";
    entry.seq = frame.seq;
    const node = this._pendingNode(frame.client_id);
    if (node) {
      node.dataset.seq = String(frame.seq);
      node.remove();
      this._place(node, frame.seq);
      this._setStatus(node, "sent");
    }
    this.pending.delete(frame.client_id);
    this._saveOutbox();
    this._refreshReceipts();
  }

  _onTranslated(frame) {
    if (frame.language !== this.language) return;
    const message = this.messages.get(frame.seq);
    if (!message) return;
    message.translations = { ...(message.translations || {}), [frame.language]: { status: frame.status, text: frame.text || "" } };
    if (frame.source_language && !message.language) message.language = frame.source_language;
    const old = this.log.querySelector(`[data-seq="${frame.seq}"]`);
    if (old) old.replaceWith(this._renderMessage(message));
    this._refreshReceipts();
  }

  _onRead(frame) {
    this._setMarker(frame.user, frame.seq);
    this._refreshReceipts();
  }

  _onError(frame) {
    if (frame.client_id && this.pending.has(frame.client_id)) {
      const entry = this.pending.get(frame.client_id);
      if (frame.code === "rate_limited") {
        const seconds = Math.max(1, Math.ceil(frame.retry_after || 2));
        entry.state = "sending";
        entry.sentOn = null;
        this._flashConnection(format(this.t.rate_limited, { seconds }));
        setTimeout(() => this._flush(), seconds * 1000);
        return;
      }
      entry.state = "failed";
      entry.error = frame.message;
      this._renderPending(entry);
      this._saveOutbox();
      return;
    }
    if (frame.frame === "subscribe" || frame.code === "read_only") {
      this._flashConnection(frame.message);
    }
  }

  _onTyping(frame) {
    if (frame.user === this.me) return;
    if (frame.state === "stop") return this._clearTyping(frame.user);
    clearTimeout(this.typingTimers.get(frame.user));
    this.typingTimers.set(
      frame.user,
      setTimeout(() => this._clearTyping(frame.user), TYPING_SHOW_FOR),
    );
    this.typingNames = this.typingNames || new Map();
    this.typingNames.set(frame.user, frame.name);
    this._renderTyping();
  }

  _clearTyping(user) {
    clearTimeout(this.typingTimers.get(user));
    this.typingTimers.delete(user);
    if (this.typingNames) this.typingNames.delete(user);
    this._renderTyping();
  }

  // -- State ----------------------------------------------------------------------------

  _store(message) {
    if (this.messages.has(message.seq)) return false;
    this.messages.set(message.seq, message);
    this.highest = Math.max(this.highest, message.seq);
    this.lowest = Math.min(this.lowest, message.seq);
    return true;
  }

  _setMarker(user, seq) {
    this.readMarkers.set(user, Math.max(this.readMarkers.get(user) || 0, seq));
  }

  _othersRead() {
    let max = 0;
    for (const [user, seq] of this.readMarkers) if (user !== this.me) max = Math.max(max, seq);
    return max;
  }

  _flush() {
    if (!this.conversationId || !this.subscribed) return;
    for (const entry of this.pending.values()) {
      if (entry.state !== "sending" || entry.sentOn === this.socket.connectionId) continue;
      const ok = this.socket.send({
        type: "message.send",
        conversation: this.conversationId,
        client_id: entry.clientId, // same id on every retry: the server stores it once
        text: entry.text,
        attachments: entry.attachments,
      });
      if (ok) entry.sentOn = this.socket.connectionId;
    }
  }

  _markRead() {
    if (!this.conversationId || !this.subscribed || !this.active) return;
    if (document.visibilityState === "hidden") return;
    const mine = this.readMarkers.get(this.me) || 0;
    if (this.highest <= mine) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      if (this.socket.send({ type: "read", conversation: this.conversationId, seq: this.highest })) {
        this._setMarker(this.me, this.highest);
      }
    }, 250);
  }

  _outboxKey() {
    return `atelier-outbox-${this.me}-${this.conversationId}`;
  }

  _saveOutbox() {
    if (!this.conversationId) return;
    const unsent = [...this.pending.values()].filter((e) => e.state !== "sent" && (e.text || e.attachments.length));
    try {
      if (unsent.length) {
        const slim = unsent.map(({ clientId, text, attachments, createdAt }) => ({ clientId, text, attachments, createdAt }));
        sessionStorage.setItem(this._outboxKey(), JSON.stringify(slim));
      } else {
        sessionStorage.removeItem(this._outboxKey());
      }
    } catch {
      /* storage full or disabled: the in-memory queue still works */
    }
  }

  _restoreOutbox() {
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(this._outboxKey()) || "[]");
    } catch {
      saved = [];
    }
    for (const item of saved) {
      if (this.pending.has(item.clientId)) continue;
      const held = [...this.messages.values()].some((m) => m.client_id === item.clientId);
      if (held) continue;
      const entry = { ...item, state: "sending" };
      this.pending.set(entry.clientId, entry);
      this._renderPending(entry);
    }
    this._updateEmpty();
  }

  // -- Composer ----------------------------------------------------------------------------

  _bindComposer() {
    if (!this.form || !this.input) return;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value;
      if (!text.trim()) return;
      this.input.value = "";
      this._autosize();
      this.send(text);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => {
      this._autosize();
      if (this.input.value.trim()) this._typing("start");
      else this._typing("stop");
    });
    this.input.addEventListener("blur", () => this._typing("stop"));
    const fileInput = this.root.querySelector("[data-chat-file]");
    const attachButton = this.root.querySelector("[data-chat-attach]");
    if (fileInput && attachButton && this.config.uploadUrl) {
      attachButton.hidden = false;
      attachButton.addEventListener("click", () => fileInput.click());
      fileInput.addEventListener("change", () => {
        for (const file of [...fileInput.files].slice(0, 10)) this.sendPhoto(file);
        fileInput.value = "";
        this.input.focus();
      });
    }
  }

  _autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  _typing(state) {
    if (!this.conversationId || !this.subscribed) return;
    clearTimeout(this.typingIdle);
    if (state === "start") {
      const now = Date.now();
      if (!this.typingSentAt || now - this.typingSentAt > TYPING_SEND_EVERY) {
        this.socket.send({ type: "typing", conversation: this.conversationId, state: "start" });
        this.typingSentAt = now;
      }
      this.typingIdle = setTimeout(() => this._typing("stop"), TYPING_IDLE_STOP);
    } else if (this.typingSentAt) {
      this.socket.send({ type: "typing", conversation: this.conversationId, state: "stop" });
      this.typingSentAt = 0;
    }
  }

  // -- Rendering ----------------------------------------------------------------------------

  _renderAll() {
    this.log.textContent = "";
    const seqs = [...this.messages.keys()].sort((a, b) => a - b);
    for (const seq of seqs) this.log.append(this._renderMessage(this.messages.get(seq)));
    this._refreshReceipts();
    this._updateEarlier();
  }

  _updateEarlier() {
    if (this.earlierBtn) this.earlierBtn.hidden = !(this.hasMore && this.historyUrl);
  }

  _updateEmpty() {
    if (this.emptyEl) this.emptyEl.hidden = this.messages.size > 0 || this.pending.size > 0;
  }

  // Keep the log in seq order; unacked messages (no seq yet) stay at the end.
  _place(node, seq) {
    const items = this.log.children;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const other = Number(items[i].dataset.seq || Infinity);
      if (other < seq) {
        items[i].after(node);
        return;
      }
    }
    this.log.prepend(node);
  }

  _pendingNode(clientId) {
    return this.log.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
  }

  _renderPending(entry) {
    const node = el(
      "li",
      { class: "msg msg-out", "data-client-id": entry.clientId },
      el(
        "div",
        { class: "msg-bubble" },
        entry.text ? el("p", { class: "msg-text", text: entry.text }) : null,
        entry.preview ? el("div", { class: "msg-images" }, el("img", { src: entry.preview, alt: this.t.image })) : null,
      ),
      this._statusLine(new Date(entry.createdAt)),
    );
    if (entry.state === "failed") {
      node.classList.add("is-failed");
      node.append(
        el(
          "p",
          { class: "msg-error", role: "alert" },
          el("span", { text: entry.error || this.t.failed }),
          " ",
          el("button", { type: "button", class: "btn-link", text: this.t.retry, onclick: () => this._retry(entry) }),
          " · ",
          el("button", { type: "button", class: "btn-link", text: this.t.discard, onclick: () => this._discard(entry) }),
        ),
      );
    }
    this._setStatus(node, entry.state === "failed" ? "failed" : entry.state === "uploading" ? "uploading" : "sending");
    const existing = this._pendingNode(entry.clientId);
    if (existing) existing.replaceWith(node);
    else this.log.append(node);
  }

  _retry(entry) {
    if (entry.file && !entry.attachments.length) {
      entry.state = "uploading";
      entry.error = null;
      this._renderPending(entry);
      this._upload(entry);
      return;
    }
    entry.state = "sending";
    entry.error = null;
    entry.sentOn = null;
    this._renderPending(entry);
    this._saveOutbox();
    this._flush();
  }

  _discard(entry) {
    this.pending.delete(entry.clientId);
    const node = this._pendingNode(entry.clientId);
    if (node) node.remove();
    this._saveOutbox();
    this._updateEmpty();
  }

  _statusLine(date, message) {
    const time = el("time", { datetime: date.toISOString(), text: this.timeFormat.format(date) });
    const meta = el("p", { class: "msg-meta" });
    if (message && message.author && message.author.id !== this.me && message.kind !== "system") {
      meta.append(el("span", { class: "msg-author", text: message.author.name }), " · ");
    }
    meta.append(time);
    if (message && message.edited_at && !message.hidden) meta.append(" · ", this.t.edited);
    meta.append(el("span", { class: "msg-status" }));
    return meta;
  }

  _setStatus(node, state) {
    const slot = node.querySelector(".msg-status");
    if (!slot || slot.dataset.state === state) return;
    slot.dataset.state = state;
    const icon = { uploading: "◷", sending: "◷", sent: "✓", read: "✓✓", failed: "!" }[state] || "";
    slot.textContent = "";
    slot.append(" · ", el("span", { class: "msg-status-icon", "aria-hidden": "true", text: icon }), " ", this.t[state] || "");
  }

  _refreshReceipts() {
    const othersRead = this._othersRead();
    for (const node of this.log.querySelectorAll(".msg-out[data-seq]")) {
      this._setStatus(node, Number(node.dataset.seq) <= othersRead ? "read" : "sent");
    }
  }

  _renderMessage(message) {
    const mine = message.author && message.author.id === this.me;
    const kind = message.kind;
    if (kind === "system" && !message.hidden && isContextCard(message)) {
      return renderContextCard(message, this.config);
    }
    if (kind === "system" && !message.hidden) {
      return el(
        "li",
        { class: "msg msg-system", "data-seq": message.seq },
        el("p", { class: "msg-system-text", text: this._systemText(message) }),
      );
    }
    const cls = ["msg", mine ? "msg-out" : "msg-in", `msg-kind-${kind}`];
    if (message.hidden) cls.push("is-hidden");
    const node = el("li", { class: cls.join(" "), "data-seq": message.seq, "data-message-id": message.id });
    if (message.client_id && mine) node.dataset.clientId = message.client_id;
    const bubble = el("div", { class: "msg-bubble" });
    if (message.hidden) {
      bubble.append(el("p", { class: "msg-removed", text: this.t.removed }));
    } else if (CARD_KINDS.has(kind)) {
      bubble.classList.add("msg-card-wrap");
      bubble.append(this._renderCard(message));
    } else {
      if (!message.author && kind === "bot") bubble.append(el("p", { class: "msg-bot-name", text: this.t.assistant }));
      const shown = this._displayText(message);
      if (shown.text) bubble.append(el("p", { class: "msg-text", lang: shown.lang || null, text: shown.text }));
      if (message.attachments && message.attachments.length) bubble.append(this._renderImages(message));
      if (kind === "bot") {
        const cards = this._renderBotCards(message);
        if (cards) bubble.append(cards);
        bubble.append(this._renderButtons(message));
      }
      const note = this._translationNote(message, shown);
      if (note) bubble.append(note);
    }
    node.append(bubble);
    const meta = this._statusLine(new Date(message.created_at), message);
    node.append(meta);
    if (!mine && message.author && PEOPLE_KINDS.has(kind) && !message.hidden && this.onReport) {
      meta.append(
        " · ",
        el("button", {
          type: "button",
          class: "msg-report btn-link",
          text: this.t.report,
          "aria-label": format(this.t.report_message, { name: message.author.name }),
          "aria-haspopup": "dialog",
          onclick: () => this.onReport(message),
        }),
      );
    }
    return node;
  }

  _translation(message) {
    if (!message.translations || message.hidden) return null;
    if (message.author && message.author.id === this.me) return null; // you wrote it
    return message.translations[this.language] || null;
  }

  _displayText(message) {
    const original = CARD_KINDS.has(message.kind) ? message.payload.note || message.text || "" : message.text || "";
    const translation = this._translation(message);
    if (translation && translation.status === "done" && translation.text && !this.showOriginal.has(message.id)) {
      return { text: translation.text, translated: true, lang: this.language };
    }
    return { text: original, translated: false, lang: message.language || null, hasTranslation: !!(translation && translation.status === "done") };
  }

  _languageName(code) {
    if (!code) return "";
    try {
      return (this.languageNames && this.languageNames.of(code)) || code;
    } catch {
      return code;
    }
  }

  _translationNote(message, shown) {
    const translation = this._translation(message);
    if (!translation) return null;
    const note = el("p", { class: "msg-translation" });
    const toggle = (label) =>
      el("button", {
        type: "button",
        class: "btn-link",
        text: label,
        "aria-pressed": this.showOriginal.has(message.id) ? "true" : "false",
        onclick: () => {
          if (this.showOriginal.has(message.id)) this.showOriginal.delete(message.id);
          else this.showOriginal.add(message.id);
          const old = this.log.querySelector(`[data-seq="${message.seq}"]`);
          const fresh = this._renderMessage(message);
          if (old) old.replaceWith(fresh);
          this._refreshReceipts();
          const again = fresh.querySelector(".msg-translation button");
          if (again) again.focus();
        },
      });
    switch (translation.status) {
      case "done": {
        const language = this._languageName(message.language);
        const label = language ? format(this.t.translated_from, { language }) : this.t.translated;
        note.append(label, " · ", toggle(shown.translated ? this.t.show_original : this.t.show_translation));
        return note;
      }
      case "pending":
        note.append(this.t.translating);
        return note;
      case "not_configured":
        // A site-wide state, said once at the top of the thread rather than under every message.
        this._showTranslationState(this.t.translation_not_configured_thread || this.t.translation_not_configured);
        return null;
        return note;
      case "paused":
        note.append(this.t.translation_paused);
        return note;
      case "failed":
        note.append(this.t.translation_failed);
        return note;
      case "unsupported":
        note.append(this.t.translation_unsupported);
        return note;
      default:
        return null; // same_language: nothing to say
    }
  }

  _renderImages(message) {
    const grid = el("div", { class: "msg-images" });
    for (const a of message.attachments) {
      const full = safeUrl(a.url);
      const thumb = safeUrl(a.thumbnail_url) || full;
      if (!thumb) continue;
      const img = el("img", {
        src: thumb,
        alt: message.text ? "" : this.t.image,
        loading: "lazy",
        width: a.width || null,
        height: a.height || null,
      });
      grid.append(full ? el("a", { href: full, target: "_blank", rel: "noopener", "aria-label": this.t.open_image }, img) : img);
    }
    return grid;
  }

  // Product / artisan / order cards in shop-bot replies (docs/bots.md).
  _renderBotCards(message) {
    const cards = Array.isArray(message.payload && message.payload.cards) ? message.payload.cards : [];
    if (!cards.length) return null;
    const list = el("ul", { class: "bot-cards", role: "list" });
    for (const c of cards.slice(0, 10)) {
      if (!c || typeof c !== "object") continue;
      const item = el("li", { class: `bot-card bot-card-${String(c.type || "item")}` });
      const image = safeUrl(c.image_url);
      if (image) item.append(el("img", { src: image, alt: "", loading: "lazy", width: 160, height: 120 }));
      const body = el("div", { class: "bot-card-body" });
      const title = c.title || c.shop || c.name || c.reference || "";
      const url = safeUrl(c.url);
      if (title) {
        body.append(el("h4", { class: "bot-card-title" }, url ? el("a", { href: url, target: "_top", text: String(title) }) : String(title)));
      }
      const sub = c.artisan ? (c.artisan.shop || c.artisan.name) : (c.region || c.status_label || c.tagline || "");
      if (sub) body.append(el("p", { class: "bot-card-sub", text: String(sub) }));
      const price = c.price_display || c.total_display;
      if (price) body.append(el("p", { class: "bot-card-price", text: String(price) }));
      body.append(this._renderButtons({ payload: { buttons: Array.isArray(c.buttons) ? c.buttons : [] } }));
      item.append(body);
      list.append(item);
    }
    return list;
  }

  _renderButtons(message) {
    const buttons = Array.isArray(message.payload && message.payload.buttons) ? message.payload.buttons : [];
    const row = el("div", { class: "msg-buttons" });
    for (const b of buttons.slice(0, 8)) {
      const title = String(b.title || b.payload || "").slice(0, 80);
      if (!title) continue;
      const url = safeUrl(b.url);
      if (url) {
        row.append(el("a", { class: "btn btn-secondary msg-button", href: url, target: "_blank", rel: "noopener", text: title }));
      } else {
        const text = String(b.payload || b.title);
        row.append(el("button", { type: "button", class: "btn btn-secondary msg-button", text: title, onclick: () => this.send(text) }));
      }
    }
    return row;
  }

  _showTranslationState(text) {
    if (!this.translationStateEl || !text) return;
    this.translationStateEl.textContent = text;
    this.translationStateEl.hidden = false;
  }

  _cardUrl(name, values) {
    const template = (this.t.card_urls || {})[name];
    return template ? safeUrl(format(template, values)) : null;
  }

  _isBuyer() {
    return this.config.buyer === undefined || this.config.buyer === null || this.config.buyer === this.me;
  }

  // Commerce milestones ({"event": ...}) in the reader's language; other system lines as stored.
  _systemText(message) {
    const p = message.payload || {};
    const c = this.t.card || {};
    const template = p.event && c.events ? c.events[p.event] : null;
    if (!template) return this._displayText(message).text;
    const labels = c.status || {};
    const facts = { ...p };
    if (p.event === "order.status") facts.status = (labels.order || {})[p.new_status] || "";
    if (p.event === "order.production") facts.stage = (labels.stage || {})[p.stage] || "";
    if (p.event === "shipment.status") facts.status = (labels.shipment || {})[p.status] || "";
    if (p.amount !== undefined) facts.amount = this.cardText.money(p.amount, p.currency);
    const parts = [];
    if (p.event === "custom_request.sent") {
      parts.push(pyformat(c.label_value, { label: template, value: p.description || "" }));
      if (p.budget) parts.push(pyformat(c.budget, { amount: this.cardText.money(p.budget, p.currency) }));
      if (p.deadline) parts.push(pyformat(c.needed_by, { date: this.cardText.date(p.deadline) }));
    } else {
      parts.push(pyformat(template, facts));
      if (p.tracking_number) parts.push(pyformat(c.tracking, { carrier: p.carrier || "", number: p.tracking_number }));
      if (p.note) parts.push(`“${p.note}”`);
    }
    return parts.filter(Boolean).join(" · ");
  }

  _renderCard(message) {
    const p = message.payload || {};
    if (p.card === "offer") return this._renderOfferCard(message, p);
    if (p.card === "order") return this._renderOrderCard(message, p);
    return this._renderLegacyCard(message);
  }

  _cardShell(message, kind, title, status, statusLabel) {
    const card = el("article", { class: `chat-card chat-card-${kind}`, "data-card": kind, "data-status": status || null });
    card.append(el("h3", { class: "chat-card-title", text: title }));
    card.append(el("p", { class: "chat-card-status" }, el("span", { class: `badge badge-${status || "none"}`, text: statusLabel || status || "" })));
    return card;
  }

  _renderOfferCard(message, p) {
    const c = this.t.card || {};
    const change = p.kind === "change_order";
    const status = String(p.status || "");
    const statusLabel = ((c.status || {}).offer || {})[status] || status;
    const title = pyformat(change ? c.change_order_title : c.offer_title, { version: p.version });
    const card = this._cardShell(message, "offer", title, status, statusLabel);
    const shown = this._displayText(message);
    if (p.note) card.append(el("p", { class: "chat-card-note", lang: shown.lang || null, text: shown.text || p.note }));
    if (Array.isArray(p.lines) && p.lines.length) {
      const list = el("ul", { class: "chat-card-lines", role: "list" });
      for (const line of p.lines.slice(0, 30)) {
        if (!line || typeof line !== "object") continue;
        const qty = line.quantity && line.quantity !== 1 ? ` × ${line.quantity}` : "";
        list.append(
          el("li", {}, el("span", { text: `${line.description || ""}${qty}` }), el("span", { class: "chat-card-amount", text: this.cardText.money(line.total, p.currency, change) })),
        );
      }
      // Shipping is part of the total: its own line, so the lines visibly add up.
      if (Number(p.shipping_amount) > 0) {
        list.append(el("li", {}, el("span", { text: c.shipping }), el("span", { class: "chat-card-amount", text: this.cardText.money(p.shipping_amount, p.currency, change) })));
      }
      card.append(list);
    }
    card.append(
      el("p", { class: "chat-card-total" }, el("span", { text: change ? c.price_change : c.total }), el("strong", { text: this.cardText.money(p.total, p.currency, change) })),
    );
    const facts = [];
    if (!change && Number(p.deposit_percent) > 0) {
      facts.push(pyformat(c.deposit, { amount: this.cardText.money(p.deposit_amount, p.currency), percent: this.cardText.percent(p.deposit_percent) }));
    }
    if (Number(p.lead_time_days) > 0) facts.push(pyformat(change ? c.extra_time : c.lead_time, { duration: this.cardText.days(p.lead_time_days) }));
    if (status === "sent" && p.expires_at) facts.push(pyformat(c.valid_until, { date: this.cardText.date(p.expires_at) }));
    if (facts.length) card.append(el("p", { class: "chat-card-facts", text: facts.join(" · ") }));
    // Only the offer still waiting for the buyer's answer has an action; decided ones keep their badge.
    const url = status === "sent" && this._isBuyer() ? this._cardUrl("offer", { id: p.offer_id }) : null;
    if (url) card.append(el("a", { class: "btn chat-card-link", href: url, target: "_top", text: c.review_offer }));
    const translation = this._translation(message);
    const note = translation && translation.status === "done" ? this._translationNote(message, shown) : null;
    if (note) card.append(note);
    return card;
  }

  _renderOrderCard(message, p) {
    const c = this.t.card || {};
    const status = String(p.status || "");
    const statusLabel = ((c.status || {}).order || {})[status] || status;
    const reference = String(p.order || p.reference || "");
    const card = this._cardShell(message, "order", pyformat(c.order_title, { reference }), status, statusLabel);
    card.append(el("p", { class: "chat-card-total" }, el("span", { text: c.total }), el("strong", { text: this.cardText.money(p.total, p.currency) })));
    const facts = [];
    if (Number(p.amount_paid) > 0) facts.push(pyformat(c.amount_paid, { amount: this.cardText.money(p.amount_paid, p.currency) }));
    if (p.due_date && !["shipped", "delivered", "cancelled", "refunded"].includes(status)) facts.push(pyformat(c.due, { date: this.cardText.date(p.due_date) }));
    if (facts.length) card.append(el("p", { class: "chat-card-facts", text: facts.join(" · ") }));
    const shipment = p.shipment && typeof p.shipment === "object" ? p.shipment : null;
    if (shipment && shipment.tracking_number) {
      const tracking = pyformat(c.tracking, { carrier: shipment.carrier || "", number: shipment.tracking_number });
      const trackingUrl = safeUrl(shipment.tracking_url);
      card.append(
        el("p", { class: "chat-card-facts" }, trackingUrl ? el("a", { href: trackingUrl, target: "_blank", rel: "noopener", text: tracking }) : tracking),
      );
    }
    const payable = p.payable && typeof p.payable === "object" ? p.payable : null;
    const proof = p.proof && typeof p.proof === "object" ? p.proof : null;
    let action = null;
    if (payable && this._isBuyer()) {
      const template = (c.pay || {})[payable.purpose] || (c.pay || {}).full;
      action = { primary: true, url: this._cardUrl("pay", { reference }), text: pyformat(template, { amount: this.cardText.money(payable.amount, p.currency) }) };
    } else if (proof && proof.status === "pending" && this._isBuyer()) {
      action = { primary: true, url: this._cardUrl("order", { reference }), text: c.review_proof };
    } else {
      // The artisan works on the order in the studio; the buyer follows it on their order page.
      const page = this._isBuyer() ? "order" : "studio_order";
      action = { primary: false, url: this._cardUrl(page, { reference }), text: c.view_order };
    }
    if (action && action.url) {
      card.append(el("a", { class: action.primary ? "btn chat-card-link" : "btn btn-secondary chat-card-link", href: action.url, target: "_top", text: action.text }));
    }
    return card;
  }

  // Cards stored before cards became data (they carry their own text).
  _renderLegacyCard(message) {
    const p = message.payload || {};
    const card = el("article", { class: `chat-card chat-card-${message.kind}` });
    card.append(el("p", { class: "chat-card-kind", text: message.kind === "offer" ? this.t.offer : this.t.order_update }));
    const title = p.title || message.text;
    if (title) card.append(el("h3", { class: "chat-card-title", text: String(title) }));
    const shown = this._displayText(message);
    if (p.note || (shown.translated && shown.text)) card.append(el("p", { class: "chat-card-note", text: shown.text }));
    if (Array.isArray(p.lines) && p.lines.length) {
      const list = el("ul", { class: "chat-card-lines", role: "list" });
      for (const line of p.lines.slice(0, 20)) {
        if (line && typeof line === "object") {
          const label = line.title || line.description || line.name || line.label || "";
          const qty = line.quantity && line.quantity !== 1 ? ` × ${line.quantity}` : "";
          const amount = line.amount || line.total || line.price || "";
          list.append(el("li", {}, el("span", { text: `${label}${qty}` }), el("span", { class: "chat-card-amount", text: String(amount) })));
        } else {
          list.append(el("li", {}, el("span", { text: String(line) })));
        }
      }
      card.append(list);
    }
    if (p.total) card.append(el("p", { class: "chat-card-total" }, el("span", { text: this.t.total }), el("strong", { text: String(p.total) })));
    if (p.status) card.append(el("p", { class: "chat-card-status" }, el("span", { class: "badge", text: String(p.status_label || p.status) })));
    const url = safeUrl(p.url);
    if (url) card.append(el("a", { class: "btn chat-card-link", href: url, target: "_top", text: String(p.url_label || this.t.open_link) }));
    // Card fields are UI text; only a translated note is worth a line about translation.
    const translation = this._translation(message);
    const note = translation && translation.status === "done" ? this._translationNote(message, shown) : null;
    if (note) card.append(note);
    return card;
  }

  _renderTyping() {
    if (!this.typingEl) return;
    const names = this.typingNames ? [...this.typingNames.values()] : [];
    this.typingEl.textContent = names.length ? format(this.t.typing, { name: names.join(", ") }) : "";
  }

  _renderPresence() {
    if (!this.presenceEl || !this.other) return;
    const name = this.other.name;
    this.presenceEl.textContent = "";
    if (this.online.has(this.other.id)) {
      this.presenceEl.append(el("span", { class: "presence-dot", "aria-hidden": "true" }), format(this.t.online, { name }));
    } else if (this.profile && this.profile.away) {
      this.presenceEl.append(format(this.t.away, { name }));
    } else if (this.profile) {
      const hours = this.profile.usualHours;
      this.presenceEl.append(
        hours === 24
          ? this.t.offline_usual_day
          : hours === 1
            ? this.t.offline_usual_hour
            : format(this.t.offline_usual, { hours }),
      );
    } else if (this.presenceEl.dataset.fallback) {
      this.presenceEl.append(this.presenceEl.dataset.fallback);
    }
  }

  _flashConnection(text) {
    if (!this.connectionEl) return;
    this.connectionEl.hidden = false;
    this.connectionEl.textContent = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      if (this.socket.ready) this.connectionEl.hidden = true;
    }, 6000);
  }
}

// Shows the socket state in the [data-chat-connection] banner of a page.
// -- Context cards ("asked about / requested / ordered" a piece), stored as ids -------------
// The page resolves them for the reader (config.contextCards, keyed by message id: title,
// link, thumbnail, options, formatted price); a card that arrives live shows its kind label.
function isContextCard(message) {
  return !!(message.payload && message.payload.type === "context");
}

function renderContextCard(message, config) {
  const kind = String(message.payload.context || "");
  const resolved = (config.contextCards || {})[String(message.id)] || null;
  const labels = config.contextLabels || {};
  const label = (resolved && resolved.label) || labels[kind] || "";
  const card = el("div", { class: "context-chip" });
  if (resolved && resolved.thumb) card.append(el("img", { class: "context-chip-thumb", src: resolved.thumb, alt: "", width: 40, height: 40, loading: "lazy" }));
  const body = el("div", { class: "context-chip-body" }, el("p", { class: "context-chip-kind", text: label }));
  if (resolved && resolved.title) {
    body.append(el("p", { class: "context-chip-title" }, resolved.url ? el("a", { href: resolved.url, text: resolved.title }) : resolved.title));
  }
  const facts = resolved ? [...(resolved.options || []), resolved.price].filter(Boolean) : [];
  if (facts.length) body.append(el("p", { class: "context-chip-facts", text: facts.join(" · ") }));
  if (resolved && resolved.offerUrl) body.append(el("a", { class: "btn btn-secondary context-chip-offer", href: resolved.offerUrl, text: resolved.offerLabel }));
  card.append(body);
  return el("li", { class: "msg msg-system msg-context", "data-seq": message.seq }, card);
}

export function connectionBanner(node, strings, socket) {
  return (state, detail = {}) => {
    if (!node) return;
    node.textContent = "";
    node.dataset.state = state;
    if (state === "connected") {
      node.hidden = true;
      return;
    }
    node.hidden = state === "connecting";
    if (state === "offline") node.append(strings.offline);
    else if (state === "waiting") {
      node.append(format(strings.reconnecting, { seconds: detail.seconds }), " ");
      node.append(el("button", { type: "button", class: "btn-link", text: strings.reconnect_now, onclick: () => socket().reconnectNow() }));
    } else if (state === "reconnecting") node.append(strings.connecting);
    else if (state === "signed_out") node.append(strings.signed_out);
    else if (state === "suspended") node.append(detail.message || strings.suspended);
  };
}
