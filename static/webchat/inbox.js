// Inbox and buyer messages pages: live conversation list + the open conversation.
import { ChatSocket, ConversationController, connectionBanner, csrfFetch, readJSON } from "./chat-client.js";
import { bindConfirmations } from "./forms.js";

const inbox = document.querySelector("[data-inbox]");
const listSlot = document.querySelector("[data-conversation-list]");
const config = readJSON("chat-config");
const strings = readJSON("chat-strings") || {};
const chatRoot = document.querySelector("[data-chat]");

bindConfirmations(document);

// On narrow screens the details panel sits above the chat: start it folded.
if (window.matchMedia("(max-width: 75rem)").matches) {
  document.querySelector(".conv-context-details")?.removeAttribute("open");
}

let socket;
socket = new ChatSocket({
  path: (config && config.wsPath) || "/ws/chat/",
  onStatus: connectionBanner(chatRoot && chatRoot.querySelector("[data-chat-connection]"), strings, () => socket),
});

// -- Live list: conversation.updated arrives on the person's own socket group ----------------
let refreshTimer = null;
function refreshList() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (!listSlot || !inbox) return;
    const url = new URL(inbox.dataset.listUrl, window.location.href);
    const current = new URLSearchParams(window.location.search);
    for (const [key, value] of current) url.searchParams.set(key, value);
    url.searchParams.set("partial", "list");
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) return;
      const html = await res.text();
      const focusedId = document.activeElement && document.activeElement.closest("[data-conversation-id]")?.dataset.conversationId;
      listSlot.innerHTML = html;
      markActive();
      if (focusedId) listSlot.querySelector(`[data-conversation-id="${focusedId}"] a`)?.focus();
    } catch {
      /* the next update retries */
    }
  }, 300);
}

function markActive() {
  const active = inbox && inbox.dataset.activeConversation;
  if (!active || !listSlot) return;
  const item = listSlot.querySelector(`[data-conversation-id="${active}"]`);
  if (item) {
    item.classList.add("is-active");
    item.querySelector("a")?.setAttribute("aria-current", "page");
  }
}

socket.on((frame) => {
  if (frame.type === "conversation.updated") refreshList();
  // The open thread's new messages come only as message.new (no conversation.updated to a
  // socket subscribed to it): its row's preview and order change too.
  if (frame.type === "message.new" && !frame.replay) refreshList();
  if (frame.type === "hello" && socket.connectionId > 1) refreshList(); // caught up after an outage
  if (frame.type === "resync") refreshList(); // the server lost live events: redraw the list
});

// -- The open conversation ---------------------------------------------------------------------
if (config && chatRoot) {
  const dialog = document.querySelector("[data-report-dialog]");
  const controller = new ConversationController({
    socket,
    root: chatRoot,
    config,
    strings,
    onReport: dialog ? (message) => openReport(dialog, message) : null,
  });
  window.atelierChat = { socket, controller };

  document.querySelectorAll("[data-quick-reply]").forEach((button) => {
    button.addEventListener("click", () => {
      controller.insertText(button.dataset.quickReply);
      button.closest("details")?.removeAttribute("open");
    });
  });

  function openReport(dialogEl, message) {
    const form = dialogEl.querySelector("[data-report-form]");
    const error = dialogEl.querySelector("[data-report-error]");
    const opener = document.activeElement;
    dialogEl.querySelector("[data-report-quote]").textContent = message.text || strings.image;
    form.reset();
    error.hidden = true;
    dialogEl.showModal();
    form.querySelector("textarea").focus();
    form.onsubmit = async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      try {
        await csrfFetch(config.reportUrl.replace("/0/", `/${message.id}/`), { body, csrfToken: config.csrfToken });
        dialogEl.close();
        const banner = chatRoot.querySelector("[data-chat-connection]");
        banner.hidden = false;
        banner.textContent = strings.report_sent;
        setTimeout(() => { if (socket.ready) banner.hidden = true; }, 5000);
      } catch (err) {
        error.textContent = err.message || strings.error_generic;
        error.hidden = false;
      }
    };
    dialogEl.querySelector("[data-report-cancel]").onclick = () => dialogEl.close();
    dialogEl.addEventListener("close", () => opener && opener.focus(), { once: true });
  }
}

markActive();
window.atelierInbox = { socket };
socket.start();
