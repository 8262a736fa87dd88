// Drawing the chat: messages, cards, the pending (not yet acknowledged) bubbles, the
// connection banner. Returns DOM nodes and never touches the page's log itself (the
// controller places them). XSS-safe by construction: every piece of user or server text goes
// through textContent or a text node (`el`), never innerHTML, and links only keep http(s).

import { cardFormatters, format, pyformat } from "./format.js";

export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// el("p", {class: "x", text: "…"}, child, …): attributes, "text" as textContent, on* listeners.
export function el(tag, attrs = {}, ...children) {
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

const PEOPLE_KINDS = new Set(["text", "image"]);
export const CARD_KINDS = new Set(["offer", "order_update"]);

export class MessageRenderer {
  /**
   * @param {object} options
   * @param {number} options.me           the reader's user id
   * @param {string} options.language     the reader's language (translations shown)
   * @param {object} options.strings      the page's #chat-strings (server-translated labels)
   * @param {object} options.config       the page's #chat-config (buyer, contextCards, …)
   * @param {object} options.hooks        onReport(message) | null, onSend(text), onRetry(entry),
   *                                      onDiscard(entry), onRedraw(message) → node,
   *                                      onTranslationState(text),
   *                                      onRate(message, url, score) → Promise<node> (CSAT)
   */
  constructor({ me, language, strings, config, hooks }) {
    this.me = me;
    this.language = language;
    this.t = strings;
    this.config = config;
    this.hooks = hooks;
    this.showOriginal = new Set(); // message ids shown untranslated
    const lang = document.documentElement.lang;
    this.cardText = cardFormatters(lang);
    this.timeFormat = new Intl.DateTimeFormat(lang || undefined, { hour: "2-digit", minute: "2-digit" });
    try {
      this.languageNames = new Intl.DisplayNames([lang || "en"], { type: "language" });
    } catch {
      this.languageNames = null;
    }
  }

  pending(entry) {
    const node = el(
      "li",
      { class: "msg msg-out", "data-client-id": entry.clientId },
      el(
        "div",
        { class: "msg-bubble" },
        entry.text ? el("p", { class: "msg-text", text: entry.text }) : null,
        entry.preview ? el("div", { class: "msg-images" }, el("img", { src: entry.preview, alt: this.t.image })) : null,
      ),
      this.statusLine(new Date(entry.createdAt)),
    );
    if (entry.state === "failed") {
      node.classList.add("is-failed");
      node.append(
        el(
          "p",
          { class: "msg-error", role: "alert" },
          el("span", { text: entry.error || this.t.failed }),
          " ",
          el("button", { type: "button", class: "btn-link", text: this.t.retry, onclick: () => this.hooks.onRetry(entry) }),
          " · ",
          el("button", { type: "button", class: "btn-link", text: this.t.discard, onclick: () => this.hooks.onDiscard(entry) }),
        ),
      );
    }
    this.setStatus(node, entry.state === "failed" ? "failed" : entry.state === "uploading" ? "uploading" : "sending");
    return node;
  }

  statusLine(date, message) {
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

  setStatus(node, state) {
    const slot = node.querySelector(".msg-status");
    if (!slot || slot.dataset.state === state) return;
    slot.dataset.state = state;
    const icon = { uploading: "◷", sending: "◷", sent: "✓", read: "✓✓", failed: "!" }[state] || "";
    slot.textContent = "";
    slot.append(" · ", el("span", { class: "msg-status-icon", "aria-hidden": "true", text: icon }), " ", this.t[state] || "");
  }

  message(message) {
    const mine = message.author && message.author.id === this.me;
    const kind = message.kind;
    if (kind === "system" && !message.hidden && isContextCard(message)) {
      return renderContextCard(message, this.config);
    }
    if (kind === "system" && !message.hidden) {
      return el(
        "li",
        { class: "msg msg-system", "data-seq": message.seq },
        el("p", { class: "msg-system-text", text: this.systemText(message) }),
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
      bubble.append(this.card(message));
    } else {
      if (!message.author && kind === "bot") bubble.append(el("p", { class: "msg-bot-name", text: this.t.assistant }));
      const shown = this.displayText(message);
      if (shown.text) bubble.append(el("p", { class: "msg-text", lang: shown.lang || null, text: shown.text }));
      if (message.attachments && message.attachments.length) bubble.append(this.images(message));
      if (kind === "bot") {
        const cards = this.botCards(message);
        if (cards) bubble.append(cards);
        bubble.append(this.buttons(message));
      }
      const note = this.translationNote(message, shown);
      if (note) bubble.append(note);
    }
    node.append(bubble);
    const meta = this.statusLine(new Date(message.created_at), message);
    node.append(meta);
    if (!mine && message.author && PEOPLE_KINDS.has(kind) && !message.hidden && this.hooks.onReport) {
      meta.append(
        " · ",
        el("button", {
          type: "button",
          class: "msg-report btn-link",
          text: this.t.report,
          "aria-label": format(this.t.report_message, { name: message.author.name }),
          "aria-haspopup": "dialog",
          onclick: () => this.hooks.onReport(message),
        }),
      );
    }
    return node;
  }

  translation(message) {
    if (!message.translations || message.hidden) return null;
    if (message.author && message.author.id === this.me) return null; // you wrote it
    return message.translations[this.language] || null;
  }

  displayText(message) {
    const original = CARD_KINDS.has(message.kind) ? message.payload.note || message.text || "" : message.text || "";
    const translation = this.translation(message);
    if (translation && translation.status === "done" && translation.text && !this.showOriginal.has(message.id)) {
      return { text: translation.text, translated: true, lang: this.language };
    }
    return { text: original, translated: false, lang: message.language || null, hasTranslation: !!(translation && translation.status === "done") };
  }

  languageName(code) {
    if (!code) return "";
    try {
      return (this.languageNames && this.languageNames.of(code)) || code;
    } catch {
      return code;
    }
  }

  translationNote(message, shown) {
    const translation = this.translation(message);
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
          const fresh = this.hooks.onRedraw(message);
          const again = fresh && fresh.querySelector(".msg-translation button");
          if (again) again.focus();
        },
      });
    switch (translation.status) {
      case "done": {
        const language = this.languageName(message.language);
        const label = language ? format(this.t.translated_from, { language }) : this.t.translated;
        note.append(label, " · ", toggle(shown.translated ? this.t.show_original : this.t.show_translation));
        return note;
      }
      case "pending":
        note.append(this.t.translating);
        return note;
      case "not_configured":
        // A site-wide state, said once at the top of the thread rather than under every message.
        this.hooks.onTranslationState(this.t.translation_not_configured_thread || this.t.translation_not_configured);
        return null;
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

  images(message) {
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
  botCards(message) {
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
      body.append(this.buttons({ payload: { buttons: Array.isArray(c.buttons) ? c.buttons : [] } }));
      item.append(body);
      list.append(item);
    }
    return list;
  }

  buttons(message) {
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
        row.append(el("button", { type: "button", class: "btn btn-secondary msg-button", text: title, onclick: () => this.hooks.onSend(text) }));
      }
    }
    return row;
  }

  cardUrl(name, values) {
    const template = (this.t.card_urls || {})[name];
    return template ? safeUrl(format(template, values)) : null;
  }

  isBuyer() {
    return this.config.buyer === undefined || this.config.buyer === null || this.config.buyer === this.me;
  }

  // Commerce milestones ({"event": ...}) in the reader's language; other system lines as stored.
  systemText(message) {
    const p = message.payload || {};
    const c = this.t.card || {};
    const template = p.event && c.events ? c.events[p.event] : null;
    if (!template) return this.displayText(message).text;
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

  card(message) {
    const p = message.payload || {};
    if (p.card === "offer") return this.offerCard(message, p);
    if (p.card === "order") return this.orderCard(message, p);
    if (p.card === "csat") return this.csatCard(message, p);
    return this.legacyCard(message);
  }

  cardShell(message, kind, title, status, statusLabel) {
    const card = el("article", { class: `chat-card chat-card-${kind}`, "data-card": kind, "data-status": status || null });
    card.append(el("h3", { class: "chat-card-title", text: title }));
    card.append(el("p", { class: "chat-card-status" }, el("span", { class: `badge badge-${status || "none"}`, text: statusLabel || status || "" })));
    return card;
  }

  offerCard(message, p) {
    const c = this.t.card || {};
    const change = p.kind === "change_order";
    const status = String(p.status || "");
    const statusLabel = ((c.status || {}).offer || {})[status] || status;
    const title = pyformat(change ? c.change_order_title : c.offer_title, { version: p.version });
    const card = this.cardShell(message, "offer", title, status, statusLabel);
    const shown = this.displayText(message);
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
    const url = status === "sent" && this.isBuyer() ? this.cardUrl("offer", { id: p.offer_id }) : null;
    if (url) card.append(el("a", { class: "btn chat-card-link", href: url, target: "_top", text: c.review_offer }));
    const translation = this.translation(message);
    const note = translation && translation.status === "done" ? this.translationNote(message, shown) : null;
    if (note) card.append(note);
    return card;
  }

  orderCard(message, p) {
    const c = this.t.card || {};
    const status = String(p.status || "");
    const statusLabel = ((c.status || {}).order || {})[status] || status;
    const reference = String(p.order || p.reference || "");
    const card = this.cardShell(message, "order", pyformat(c.order_title, { reference }), status, statusLabel);
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
    if (payable && this.isBuyer()) {
      const template = (c.pay || {})[payable.purpose] || (c.pay || {}).full;
      action = { primary: true, url: this.cardUrl("pay", { reference }), text: pyformat(template, { amount: this.cardText.money(payable.amount, p.currency) }) };
    } else if (proof && proof.status === "pending" && this.isBuyer()) {
      action = { primary: true, url: this.cardUrl("order", { reference }), text: c.review_proof };
    } else {
      // The artisan works on the order in the studio; the buyer follows it on their order page.
      const page = this.isBuyer() ? "order" : "studio_order";
      action = { primary: false, url: this.cardUrl(page, { reference }), text: c.view_order };
    }
    if (action && action.url) {
      card.append(el("a", { class: action.primary ? "btn chat-card-link" : "btn btn-secondary chat-card-link", href: action.url, target: "_top", text: action.text }));
    }
    return card;
  }

  // The CSAT question after delivery (commerce/services/csat.py): the buyer answers 1–5 with
  // one tap (again to change it); the artisan reads the answer. Only facts are stored
  // ({order, score}); the words are the reader's (card.csat in #chat-strings).
  csatCard(message, p) {
    const c = this.t.card || {};
    const q = c.csat || {};
    const reference = String(p.order || "");
    const score = Number.isInteger(p.score) && p.score >= 1 && p.score <= 5 ? p.score : null;
    const closed = p.closed === true; // refunded: no more answers
    const card = el("article", { class: "chat-card chat-card-csat", "data-card": "csat", "data-score": score || null, "data-closed": closed ? "true" : null });
    card.append(el("h3", { class: "chat-card-title", text: pyformat(c.order_title, { reference }) }));
    if (!this.isBuyer()) {
      card.append(el("p", { class: "chat-card-csat-answer", text: score ? pyformat(q.buyer_rated, { score }) : closed ? q.closed : q.waiting }));
      return card;
    }
    if (closed) {
      card.append(el("p", { class: "chat-card-question", text: q.question }));
      if (score) card.append(el("p", { class: "chat-card-csat-answer", text: pyformat(q.rated, { score }) }));
      card.append(el("p", { class: "chat-card-facts", text: q.closed }));
      return card;
    }
    const questionId = `csat-question-${message.id}`;
    card.append(el("p", { class: "chat-card-question", id: questionId, text: q.question }));
    const group = el("div", { class: "csat-scale", role: "group", "aria-labelledby": questionId });
    const result = el("p", { class: "chat-card-csat-answer", role: "status" });
    const error = el("p", { class: "msg-error", role: "alert" });
    for (let value = 1; value <= 5; value += 1) {
      group.append(
        el("button", {
          type: "button",
          class: "csat-option",
          "aria-label": pyformat(q.option, { score: value }),
          "aria-pressed": value === score ? "true" : "false",
          text: String(value),
          onclick: (event) => this.rate(message, reference, value, event.currentTarget, error),
        }),
      );
    }
    card.append(group);
    if (score) result.append(pyformat(q.rated, { score }), el("br"), el("span", { class: "chat-card-facts", text: q.change }));
    card.append(result, error);
    return card;
  }

  async rate(message, reference, score, button, errorNode) {
    const url = this.cardUrl("csat", { reference });
    if (!url || !this.hooks.onRate) return;
    const group = button.closest(".csat-scale");
    group.setAttribute("aria-busy", "true");
    errorNode.textContent = "";
    try {
      // Stored, then drawn at once (message.updated brings the same to other tabs).
      const fresh = await this.hooks.onRate(message, url, score);
      const again = fresh && fresh.querySelector(`.csat-option:nth-child(${score})`);
      if (again) again.focus();
    } catch (failure) {
      group.removeAttribute("aria-busy");
      errorNode.textContent = failure.message || this.t.error_generic;
    }
  }

  // Cards stored before cards became data (they carry their own text).
  legacyCard(message) {
    const p = message.payload || {};
    const card = el("article", { class: `chat-card chat-card-${message.kind}` });
    card.append(el("p", { class: "chat-card-kind", text: message.kind === "offer" ? this.t.offer : this.t.order_update }));
    const title = p.title || message.text;
    if (title) card.append(el("h3", { class: "chat-card-title", text: String(title) }));
    const shown = this.displayText(message);
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
    const translation = this.translation(message);
    const note = translation && translation.status === "done" ? this.translationNote(message, shown) : null;
    if (note) card.append(note);
    return card;
  }}

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

// Shows the socket state in the [data-chat-connection] banner of a page.
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
