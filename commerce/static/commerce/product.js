// Product page: the displayed price follows the chosen options and quantity.
// Deltas come from data-price-deltas on each option <select> (set by BuyForm); amounts are
// formatted with Intl.NumberFormat in the page's language (same conventions as the server).
(function () {
  "use strict";
  var price = document.getElementById("live-price");
  var form = document.getElementById("buy-form");
  if (!price || !form || !window.Intl) return;
  var base = parseFloat(price.dataset.basePrice);
  var currency = price.dataset.currency;
  var language = price.dataset.language || document.documentElement.lang || "en";
  var locales = { en: "en-GB", fr: "fr-FR", de: "de-DE", es: "es-ES", ja: "ja-JP" };
  var format = new Intl.NumberFormat(locales[language] || language, {
    style: "currency",
    currency: currency,
  });
  function update() {
    var unit = base;
    form.querySelectorAll("select[data-price-deltas]").forEach(function (select) {
      var deltas = JSON.parse(select.dataset.priceDeltas || "{}");
      unit += parseFloat(deltas[select.value] || "0");
    });
    var quantityInput = form.querySelector('input[name="quantity"]');
    var quantity = Math.max(1, parseInt(quantityInput && quantityInput.value, 10) || 1);
    var text = format.format(unit * quantity);
    if (quantity > 1) text += " (" + quantity + " × " + format.format(unit) + ")";
    price.textContent = text;
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
