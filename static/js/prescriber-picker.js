// The prescriber picker of a recommendation: choosing someone who neither prescribes the problem's
// medications nor is on the patient's care team asks for a confirmation before the form is sent,
// so the pharmacist never waits for the server to ask. Without JavaScript the confirmation box is
// always shown and the server asks instead (reviews/prescribers.py).
"use strict";
(function () {
  function parts(form) {
    const picker = form.querySelector("select[data-prescriber-picker]");
    const box = form.querySelector("input[data-prescriber-confirmation]");
    return picker && box ? { picker, box, row: box.closest(".fields > div") || box.parentElement } : null;
  }

  function needsConfirmation(picker) {
    const audience = picker.form.querySelector("select[name$='audience']");
    if (audience && audience.value !== "prescriber") return false;
    const option = picker.selectedOptions[0];
    return Boolean(option && option.dataset.needsConfirmation);
  }

  // The box shows only while the chosen prescriber needs it (or when the server flagged it).
  function sync(form) {
    const p = parts(form);
    if (!p) return;
    const flagged = p.row.querySelector(".errorlist");
    const needed = needsConfirmation(p.picker);
    p.row.style.display = needed || flagged ? "" : "none"; // the grid's display would override [hidden]
    if (!needed) p.box.checked = false;
  }

  function syncAll(root) {
    const forms = root.matches && root.matches("form") ? [root] : [...root.querySelectorAll("form")];
    forms.forEach((form) => {
      if (parts(form)) sync(form);
    });
  }

  document.addEventListener("change", (event) => {
    const form = event.target.form;
    if (form && parts(form)) sync(form);
  });

  // Capture phase: runs before htmx sends the form, and can stop it.
  document.addEventListener(
    "submit",
    (event) => {
      const p = parts(event.target);
      if (!p || !needsConfirmation(p.picker) || p.box.checked) return;
      const name = p.picker.selectedOptions[0].textContent.split(" — ")[0];
      const message = p.picker.dataset.confirmMessage.replace("This prescriber", name);
      if (window.confirm(message)) {
        p.box.checked = true;
        p.row.style.display = "";
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      p.picker.focus();
    },
    true,
  );

  document.addEventListener("htmx:load", (event) => syncAll(event.detail.elt));
  syncAll(document);
})();
