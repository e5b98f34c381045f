/* Shared page behaviour: form validation and messages, segmented controls, password toggles, copy buttons,
   the cooldown countdown and the sign-out button. No inline handlers: everything is wired here by data-* hooks. */
(function () {
  "use strict";
  const CG = window.CG;
  const t = CG.t;

  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
  const PHONE = /^\+?[0-9]{8,15}$/;

  function isShown(element) {
    return !element.closest("[hidden]");
  }

  function compactPhone(value) {
    return value.replace(/[\s()-]/g, "");
  }

  function isAccount(value) {
    return value.includes("@") ? EMAIL.test(value) : PHONE.test(compactPhone(value));
  }

  function errorSlot(input) {
    return document.getElementById(input.id + "-error");
  }

  function setFieldError(input, message) {
    const slot = errorSlot(input);
    const group = input.closest(".input-group");
    input.setAttribute("aria-invalid", message ? "true" : "false");
    if (group) group.classList.toggle("is-invalid", Boolean(message));
    if (!slot) return;
    slot.textContent = message || "";
    slot.hidden = !message;
  }

  function showStatus(element, message, kind) {
    if (!element) return;
    element.textContent = message || "";
    element.hidden = !message;
    element.classList.toggle("is-success", kind === "success");
  }

  function clearErrors(form) {
    form.querySelectorAll("input, select").forEach((input) => {
      if (input.id) setFieldError(input, "");
    });
    showStatus(form.querySelector(".form-status"), "");
  }

  /** Check one visible input against its attributes; return the message, or "" when it is fine. */
  function problemOf(input) {
    const value = input.value.trim();
    const isCode = input.name === "code";
    if (!value) return input.required || isCode ? t(isCode ? "validate.code" : "validate.required") : "";
    if (isCode && !/^[0-9]{6}$/.test(value)) return t("validate.code");
    if (input.type === "email" && !EMAIL.test(value)) return t("validate.email");
    if (input.type === "tel" && !PHONE.test(compactPhone(value))) return t("validate.phone");
    if ((input.name === "account" || input.name === "target") && !isAccount(value)) return t("validate.account");
    if (input.minLength > 0 && input.value.length < input.minLength) return t("validate.password_short");
    const match = input.dataset.match && document.getElementById(input.dataset.match);
    if (match && match.value !== input.value) return t("validate.password_mismatch");
    return "";
  }

  /** Validate the visible fields of a form; mark problems and focus the first one. Return true when valid. */
  function validate(form) {
    clearErrors(form);
    let first = null;
    form.querySelectorAll("input[id], select[id]").forEach((input) => {
      if (input.readOnly || input.type === "radio" || !isShown(input)) return;
      const problem = problemOf(input);
      if (!problem) return;
      setFieldError(input, problem);
      if (!first) first = input;
    });
    if (first) first.focus();
    return first === null;
  }

  /** Put a server error next to the field it concerns (by its `field` or by the code), else in the form status. */
  function showError(form, error, fieldsByCode) {
    const names = [];
    if (error.data && error.data.field) names.push(error.data.field);
    if (fieldsByCode && fieldsByCode[error.code]) names.push(...fieldsByCode[error.code]);
    for (const name of names) {
      const input = Array.from(form.querySelectorAll('[name="' + name + '"]')).find(isShown);
      if (input && input.id) {
        setFieldError(input, error.message);
        input.focus();
        return;
      }
    }
    showStatus(form.querySelector(".form-status"), error.message || t("error.internal_error"));
  }

  function setBusy(button, busy) {
    if (!button) return;
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.textContent = busy ? t("common.busy") : button.dataset.label;
  }

  /** Run `action` with the form's submit button busy; errors land in the form. */
  async function submitting(form, action, fieldsByCode) {
    const button = form.querySelector('[type="submit"]');
    setBusy(button, true);
    try {
      await action();
    } catch (error) {
      if (!(error instanceof CG.ApiError)) throw error;
      showError(form, error, fieldsByCode);
    } finally {
      setBusy(button, false);
    }
  }

  /** Disable a button for `seconds`, showing the remaining time; restore its label afterwards. */
  function countdown(button, seconds) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    const ends = Date.now() + seconds * 1000;
    clearInterval(Number(button.dataset.timer || 0));
    const tick = () => {
      const left = Math.ceil((ends - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(Number(button.dataset.timer));
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = t("code.resend_in", { seconds: left });
    };
    tick();
    button.dataset.timer = String(setInterval(tick, 250));
  }

  /** Show the panels `[data-panel="<name>:<value>"]` of the checked option of each segmented control. */
  function syncSegmented(fieldset) {
    const name = fieldset.dataset.segmented;
    const checked = fieldset.querySelector("input:checked");
    document.querySelectorAll('[data-panel^="' + name + ':"]').forEach((panel) => {
      panel.hidden = !checked || panel.dataset.panel !== name + ":" + checked.value;
    });
    fieldset.dispatchEvent(new CustomEvent("cg:segment", { bubbles: true, detail: checked && checked.value }));
  }

  function wireSegmented() {
    document.querySelectorAll("[data-segmented]").forEach((fieldset) => {
      fieldset.addEventListener("change", () => syncSegmented(fieldset));
      syncSegmented(fieldset);
    });
  }

  function wirePasswordToggles() {
    document.querySelectorAll("[data-toggle-password]").forEach((button) => {
      button.addEventListener("click", () => {
        const input = document.getElementById(button.dataset.togglePassword);
        const show = input.type === "password";
        input.type = show ? "text" : "password";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        button.setAttribute("aria-label", t(show ? "common.hide_password" : "common.show_password"));
        button.textContent = t(show ? "common.hide" : "common.show");
      });
    });
  }

  async function copyText(input) {
    try {
      await navigator.clipboard.writeText(input.value);
      return true;
    } catch (_denied) {
      input.focus();
      input.select();
      return document.execCommand && document.execCommand("copy");
    }
  }

  function wireCopyButtons() {
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-copy]");
      if (!button) return;
      const status = document.getElementById(button.dataset.copyStatus);
      const copied = await copyText(document.getElementById(button.dataset.copy));
      if (status) status.textContent = t(copied ? "common.copied" : "common.copy_failed");
    });
  }

  /** Sign-out buttons: `data-sign-out` names the endpoint (the dashboard has its own), then go to sign in. */
  function wireSignOut() {
    document.querySelectorAll("[data-sign-out]").forEach((button) => {
      button.addEventListener("click", async () => {
        setBusy(button, true);
        try {
          await CG.api("POST", button.dataset.signOut || "/api/auth/logout");
        } catch (_ignored) {
          // Signed out already or the session is gone: either way the sign-in page is the right place.
        }
        window.location.assign("/login");
      });
    });
  }

  CG.ui = {
    isShown, isAccount, compactPhone, setFieldError, showStatus, clearErrors, validate, showError, setBusy,
    submitting, countdown,
  };

  wireSegmented();
  wirePasswordToggles();
  wireCopyButtons();
  wireSignOut();
})();
