// Live delivery progress on a sending campaign's page. The artisan's hub socket (/ws/chat/)
// carries `campaign.progress` events (docs/protocol.md) after every delivery batch; without
// a socket (refused, dropped, offline) the page polls the progress endpoint every two
// seconds instead, and every fifteen while the socket is up as a safety net. Reloads once
// the campaign has finished, so the report appears.
(function () {
  "use strict";
  const section = document.getElementById("campaign-progress");
  if (!section) return;
  const url = section.dataset.progressUrl;
  const campaignId = Number(section.dataset.campaign);
  const wsPath = section.dataset.wsPath || "/ws/chat/";
  const bar = document.getElementById("progress-bar");
  const status = document.getElementById("campaign-status");
  const doneLabel = section.querySelector("[data-done]");
  let socketOpen = false;
  let timer = null;
  let finished = false;

  function show(data) {
    const c = data.counts;
    const done = c.sent + c.failed + c.skipped;
    bar.max = c.total;
    bar.value = done;
    if (doneLabel) doneLabel.textContent = String(done);
    const totalLabel = section.querySelector("[data-total]");
    if (totalLabel) totalLabel.textContent = String(c.total);
    const figures = {
      sent: c.sent,
      pending: c.pending + c.sending,
      held: c.held || 0,
      failed: c.failed,
      skipped: c.skipped,
      opened: c.opened,
      clicked: c.clicked,
    };
    for (const [key, value] of Object.entries(figures)) {
      const cell = section.querySelector(`[data-count="${key}"]`);
      if (cell) cell.textContent = String(value);
    }
    section.dataset.live = socketOpen ? "socket" : "polling";
    if (data.status !== "sending" && !finished) {
      finished = true;
      window.location.reload();
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (!finished) timer = setTimeout(poll, socketOpen ? 15000 : 2000);
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      if (status && data.status_label) status.textContent = data.status_label;
      show(data);
    } catch (_error) {
      // offline or restarting: the next tick tries again
    }
    schedule();
  }

  function connect() {
    if (!("WebSocket" in window)) return;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${window.location.host}${wsPath}`);
    } catch (_error) {
      return;
    }
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_error) {
        return;
      }
      if (frame.type === "hello") {
        socketOpen = true;
        section.dataset.live = "socket";
        poll(); // catch up on what happened before the socket was up
      } else if (frame.type === "campaign.progress" && frame.campaign === campaignId) {
        show(frame);
        schedule();
      }
    });
    socket.addEventListener("close", () => {
      const wasOpen = socketOpen;
      socketOpen = false;
      schedule();
      if (wasOpen && !finished) setTimeout(connect, 3000);
    });
  }

  connect();
  schedule();
})();
