// Small progressive enhancements for plain forms on the chat pages.

// <form data-confirm="Are you sure?"> asks before submitting (destructive actions).
export function bindConfirmations(root) {
  root.querySelectorAll("form[data-confirm]:not([data-confirm-bound])").forEach((form) => {
    form.dataset.confirmBound = "";
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

bindConfirmations(document);
