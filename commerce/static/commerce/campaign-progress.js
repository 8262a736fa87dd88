// Live delivery progress on a sending campaign's page: polls the progress endpoint every
// two seconds and updates the bar and the counts; reloads once the campaign has finished.
(function () {
  "use strict";
  const section = document.getElementById("campaign-progress");
  if (!section) return;
  const url = section.dataset.progressUrl;
  const bar = document.getElementById("progress-bar");
  const status = document.getElementById("campaign-status");

  async function tick() {
    let data;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (_error) {
      setTimeout(tick, 5000); // offline or restarting: try again a little later
      return;
    }
    const c = data.counts;
    const done = c.sent + c.failed + c.skipped;
    bar.max = c.total;
    bar.value = done;
    const label = section.querySelector("label[for=progress-bar]");
    for (const [key, value] of Object.entries({ sent: c.sent, pending: c.pending + c.sending, failed: c.failed, skipped: c.skipped, opened: c.opened, clicked: c.clicked })) {
      const cell = section.querySelector(`[data-count="${key}"]`);
      if (cell) cell.textContent = String(value);
    }
    if (status) status.textContent = data.status_label;
    if (data.status !== "sending") {
      window.location.reload();
      return;
    }
    if (label) label.dataset.done = String(done);
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 2000);
})();
