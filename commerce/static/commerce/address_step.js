// Pay page, address step: the new-address fields only count when "A new address" is chosen.
(function () {
  "use strict";
  var form = document.getElementById("address-step");
  if (!form) return;
  var fields = document.getElementById("new-address-fields");
  function sync() {
    var chosen = form.querySelector('input[name="address"]:checked');
    var isNew = !chosen || chosen.value === "new";
    fields.hidden = !isNew;
    fields.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.disabled = !isNew;
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "address") sync();
  });
  sync();
})();
