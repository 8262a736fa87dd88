// The chat panel inside the widget's iframe. Talks to the host page's widget.js through
// postMessage (open/close/unread) and to Atelier through chat-client.js.
import { ChatSocket, ConversationController, connectionBanner, csrfFetch, readJSON } from "./chat-client.js";

const parentOrigin = (() => {
  try {
    return document.referrer ? new URL(document.referrer).origin : window.location.origin;
  } catch {
    return window.location.origin;
  }
})();
const embedded = window.parent !== window;

function tellHost(type, detail = {}) {
  if (embedded) window.parent.postMessage({ source: "atelier-chat", type, ...detail }, parentOrigin);
}

function closePanel() {
  tellHost("close");
}

document.querySelectorAll("[data-widget-close]").forEach((button) => {
  if (!embedded) button.hidden = true; // opened directly in a tab: nothing to close
  button.addEventListener("click", closePanel);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.defaultPrevented) closePanel();
});

const config = readJSON("chat-config");
const strings = readJSON("chat-strings");
const root = document.querySelector("[data-chat]");

if (config && root) {
  let socket;
  socket = new ChatSocket({
    path: config.wsPath,
    onStatus: connectionBanner(root.querySelector("[data-chat-connection]"), strings, () => socket),
  });
  let unseen = 0;
  const controller = new ConversationController({
    socket,
    root,
    config,
    strings,
    // The conversation is created on the first message, never by merely opening the panel.
    ensureConversation: async () => {
      const body = new FormData();
      for (const [key, value] of Object.entries(config.start || {})) {
        if (value !== null && value !== undefined && value !== "") body.append(key, value);
      }
      const data = await csrfFetch(config.startUrl, { body, csrfToken: config.csrfToken });
      controller.historyUrl = data.historyUrl;
      return data.conversation;
    },
  });
  controller.onUnseen = () => {
    unseen += 1;
    tellHost("unread", { count: unseen });
  };
  controller.setActive(!embedded);
  window.addEventListener("message", (event) => {
    if (event.origin !== parentOrigin || !event.data || event.data.source !== "atelier-chat-host") return;
    if (event.data.type === "open") {
      unseen = 0;
      tellHost("unread", { count: 0 });
      controller.setActive(true);
      controller.focusComposer();
    } else if (event.data.type === "close") {
      controller.setActive(false);
    }
  });
  socket.start();
  window.atelierChat = { socket, controller };
  tellHost("ready");
} else {
  // Signed out or unavailable: still let the host know it can move focus in.
  tellHost("ready");
  window.addEventListener("message", (event) => {
    if (event.origin !== parentOrigin || !event.data || event.data.source !== "atelier-chat-host") return;
    if (event.data.type === "open") {
      const first = document.querySelector(".cw-state a, .cw-state button, [data-widget-close]");
      if (first) first.focus();
    }
  });
}
