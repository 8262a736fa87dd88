// Studio product form: "Add option" / "Add value" / remove buttons for the option rows.
// Without JavaScript the page still offers one spare option row per save.
(() => {
  const root = document.querySelector("[data-option-rows]");
  if (!root) return;
  const list = root.querySelector("[data-option-list]");
  const optionTemplate = root.querySelector("[data-option-template]");
  const valueTemplate = root.querySelector("[data-value-template]");
  let nextOption = Math.max(-1, ...[...list.querySelectorAll("[data-option-row]")].map((r) => Number(r.dataset.optionIndex))) + 1;

  const fromTemplate = (template, replacements) => {
    let html = template.innerHTML;
    for (const [token, value] of Object.entries(replacements)) html = html.split(token).join(String(value));
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  };

  function wire(row) {
    for (const button of row.querySelectorAll("button[hidden]")) button.hidden = false;
    const kind = row.querySelector("[data-option-kind]");
    const sync = () => {
      const text = kind.value === "text";
      row.querySelector("[data-text-only]").hidden = !text;
      row.querySelector("[data-choice-only]").hidden = text;
    };
    kind.addEventListener("change", sync);
    sync();
  }

  function wireValue(value) {
    for (const button of value.querySelectorAll("button[hidden]")) button.hidden = false;
  }

  root.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.matches("[data-add-option]")) {
      const row = fromTemplate(optionTemplate, { __OPT__: nextOption++ });
      list.append(row);
      wire(row);
      for (const value of row.querySelectorAll("[data-option-value]")) wireValue(value);
      row.querySelector("input").focus();
    } else if (target.matches("[data-add-value]")) {
      const row = target.closest("[data-option-row]");
      const values = row.querySelector("[data-value-list]");
      const j = Number(values.dataset.nextValue || 0);
      values.dataset.nextValue = String(j + 1);
      const value = fromTemplate(valueTemplate, { __OPT__: row.dataset.optionIndex, __VAL__: j });
      values.append(value);
      wireValue(value);
      value.querySelector("input").focus();
    } else if (target.matches("[data-remove-value]")) {
      const row = target.closest("[data-option-row]");
      target.closest("[data-option-value]").remove();
      row.querySelector("[data-add-value]").focus();
    } else if (target.matches("[data-remove-option]")) {
      target.closest("[data-option-row]").remove();
      root.querySelector("[data-add-option]").focus();
    }
  });

  root.querySelector("[data-add-option]").hidden = false;
  for (const row of list.querySelectorAll("[data-option-row]")) wire(row);
  for (const value of list.querySelectorAll("[data-option-value]")) wireValue(value);
})();
