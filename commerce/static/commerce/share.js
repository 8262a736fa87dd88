// Share links on public pages (commerce/_share_links.html) and the promo code's copy button.
// Progressive enhancement: the plain links work without script; with it, "Copy link" copies
// the page's address, and "Share…" opens the device's own share sheet where there is one.
(function () {
  "use strict";

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http (a local run): a hidden textarea and the legacy copy command.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "absolute";
      area.style.left = "-9999px";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  // Copies, then says so (or says how to copy by hand) in the polite live region.
  function copyAndSay(button, text, status) {
    copy(text).then(
      function () {
        status.textContent = button.dataset.copied;
      },
      function () {
        status.textContent = button.dataset.copyFailed;
      }
    );
  }

  document.querySelectorAll("[data-share]").forEach(function (box) {
    var url = box.dataset.shareUrl;
    var text = box.dataset.shareText;
    var status = box.querySelector("[data-share-status]");
    var copyButton = box.querySelector("[data-share-copy]");
    if (copyButton) {
      copyButton.addEventListener("click", function () {
        copyAndSay(copyButton, url, status);
      });
    }
    var native = box.querySelector("[data-share-native]");
    if (native && navigator.share) {
      native.hidden = false;
      native.addEventListener("click", function () {
        navigator.share({ title: text, text: text, url: url }).catch(function () {});
      });
    }
  });

  document.querySelectorAll("[data-copy-code]").forEach(function (button) {
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    button.addEventListener("click", function () {
      copyAndSay(button, button.dataset.copyCode, status);
    });
  });
})();
