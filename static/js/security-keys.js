// The two-factor page's security keys (templates/registration/_security_keys.html). The library's
// script (otp_webauthn_register.js) registers the key with the browser and the server; then the
// name typed for it is sent with the key's id, and the page shows the recovery codes if it made any.
"use strict";

document.addEventListener("otp_webauthn.register_complete", (event) => {
  const form = document.getElementById("security-key-form");
  form.elements.key.value = event.detail.id;
  form.submit();
});

// Enter in the name field starts the registration rather than sending a name for no key.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id !== "security-key-form" || form.elements.key.value) return;
  event.preventDefault();
  document.getElementById("passkey-register-button")?.click();
});
