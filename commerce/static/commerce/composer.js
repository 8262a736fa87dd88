// Offer composer: add/remove line rows (a Django formset, prefix "line"), a running total,
// the deposit as an amount, the delivery window and a preview of the buyer's card.
// Money and dates use Intl in the page's language; nothing here is sent to the server.
(function () {
  "use strict";
  var form = document.getElementById("offer-composer");
  if (!form) return;
  var locales = { en: "en-GB", fr: "fr-FR", de: "de-DE", es: "es-ES", ja: "ja-JP" };
  var language = form.dataset.language || "en";
  var locale = locales[language] || language;
  var linesBox = document.getElementById("offer-lines");
  var template = document.getElementById("offer-line-template");
  var totalForms = form.querySelector('input[name="line-TOTAL_FORMS"]');
  var maxForms = parseInt(form.querySelector('input[name="line-MAX_NUM_FORMS"]').value, 10) || 30;
  var field = function (name) { return form.querySelector('[name="' + name + '"]'); };

  function number(el) {
    var value = parseFloat(String(el && el.value || "").replace(",", "."));
    return isFinite(value) ? value : 0;
  }
  function money(amount) {
    var currency = field("currency").value || "EUR";
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).format(amount);
    } catch (e) {
      return amount.toFixed(2) + " " + currency;
    }
  }
  function date(days) {
    var today = new Date(form.dataset.today + "T12:00:00");
    today.setDate(today.getDate() + days);
    return new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric" }).format(today);
  }
  function renumber() {
    var rows = linesBox.querySelectorAll("[data-line]");
    rows.forEach(function (row, index) {
      row.querySelectorAll("input, label, button").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/line-(\d+|__prefix__)-/, "line-" + index + "-"));
        });
      });
      var label = row.querySelector("label");
      if (label) label.textContent = label.textContent.replace(/\s*(\d+|__number__)\s*$/, " " + (index + 1));
      row.querySelector(".remove-line").hidden = rows.length === 1;
    });
    totalForms.value = rows.length;
    document.getElementById("add-line").hidden = rows.length >= maxForms;
  }
  function update() {
    var items = 0;
    var previewLines = document.getElementById("preview-lines");
    previewLines.textContent = "";
    linesBox.querySelectorAll("[data-line]").forEach(function (row) {
      var description = row.querySelector('input[name$="-description"]').value.trim();
      var quantity = Math.max(1, parseInt(row.querySelector('input[name$="-quantity"]').value, 10) || 1);
      var lineTotal = quantity * number(row.querySelector('input[name$="-unit_price"]'));
      items += lineTotal;
      if (description || lineTotal) {
        var li = document.createElement("li");
        li.textContent = (quantity > 1 ? quantity + " × " : "") + (description || "…") + " — " + money(lineTotal);
        previewLines.appendChild(li);
      }
    });
    var shipping = number(field("shipping_amount"));
    var total = items + shipping;
    var percent = Math.min(90, Math.max(0, parseInt(field("deposit_percent").value, 10) || 0));
    var deposit = Math.round(total * percent) / 100;
    document.getElementById("offer-total").textContent = money(total);
    document.getElementById("deposit-amount").textContent = money(deposit);
    document.getElementById("balance-amount").textContent = money(total - deposit);
    document.getElementById("preview-total").textContent = money(total);
    document.getElementById("preview-shipping").textContent = shipping ? "+ " + money(shipping) : "";
    var depositLine = document.getElementById("preview-deposit");
    depositLine.textContent = percent
      ? depositLine.dataset.template
          .replace("{amount}", money(deposit))
          .replace("{percent}", new Intl.NumberFormat(locale, { style: "percent" }).format(percent / 100))
      : "";
    var lead = parseInt(field("lead_time_days").value, 10) || 0;
    var low = parseInt(field("transit_days_min").value, 10) || 0;
    var high = Math.max(low, parseInt(field("transit_days_max").value, 10) || 0);
    var estimate = document.getElementById("delivery-estimate");
    var text = estimate.dataset.template.replace("{start}", date(lead + low)).replace("{end}", date(lead + high));
    estimate.textContent = text;
    document.getElementById("preview-delivery").textContent = text;
  }
  document.getElementById("add-line").addEventListener("click", function () {
    var index = linesBox.querySelectorAll("[data-line]").length;
    if (index >= maxForms) return;
    var html = template.innerHTML.replace(/__prefix__/g, index).replace(/__number__/g, index + 1);
    linesBox.insertAdjacentHTML("beforeend", html);
    renumber();
    var rows = linesBox.querySelectorAll("[data-line]");
    rows[rows.length - 1].querySelector("input").focus();
    update();
  });
  linesBox.addEventListener("click", function (event) {
    var button = event.target.closest(".remove-line");
    if (!button) return;
    button.closest("[data-line]").remove();
    renumber();
    update();
    document.getElementById("add-line").focus();
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  renumber();
  update();
})();
