// One conversation on a page: wires the page's [data-chat-*] markup to a ConversationSync
// (protocol.js: what is held, what is sent) and a MessageRenderer (render.js: how it looks).
// Composer, scrolling, typing, presence and the history button live here.

import { format } from "./format.js";
import { ConversationSync } from "./protocol.js";
import { MessageRenderer, el } from "./render.js";

const NEAR_BOTTOM_PX = 96;
const TYPING_SEND_EVERY = 3000;
const TYPING_IDLE_STOP = 4000;
const TYPING_SHOW_FOR = 6000;

export function readJSON(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

export function csrfFetch(url, { method = "POST", body, csrfToken, json = true, contentType = null } = {}) {
  const headers = { "X-CSRFToken": csrfToken, Accept: "application/json" };
  if (contentType) headers["Content-Type"] = contentType;
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

export class ConversationController {
  /**
   * @param {object} options
   * @param {ChatSocket} options.socket
   * @param {HTMLElement} options.root   element holding the [data-chat-*] markup
   * @param {object} options.config      from the page's #chat-config JSON
   * @param {object} options.strings     from the page's #chat-strings JSON
   * @param {Function} [options.ensureConversation]  async () => id, for the widget's first send
   * @param {Function} [options.onReport]  (message) => void, shows the report dialog
   * @param {HTMLElement} [options.presenceEl]  where "Rosa is online" goes
   */
  constructor({ socket, root, config, strings, ensureConversation, onReport, presenceEl }) {
    this.socket = socket;
    this.root = root;
    this.config = config;
    this.t = strings;
    this.me = config.me;
    this.other = config.other;
    this.profile = config.profile;
    this.ensureConversation = ensureConversation;
    this.active = true; // false while the widget panel is closed
    this.historyUrl = config.historyUrl;
    this.hasMore = !!config.hasMore;
    this.online = new Set(this.profile && this.profile.online && this.other ? [this.other.id] : []);
    this.typingTimers = new Map();
    this.typingNames = new Map();
    this.onUnseen = null; // (message) => void, set by the widget

    this.sync = new ConversationSync({ socket, me: this.me, messages: config.messages || [], readMarkers: config.readMarkers || {} });
    this.render = new MessageRenderer({
      me: this.me,
      language: config.language,
      strings,
      config,
      hooks: {
        onReport: onReport || null,
        onSend: (text) => this.send(text),
        onRetry: (entry) => this._retry(entry),
        onDiscard: (entry) => this._discard(entry),
        onRedraw: (message) => this._redraw(message),
        onTranslationState: (text) => this._showTranslationState(text),
        onRate: (message, url, score) => this._rate(message, url, score),
      },
    });

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

    this._bindComposer();
    if (this.earlierBtn) this.earlierBtn.addEventListener("click", () => this.loadEarlier());
    socket.on((frame) => this._onFrame(frame));

    this._renderAll();
    if (config.conversation) this.attach(config.conversation);
    this._updateEmpty();
    this._renderPresence();
    this.scrollToBottom();
  }

  get conversationId() {
    return this.sync.conversationId;
  }

  // True once the conversation is subscribed and caught up (browser tests wait on it).
  get subscribed() {
    return this.sync.subscribed;
  }

  // -- Public API --------------------------------------------------------------------------

  attach(conversationId) {
    for (const entry of this.sync.attach(conversationId)) this._showPending(entry);
    this._updateEmpty();
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
    const entry = this.sync.queue({ text, attachments });
    this._showPending(entry);
    this._updateEmpty();
    this.scrollToBottom(true);
    this._typing("stop");
    if (!this.conversationId && this.ensureConversation) {
      try {
        this.attach(await this.ensureConversation());
      } catch (error) {
        this.sync.fail(entry, error.message || this.t.error_generic);
        this._showPending(entry);
        return;
      }
    }
    this.sync.ready(entry);
  }

  async sendPhoto(file) {
    if (!file) return;
    const entry = this.sync.queue({ file, preview: URL.createObjectURL(file) });
    entry.state = "uploading";
    this._showPending(entry);
    this._updateEmpty();
    this.scrollToBottom(true);
    await this._upload(entry);
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
    const before = this.sync.lowest === Infinity ? this.sync.highest + 1 : this.sync.lowest;
    try {
      const res = await fetch(`${this.historyUrl}?before_seq=${before}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!res.ok) throw new Error(res.statusText);
      const data = await res.json();
      const heightBefore = this.scroller.scrollHeight;
      for (const message of data.messages) {
        if (this.sync.store(message)) this._place(this.render.message(message), message.seq);
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
      this.sync.connectionLost(); // a new connection: subscribe (resume) from scratch
      this.sync.subscribe();
      return;
    }
    if (frame.type === "socket.closed") {
      this.sync.connectionLost();
      this.online.clear();
      this._renderPresence();
      return;
    }
    if (frame.type === "resync") {
      // The server's channel layer lost events (e.g. Redis restarted): fetch what we missed.
      this.sync.resync();
      return;
    }
    if (frame.conversation !== undefined && frame.conversation !== this.conversationId) return;
    switch (frame.type) {
      case "subscribed":
        return this._onSubscribed(frame);
      case "message.new":
        return this._onNew(frame);
      case "message.updated":
        return this._onUpdated(frame.message);
      case "message.ack":
        return this._onAck(frame);
      case "message.translated":
        return this._onTranslated(frame);
      case "read":
        this.sync.setMarker(frame.user, frame.seq);
        return this._refreshReceipts();
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

  _onSubscribed(frame) {
    this.online = new Set(frame.online || []);
    this._renderPresence();
    if (!this.sync.onSubscribed(frame)) return; // still catching up
    this._refreshReceipts();
    this._markRead();
  }

  _onNew(frame) {
    const received = this.sync.receive(frame);
    if (!received) return; // replay overlap: already held
    const { message, mine, clientId } = received;
    const pendingNode = clientId ? this._pendingNode(clientId) : null;
    if (pendingNode) pendingNode.remove();
    this._place(this.render.message(message), message.seq);
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
    if (this.sync.update(message)) this._redraw(message);
  }

  _onAck(frame) {
    const entry = this.sync.acknowledge(frame);
    if (!entry) return;
    const node = this._pendingNode(frame.client_id);
    if (node) {
      node.dataset.seq = String(frame.seq);
      node.remove();
      this._place(node, frame.seq);
      this.render.setStatus(node, "sent");
    }
    this._refreshReceipts();
  }

  _onTranslated(frame) {
    if (frame.language !== this.render.language) return;
    const message = this.sync.messages.get(frame.seq);
    if (!message) return;
    message.translations = { ...(message.translations || {}), [frame.language]: { status: frame.status, text: frame.text || "" } };
    if (frame.source_language && !message.language) message.language = frame.source_language;
    this._redraw(message);
  }

  _onError(frame) {
    const rejected = this.sync.reject(frame);
    if (rejected && rejected.retryAfter) {
      this._flashConnection(format(this.t.rate_limited, { seconds: rejected.retryAfter }));
    } else if (rejected) {
      this._showPending(rejected.entry);
    } else if (frame.frame === "subscribe" || frame.code === "read_only") {
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
    this.typingNames.set(frame.user, frame.name);
    this._renderTyping();
  }

  _clearTyping(user) {
    clearTimeout(this.typingTimers.get(user));
    this.typingTimers.delete(user);
    this.typingNames.delete(user);
    this._renderTyping();
  }

  _markRead() {
    if (!this.active || document.visibilityState === "hidden") return;
    this.sync.markRead();
  }

  // -- Outbox entries -----------------------------------------------------------------------

  async _upload(entry) {
    try {
      if (!this.conversationId && this.ensureConversation) this.attach(await this.ensureConversation());
      const body = new FormData();
      body.append("file", entry.file);
      const url = format(this.config.uploadUrl, { conversation: this.conversationId });
      const attachment = await csrfFetch(url, { body, csrfToken: this.config.csrfToken });
      entry.attachments = [attachment.id];
      entry.state = "sending";
      this._showPending(entry);
      this.sync.ready(entry);
    } catch (error) {
      this.sync.fail(entry, error.message || this.t.error_generic);
      this._showPending(entry);
    }
  }

  _retry(entry) {
    if (entry.file && !entry.attachments.length) {
      entry.state = "uploading";
      entry.error = null;
      this._showPending(entry);
      this._upload(entry);
      return;
    }
    entry.state = "sending";
    entry.error = null;
    this._showPending(entry);
    this.sync.ready(entry);
  }

  _discard(entry) {
    this.sync.discard(entry);
    const node = this._pendingNode(entry.clientId);
    if (node) node.remove();
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

  // -- The log ------------------------------------------------------------------------------

  _renderAll() {
    this.log.textContent = "";
    const seqs = [...this.sync.messages.keys()].sort((a, b) => a - b);
    for (const seq of seqs) this.log.append(this.render.message(this.sync.messages.get(seq)));
    this._refreshReceipts();
    this._updateEarlier();
  }

  _updateEarlier() {
    if (this.earlierBtn) this.earlierBtn.hidden = !(this.hasMore && this.historyUrl);
  }

  _updateEmpty() {
    if (this.emptyEl) this.emptyEl.hidden = this.sync.messages.size > 0 || this.sync.pending.size > 0;
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

  // Draw a held message again in place (edited, hidden, translated, card changed).
  // The buyer's CSAT tap: POST the score (commerce/api.py), then show it without waiting
  // for the socket's message.updated (which redraws the same facts again, harmlessly).
  async _rate(message, url, score) {
    await csrfFetch(url, {
      body: JSON.stringify({ score }),
      csrfToken: this.config.csrfToken,
      contentType: "application/json",
    });
    const current = this.sync.messages.get(message.seq) || message;
    const updated = { ...current, payload: { ...current.payload, score } };
    this.sync.update(updated);
    return this._redraw(updated);
  }

  _redraw(message) {
    const old = this.log.querySelector(`[data-seq="${message.seq}"]`);
    const node = this.render.message(message);
    if (old) old.replaceWith(node);
    this._refreshReceipts();
    return node;
  }

  _pendingNode(clientId) {
    return this.log.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
  }

  _showPending(entry) {
    const node = this.render.pending(entry);
    const existing = this._pendingNode(entry.clientId);
    if (existing) existing.replaceWith(node);
    else this.log.append(node);
  }

  _refreshReceipts() {
    const othersRead = this.sync.othersRead();
    for (const node of this.log.querySelectorAll(".msg-out[data-seq]")) {
      this.render.setStatus(node, Number(node.dataset.seq) <= othersRead ? "read" : "sent");
    }
  }

  _renderTyping() {
    if (!this.typingEl) return;
    const names = [...this.typingNames.values()];
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

  _showTranslationState(text) {
    if (!this.translationStateEl || !text) return;
    this.translationStateEl.textContent = text;
    this.translationStateEl.hidden = false;
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
