// Sign-up: fill the hidden time-zone field from the browser's own setting
// (validated against the IANA database on the server; UTC when unknown).
(() => {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  for (const input of document.querySelectorAll("input[data-browser-time-zone]")) {
    if (!input.value && zone) input.value = zone;
  }
})();
