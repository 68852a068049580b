// What the pages do in the browser beyond htmx, so that nothing typed is ever lost and nothing moves
// under the user's hands:
// - autosave: forms marked data-autosave save each changed field by itself, one request at a time per
//   form; only the status and the record's version come back, never the fields (typing goes on while
//   a save is in flight, focus stays where the user put it);
// - drafts: what is typed in a form marked data-autosave or data-keep is kept in sessionStorage (this
//   tab only, gone when it closes) until it is saved, and offered back after a reload or a swap;
// - signed out: a save answered 401 keeps the page as it is and offers to sign in again in place; the
//   saves waiting are then sent again;
// - announcements: the server's "mtm:done" event (HX-Trigger-After-Settle) moves focus where it says
//   and announces what happened in a visible, polite live region.
(() => {
  "use strict";

  // --- CSRF ------------------------------------------------------------------------------------------

  function csrfToken() {
    const cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (cookie) return decodeURIComponent(cookie[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function useCsrfToken(token) {
    // Signing in again gives a new token: every form and htmx request must use it from now on.
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => { input.value = token; });
  }

  // --- Announcements -------------------------------------------------------------------------------

  function announce(message, tone = "ok") {
    const region = document.getElementById("announcer");
    if (!region || !message) return;
    region.dataset.tone = tone;
    region.textContent = "";
    // A new text node is what screen readers announce; the empty frame makes a repeat count as new.
    requestAnimationFrame(() => { region.textContent = message; });
    clearTimeout(region.hideTimer);
    region.hideTimer = setTimeout(() => { region.textContent = ""; }, 7000);
  }

  function focusWithoutJump(element) {
    if (!element) return;
    if (!element.matches("a, button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "nearest" });
  }

  // --- Signed out: sign in again without leaving the page -------------------------------------------

  const signIn = { waiting: [], replay: [] };

  function signedOut() {
    const banner = document.getElementById("signed-out");
    if (!banner) return Promise.reject(new Error("signed out"));
    if (banner.hidden) {
      banner.hidden = false; // role=alert: announced without taking the focus from what the user types
    }
    return new Promise((resolve) => signIn.waiting.push(resolve));
  }

  async function signInAgain(form) {
    const error = form.querySelector("[data-signin-error]");
    const button = form.querySelector("button[type=submit]");
    error.textContent = "";
    button.setAttribute("aria-disabled", "true");
    try {
      const body = new URLSearchParams(new FormData(form));
      body.set("csrfmiddlewaretoken", csrfToken());
      const response = await fetch(form.action, {
        method: "POST", body, credentials: "same-origin", redirect: "manual",
        headers: { "X-MTM-Signin": "1" },
      });
      if (response.type !== "opaqueredirect" && !response.redirected) {
        const answer = await response.json().catch(() => ({}));
        error.textContent = response.status === 429 || response.status === 403
          ? "Too many attempts: this account is locked for a while. Ask a colleague or try later."
          : answer.error || "That password did not match. Try again.";
        form.querySelector("input[type=password]").select();
        return;
      }
    } catch (failure) {
      error.textContent = "No connection to the server. Try again in a moment.";
      return;
    } finally {
      button.removeAttribute("aria-disabled");
    }
    useCsrfToken(csrfToken());
    form.reset();
    document.getElementById("signed-out").hidden = true;
    announce("Signed in again. What you typed is being saved.");
    signIn.waiting.splice(0).forEach((resolve) => resolve());
    signIn.replay.splice(0).forEach((again) => again());
  }

  // --- Drafts ---------------------------------------------------------------------------------------

  function formKey(form) {
    return form.dataset.keep || form.id || form.getAttribute("action") || "";
  }

  function draftKey(field) {
    return `mtm-draft:${location.pathname}:${formKey(field.form)}:${field.name}`;
  }

  function keeps(field) {
    return field && field.form && field.name && !field.disabled && field.matches("input, select, textarea")
      && !["hidden", "password", "file", "submit", "button", "reset", "image"].includes(field.type)
      && field.form.matches("[data-autosave], [data-keep]");
  }

  function valueOf(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked ? field.value : "";
    return field.value;
  }

  function setValue(field, value) {
    if (field.type === "checkbox" || field.type === "radio") field.checked = value === field.value;
    else field.value = value;
  }

  function savedValue(field) {
    // What the server has: what the page was rendered with, or what the last save stored.
    if ("saved" in field.dataset) return field.dataset.saved;
    if (field.tagName === "SELECT") {
      const chosen = [...field.options].find((option) => option.defaultSelected);
      return chosen ? chosen.value : (field.options[0] ? field.options[0].value : "");
    }
    if (field.type === "checkbox" || field.type === "radio") return field.defaultChecked ? field.value : "";
    return field.defaultValue;
  }

  function draftWrite(field) {
    try {
      const value = valueOf(field);
      if (value === savedValue(field)) sessionStorage.removeItem(draftKey(field));
      else sessionStorage.setItem(draftKey(field), JSON.stringify({ value, base: savedValue(field) }));
    } catch (full) { /* storage full or refused: the page still holds the text */ }
  }

  function draftRead(field) {
    try { return JSON.parse(sessionStorage.getItem(draftKey(field)) || "null"); } catch (bad) { return null; }
  }

  function draftsForget(form) {
    [...form.elements].filter(keeps).forEach((field) => sessionStorage.removeItem(draftKey(field)));
  }

  function offerBack(field, draft) {
    // The record changed since this was typed (a colleague?): never overwrite it silently.
    if (field.parentElement.querySelector(".draft-offer")) return;
    const offer = document.createElement("span");
    offer.className = "draft-offer small";
    offer.append("Not saved: you had typed “", draft.value, "”. ");
    const use = document.createElement("button");
    use.type = "button";
    use.className = "link";
    use.textContent = "Use it";
    use.addEventListener("click", () => {
      setValue(field, draft.value);
      offer.remove();
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "link";
    drop.textContent = "Discard";
    drop.addEventListener("click", () => { sessionStorage.removeItem(draftKey(field)); offer.remove(); });
    offer.append(use, drop);
    field.insertAdjacentElement("afterend", offer);
  }

  function draftsRestore(root) {
    let restored = 0;
    root.querySelectorAll("form[data-autosave], form[data-keep]").forEach((form) => {
      [...form.elements].filter(keeps).forEach((field) => {
        const draft = draftRead(field);
        if (!draft || draft.value === valueOf(field)) return;
        if (draft.base !== valueOf(field)) { offerBack(field, draft); return; }
        setValue(field, draft.value);
        restored += 1;
        if (form.matches("[data-autosave]")) autosaver(form).schedule(field.name, 0);
      });
    });
    return restored;
  }

  // --- Autosave -------------------------------------------------------------------------------------

  const DELAY_TYPING = 1200; // ms after the last key press; leaving the field saves at once

  class Autosaver {
    constructor(form) {
      this.form = form;
      this.pending = new Set();
      this.usual = false;
      this.timer = null;
      this.queue = Promise.resolve();
      this.status = form.querySelector("[data-save-status]");
    }

    schedule(name, delay) {
      this.pending.add(name);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), delay);
      this.show("Unsaved changes", "pending");
    }

    flush() {
      clearTimeout(this.timer);
      // One request at a time per form: each carries the version the previous one returned.
      this.queue = this.queue.then(() => this.send()).catch(() => {});
      return this.queue;
    }

    show(text, tone) {
      if (!this.status) return;
      this.status.textContent = text;
      this.status.dataset.tone = tone;
    }

    async send() {
      if (!this.pending.size && !this.usual) return;
      if (!this.form.dataset.version) {
        // The first save creates the record with what the page shows, suggestions included (what
        // the list says a medication is for), as the user sees it.
        [...this.form.elements].filter(keeps).forEach((field) => { if (valueOf(field)) this.pending.add(field.name); });
      }
      const names = [...this.pending];
      const usual = this.usual;
      this.pending.clear();
      this.usual = false;
      const body = new FormData();
      body.set("csrfmiddlewaretoken", csrfToken());
      body.set("version", this.form.dataset.version || "");
      body.set("fields", names.join(","));
      if (usual) body.set("usual", "1");
      const sent = {};
      names.forEach((name) => {
        const field = this.form.elements[name];
        sent[name] = valueOf(field);
        body.set(name, sent[name]);
      });
      this.show("Saving…", "pending");
      let response;
      try {
        response = await fetch(this.form.action, {
          method: "POST", body, credentials: "same-origin",
          headers: { "X-MTM-Autosave": "1", Accept: "application/json" },
        });
      } catch (offline) {
        names.forEach((name) => this.pending.add(name));
        this.usual = this.usual || usual;
        this.show("Not saved yet: no connection. Trying again…", "error");
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), 5000);
        return;
      }
      if (response.status === 401) {
        names.forEach((name) => this.pending.add(name));
        this.usual = this.usual || usual;
        this.show("Not saved yet: signed out", "error");
        await signedOut();
        return this.send();
      }
      const answer = await response.json().catch(() => ({}));
      if (response.status === 503) {
        // The database was away for a moment (mtm.views.server_error): nothing was saved; try again.
        names.forEach((name) => this.pending.add(name));
        this.usual = this.usual || usual;
        this.show("Not saved yet: the server could not reach its database. Trying again…", "error");
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), 5000);
        return;
      }
      if (response.ok) {
        this.saved(answer, sent, usual);
        return;
      }
      if (answer.conflict) {
        this.show("Not saved: a colleague changed these answers. Reload the page to see theirs; what you typed is kept.", "error");
        announce("Not saved: a colleague changed these answers meanwhile.", "error");
        return;
      }
      const messages = Object.entries(answer.errors || {}).map(([name, errors]) => {
        const field = this.form.elements[name];
        if (field) field.setAttribute("aria-invalid", "true");
        const label = field && field.closest("label") ? field.closest("label").firstChild.textContent.trim() : "";
        return (label ? `${label}: ` : "") + errors.map((e) => e.message).join(" ");
      });
      this.show(`Not saved: ${messages.join(" ") || `the server answered ${response.status}`}`, "error");
    }

    saved(answer, sent, usual) {
      this.form.dataset.version = answer.version;
      const version = this.form.querySelector("input[name=version]");
      if (version) version.value = answer.version;
      Object.entries(sent).forEach(([name, value]) => {
        const field = this.form.elements[name];
        field.dataset.saved = value;
        field.removeAttribute("aria-invalid");
        // Typed on since this was sent? Then its draft stays, and its own save follows.
        if (valueOf(field) === value) sessionStorage.removeItem(draftKey(field));
      });
      if (usual) {
        // "All fine" answered the questions left blank; the user's own answers stay as they are.
        Object.entries(answer.values || {}).forEach(([name, value]) => {
          const field = this.form.elements[name];
          if (field && field.tagName === "SELECT" && field.value === "" && value) {
            field.value = value;
            field.dataset.saved = value;
          }
        });
      }
      const answered = this.form.querySelector("[data-answered]");
      if (answered && answer.answered !== undefined) answered.textContent = `${answer.answered}/6 answered`;
      this.show(this.pending.size ? "Unsaved changes" : "Saved", this.pending.size ? "pending" : "ok");
    }
  }

  const savers = new WeakMap();
  function autosaver(form) {
    if (!savers.has(form)) savers.set(form, new Autosaver(form));
    return savers.get(form);
  }

  // --- Wiring ---------------------------------------------------------------------------------------

  document.addEventListener("input", (event) => {
    const field = event.target;
    if (!keeps(field)) return;
    draftWrite(field);
    if (field.form.matches("[data-autosave]") && field.tagName !== "SELECT") {
      autosaver(field.form).schedule(field.name, DELAY_TYPING);
    }
  });

  document.addEventListener("change", (event) => {
    const field = event.target;
    if (!keeps(field)) return;
    draftWrite(field);
    if (field.form.matches("[data-autosave]")) {
      autosaver(field.form).schedule(field.name, 0);
    }
  });

  document.addEventListener("click", (event) => {
    const usual = event.target.closest("[data-usual]");
    if (usual && usual.form && usual.form.matches("[data-autosave]")) {
      event.preventDefault();
      const saver = autosaver(usual.form);
      saver.usual = true;
      saver.pending.add("purpose"); // what it is for, as shown (the list's indication until changed)
      saver.flush();
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "signin-again-form") {
      event.preventDefault();
      signInAgain(form);
    } else if (form.matches("[data-autosave]") && !event.submitter?.matches("[data-usual]")) {
      // Enter in a field: save now, stay on the page.
      event.preventDefault();
      [...form.elements].filter(keeps).forEach((field) => {
        if (valueOf(field) !== savedValue(field)) autosaver(form).pending.add(field.name);
      });
      autosaver(form).flush();
    }
  });

  // Leaving the page with answers still unsaved: ask first.
  window.addEventListener("beforeunload", (event) => {
    const unsaved = [...document.querySelectorAll("form[data-autosave]")].some(
      (form) => savers.has(form) && (savers.get(form).pending.size || savers.get(form).usual),
    );
    if (unsaved) event.preventDefault();
  });

  // A select that applies itself (e.g. whose follow-ups the queue shows): choosing sends its form.
  document.addEventListener("change", (event) => {
    const select = event.target.closest("select[data-submit-on-change]");
    if (select && select.form) select.form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const restored = draftsRestore(document);
    if (restored) announce(`Restored ${restored} unsaved ${restored === 1 ? "entry" : "entries"} you typed earlier; saving now.`);
  });

  // htmx: keep what is typed across swaps; sign in again on 401; announce and move focus.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, requestConfig } = event.detail;
    if (xhr.status === 401) {
      event.detail.shouldSwap = false;
      const again = requestConfig.triggeringEvent && requestConfig.triggeringEvent.submitter;
      const source = requestConfig.elt;
      signIn.replay.push(() => (again ? again.click() : htmx.trigger(source, source.tagName === "FORM" ? "submit" : "click")));
      signedOut();
      return;
    }
    // The form that was sent and saved starts empty again; its draft is done with.
    const form = requestConfig.elt && requestConfig.elt.closest("form");
    if (form && xhr.status < 300) draftsForget(form);
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    draftsRestore(event.detail.elt.parentElement || document);
  });

  document.addEventListener("htmx:responseError", (event) => {
    const { xhr } = event.detail;
    if (xhr.status !== 503) return;
    let detail = "Nothing was saved: the server could not reach its database. Try again in a moment.";
    try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (notJson) { /* the default */ }
    announce(detail, "error");
  });

  document.addEventListener("htmx:sendError", () => {
    announce("Not sent: no connection to the server. Try again in a moment.", "error");
  });

  document.addEventListener("mtm:done", (event) => {
    const { message, focus } = event.detail || {};
    if (focus) focusWithoutJump(document.querySelector(focus));
    announce(message);
  });
})();
