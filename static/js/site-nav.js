// The site header's menu button: below 45rem the nav collapses behind it.
// Loaded in <head> (tiny, no defer) so the collapsed state applies before the first paint;
// without JavaScript the nav simply stays visible.
(() => {
  const root = document.documentElement;
  root.classList.add("js-nav");
  const narrow = window.matchMedia("(max-width: 45rem)");

  function setup() {
    const button = document.querySelector("[data-nav-toggle]");
    const nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!button || !nav) return;
    button.hidden = false;
    const setOpen = (open, { focusButton = false } = {}) => {
      button.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
      if (!open && focusButton) button.focus();
    };
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      setOpen(open);
      if (open) nav.querySelector("a, button")?.focus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" && narrow.matches) {
        setOpen(false, { focusButton: true });
      }
    });
    document.addEventListener("click", (event) => {
      if (narrow.matches && !nav.contains(event.target) && !button.contains(event.target)) setOpen(false);
    });
    narrow.addEventListener("change", () => setOpen(false));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
