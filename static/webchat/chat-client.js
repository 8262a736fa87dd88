// Atelier chat client, the one entry point the pages (inbox.js, widget-frame.js) use.
// Build-free ES modules, read in this order:
//
//   format.js      placeholders and card facts in the reader's locale
//   protocol.js    ChatSocket (socket lifecycle, reconnect with backoff) and ConversationSync
//                  (seq, resume with after_seq, gap detection, outbox) — no DOM
//   render.js      MessageRenderer: messages and cards as DOM nodes, XSS-safe; the banner
//   controller.js  ConversationController: wires one conversation's markup to the two above
//
// Protocol: docs/protocol.md. Everything shown to people comes from the server-translated
// strings dict (see webchat/strings.py).

export { cardFormatters, format, pyformat } from "./format.js";
export { ChatSocket, ConversationSync, backoffDelay, newClientId } from "./protocol.js";
export { MessageRenderer, connectionBanner, el, safeUrl } from "./render.js";
export { ConversationController, csrfFetch, readJSON } from "./controller.js";
