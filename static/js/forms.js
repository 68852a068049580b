// Form checks the browser does before sending (bad dates typed into date pickers...). The server
// checks everything again; this only keeps what the user typed from being sent as something else.
"use strict";

(function () {
  // --- Forms the server checks -------------------------------------------------------------------
  // Forms marked data-server-checks have no `novalidate` in the page, so that without JavaScript the
  // browser itself refuses a date that does not exist. With JavaScript the server's messages, next to
  // each field, are the ones to show: the browser's own bubbles are turned off.

  function serverChecks(root) {
    if (!root.querySelectorAll) return;
    if (root.matches("form[data-server-checks]")) root.noValidate = true;
    root.querySelectorAll("form[data-server-checks]").forEach((form) => { form.noValidate = true; });
  }

  // --- What was typed but cannot be sent -----------------------------------------------------------
  // Chromium sends an empty value for a date input whose typed text is not a date (02/31/2026), and
  // for a number input holding "1e": the server would see an empty field, or keep none. Such an input
  // has validity.badInput; the submit stops there, with a message next to the field.

  function labelOf(input) {
    const label = input.labels && input.labels[0];
    const text = label ? label.textContent : input.getAttribute("aria-label") || input.name;
    return text.replace(/[\s:*]+$/, "").trim();
  }

  function badInputMessage(input) {
    const name = labelOf(input);
    switch (input.type) {
      case "date":
        return `Enter a real date for “${name}”: the date typed is incomplete or does not exist.`;
      case "datetime-local":
        return `Enter a real date and time for “${name}”: the date typed is incomplete or does not exist.`;
      case "number":
        return `Enter a number for “${name}”.`;
      default:
        return `Check “${name}”: what is typed there is not a valid value.`;
    }
  }

  function clearError(input) {
    const error = document.getElementById(input.dataset.clientError || "");
    if (!error) return;
    error.remove();
    const describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== error.id);
    if (describedBy.length) input.setAttribute("aria-describedby", describedBy.join(" "));
    else input.removeAttribute("aria-describedby");
    if (input.dataset.clientInvalid) input.removeAttribute("aria-invalid");
    delete input.dataset.clientError;
    delete input.dataset.clientInvalid;
  }

  function showError(input, message) {
    clearError(input);
    const error = document.createElement("ul");
    error.className = "errorlist client-error";
    error.id = `${input.id || input.name}-client-error`;
    error.setAttribute("role", "alert");
    const item = document.createElement("li");
    item.textContent = message;
    error.appendChild(item);
    input.insertAdjacentElement("beforebegin", error); // where the server puts a field's errors
    input.dataset.clientError = error.id;
    if (input.getAttribute("aria-invalid") !== "true") {
      input.setAttribute("aria-invalid", "true");
      input.dataset.clientInvalid = "1";
    }
    input.setAttribute("aria-describedby", [error.id, input.getAttribute("aria-describedby")].filter(Boolean).join(" "));
  }

  // The inputs a request sends: a form's; for htmx, also the enclosing form's unless it is a GET
  // from a field (suggestions as one types send that field alone).
  function inputsOf(element, verb) {
    if (element.tagName === "FORM") return Array.from(element.elements);
    const form = element.form || element.closest("form");
    if (form && verb !== "get") return Array.from(form.elements);
    return element.validity ? [element] : [];
  }

  // Returns true (and shows why) when something typed cannot be sent.
  function refuseBadInput(element, verb) {
    const bad = inputsOf(element, verb).filter((input) => input.validity && input.validity.badInput);
    if (!bad.length) return false;
    bad.forEach((input) => showError(input, badInputMessage(input)));
    bad[0].focus();
    return true;
  }

  // Capture phase: before htmx's own listeners (on the form) and before the browser sends a plain form.
  document.addEventListener("submit", (event) => {
    if (refuseBadInput(event.target)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Requests htmx starts without a submit (autosave on change, hx-post on a button...).
  for (const name of ["htmx:confirm", "htmx:beforeRequest"]) {
    document.addEventListener(name, (event) => {
      const detail = event.detail || {};
      const verb = (detail.verb || (detail.requestConfig && detail.requestConfig.verb) || "").toLowerCase();
      if (detail.elt && refuseBadInput(detail.elt, verb)) event.preventDefault();
    }, true);
  }

  // A corrected field loses its message.
  for (const name of ["input", "change"]) {
    document.addEventListener(name, (event) => {
      const input = event.target;
      if (input.dataset && input.dataset.clientError && !input.validity.badInput) clearError(input);
    }, true);
  }

  // --- Options that follow another field -----------------------------------------------------------
  // <select data-options-follow="kind">: only the options whose data-kind is the value chosen in the
  // form's "kind" field are offered (a measurement's units follow its kind); options without data-kind
  // only while nothing is chosen. The server refuses a mismatch all the same.

  function followOptions(select) {
    const controller = select.form && select.form.elements[select.dataset.optionsFollow];
    if (!controller) return;
    const chosen = controller.value;
    let first = null;
    for (const option of select.options) {
      const fits = option.dataset.kind ? option.dataset.kind === chosen : !chosen;
      option.hidden = !fits;
      option.disabled = !fits;
      if (fits && !first) first = option;
    }
    select.querySelectorAll("optgroup").forEach((group) => {
      group.hidden = !Array.from(group.children).some((option) => !option.hidden);
    });
    const selected = select.selectedOptions[0];
    if (first && (!selected || selected.disabled)) select.value = first.value;
  }

  function followAll(root) {
    if (!root.querySelectorAll) return;
    if (root.matches("select[data-options-follow]")) followOptions(root);
    root.querySelectorAll("select[data-options-follow]").forEach(followOptions);
  }

  document.addEventListener("change", (event) => {
    const field = event.target;
    if (!field.form || !field.name) return;
    field.form.querySelectorAll("select[data-options-follow]").forEach((select) => {
      if (select.dataset.optionsFollow === field.name) followOptions(select);
    });
  });

  // --- Now, and for every piece of page htmx (or anything else) adds later -------------------------

  function prepare(root) {
    serverChecks(root);
    followAll(root);
  }

  prepare(document.documentElement);
  // Synchronous with the insertion, before any click can reach the new content.
  new MutationObserver((records) => {
    for (const record of records) record.addedNodes.forEach(prepare);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
