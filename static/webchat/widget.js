/*
 * Atelier web chat widget — embed with one tag:
 *   <script src="https://<atelier>/static/webchat/widget.js" data-artisan="12" defer></script>
 * Optional: data-product="34", data-context="custom_order:5", data-label="Chat with Rosa".
 *
 * It adds a launcher button and, on first open, an iframe to /widget/ on the Atelier
 * origin, so the chat runs with the buyer's Atelier session. Nothing is loaded (and no
 * socket is opened) until the visitor opens the chat.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__atelierChatWidget) return;
  window.__atelierChatWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var data = script.dataset;
  var lang = (document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var LABELS = {
    en: { open: "Chat with us", close: "Close chat", frame: "Chat", unread: "unread messages" },
    fr: { open: "Discuter avec nous", close: "Fermer la discussion", frame: "Discussion", unread: "messages non lus" },
    de: { open: "Mit uns chatten", close: "Chat schließen", frame: "Chat", unread: "ungelesene Nachrichten" },
    es: { open: "Chatea con nosotros", close: "Cerrar el chat", frame: "Chat", unread: "mensajes sin leer" },
    ja: { open: "チャットで相談", close: "チャットを閉じる", frame: "チャット", unread: "件の未読メッセージ" },
  };
  var text = LABELS[lang] || LABELS.en;
  var openLabel = data.label || text.open;

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = origin + "/static/webchat/widget.css";
  document.head.appendChild(css);

  var panelId = "atelier-chat-panel";
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "atelier-chat-launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", panelId);
  launcher.innerHTML =
    '<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z" fill="currentColor"/></svg>' +
    '<span class="atelier-chat-launcher-label"></span><span class="atelier-chat-badge" hidden></span>';
  launcher.querySelector(".atelier-chat-launcher-label").textContent = openLabel;
  var badge = launcher.querySelector(".atelier-chat-badge");

  var panel = document.createElement("div");
  panel.id = panelId;
  panel.className = "atelier-chat-panel";
  panel.hidden = true;

  var iframe = null;
  var frameReady = false;
  var isOpen = false;

  function frameUrl() {
    var params = new URLSearchParams();
    if (data.artisan) params.set("artisan", data.artisan);
    if (data.product) params.set("product", data.product);
    if (data.context) params.set("context", data.context);
    if (data.subject) params.set("subject", data.subject);
    params.set("page", window.location.pathname + window.location.search);
    return origin + "/widget/?" + params.toString();
  }

  function tellFrame(type) {
    if (iframe && frameReady) {
      iframe.contentWindow.postMessage({ source: "atelier-chat-host", type: type }, origin);
    }
  }

  function open() {
    if (isOpen) return;
    isOpen = true;
    if (!iframe) {
      iframe = document.createElement("iframe");
      iframe.className = "atelier-chat-frame";
      iframe.title = data.label || text.frame;
      iframe.src = frameUrl();
      panel.appendChild(iframe);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    document.documentElement.classList.add("atelier-chat-open");
    if (frameReady) {
      iframe.focus();
      tellFrame("open");
    }
  }

  function close(returnFocus) {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    document.documentElement.classList.remove("atelier-chat-open");
    tellFrame("close");
    if (returnFocus !== false) launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (isOpen) close();
    else open();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen) close();
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !iframe || event.source !== iframe.contentWindow) return;
    var msg = event.data || {};
    if (msg.source !== "atelier-chat") return;
    if (msg.type === "ready") {
      frameReady = true;
      if (isOpen) {
        iframe.focus();
        tellFrame("open");
      }
    } else if (msg.type === "close") {
      close();
    } else if (msg.type === "unread") {
      var count = Number(msg.count) || 0;
      badge.hidden = count === 0;
      badge.textContent = count > 9 ? "9+" : String(count);
      launcher.setAttribute("aria-label", count ? openLabel + " (" + count + " " + text.unread + ")" : openLabel);
    }
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
