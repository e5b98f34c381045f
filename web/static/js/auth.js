/* Sign in, register and forgot password: the forms post JSON to the Auth API (docs/API.md).
   The "send code" buttons are type="button": they request a code and count down, and never submit a form. */
(function () {
  "use strict";
  const CG = window.CG;
  const ui = CG.ui;
  const t = CG.t;

  // Server error codes that belong to one input (by its name), so the message appears next to it.
  const FIELDS_BY_CODE = {
    invalid_email: ["email", "account", "target"],
    invalid_phone: ["phone", "account", "target"],
    already_registered: ["email", "phone"],
    weak_password: ["password"],
    invalid_credentials: ["password", "code"],
    not_admin: ["account"],
    invalid_code: ["code"],
    code_required: ["code"],
    invalid_invite_code: ["invite_code"],
  };

  function byId(id) {
    return document.getElementById(id);
  }

  /** The body fields naming an account: `email` when the value has an @, else `phone`. */
  function identity(value) {
    const trimmed = value.trim();
    return trimmed.includes("@") ? { email: trimmed } : { phone: ui.compactPhone(trimmed) };
  }

  function targetValue(value) {
    const trimmed = value.trim();
    return trimmed.includes("@") ? trimmed : ui.compactPhone(trimmed);
  }

  function goTo(path) {
    window.location.assign(path && path.startsWith("/") && !path.startsWith("//") ? path : "/");
  }

  // --- send code ----------------------------------------------------------------------------------------------
  async function sendCode(button) {
    const row = button.closest("[data-code-row]");
    const codeInput = row.querySelector('input[name="code"]');
    const status = byId(codeInput.id + "-status");
    const target = button.dataset.target.split(" ").map(byId).find((input) => input && ui.isShown(input));
    ui.setFieldError(codeInput, "");
    status.textContent = "";
    const value = target ? target.value.trim() : "";
    if (!value || !ui.isAccount(value)) {
      ui.setFieldError(target, t(value ? "validate.account" : "code.need_target"));
      target.focus();
      return;
    }
    ui.setFieldError(target, "");
    button.disabled = true;
    button.textContent = t("code.sending");
    try {
      const data = await CG.api("POST", "/api/auth/code", { target: targetValue(value), purpose: button.dataset.purpose });
      ui.countdown(button, Number(data.cooldown) || 60);
      status.textContent = t(value.includes("@") ? "code.sent_email" : "code.sent_phone");
      status.classList.add("hint-success");
      codeInput.focus();
    } catch (error) {
      if (!(error instanceof CG.ApiError)) throw error;
      button.disabled = false;
      button.textContent = button.dataset.label;
      if (error.code === "code_cooldown") {
        // Not a mistake in any field: say so next to the button, which counts down to the next try.
        if (error.data.retry_after) ui.countdown(button, Number(error.data.retry_after));
        status.textContent = error.message;
        status.classList.remove("hint-success");
        return;
      }
      const onTarget = ["invalid_email", "invalid_phone", "delivery_unavailable"].includes(error.code);
      ui.setFieldError(onTarget ? target : codeInput, error.message);
    }
  }

  document.querySelectorAll("[data-send-code]").forEach((button) => {
    button.dataset.label = button.textContent;
    button.addEventListener("click", () => sendCode(button));
  });

  // --- sign in ------------------------------------------------------------------------------------------------
  const loginForm = byId("login-form");
  if (loginForm) {
    loginForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!ui.validate(loginForm)) return;
      const method = loginForm.querySelector('input[name="login-method"]:checked');
      const body = identity(byId("login-account").value);
      if (method && method.value === "code") body.code = byId("login-code").value.trim();
      else body.password = byId("login-password").value;
      ui.submitting(loginForm, async () => {
        await CG.api("POST", loginForm.dataset.endpoint || "/api/auth/login", body);
        goTo(loginForm.dataset.next);
      }, FIELDS_BY_CODE);
    });
  }

  // --- register -----------------------------------------------------------------------------------------------
  const registerForm = byId("register-form");
  if (registerForm) {
    const codeRow = registerForm.querySelector("[data-code-row]");
    const syncCodeRow = () => {
      const method = registerForm.querySelector('input[name="register-method"]:checked').value;
      codeRow.hidden = registerForm.dataset[method === "phone" ? "codePhone" : "codeEmail"] !== "true";
    };
    registerForm.addEventListener("cg:segment", syncCodeRow);
    syncCodeRow();
    registerForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!ui.validate(registerForm)) return;
      const phone = registerForm.querySelector('input[name="register-method"]:checked').value === "phone";
      const body = phone
        ? { phone: ui.compactPhone(byId("register-phone").value.trim()) }
        : { email: byId("register-email").value.trim() };
      body.password = byId("register-password").value;
      body.lang = registerForm.dataset.lang;
      if (!codeRow.hidden) body.code = byId("register-code").value.trim();
      const invite = byId("register-invite").value.trim();
      if (invite) body.invite_code = invite;
      ui.submitting(registerForm, async () => {
        await CG.api("POST", "/api/auth/register", body);
        goTo(registerForm.dataset.next);
      }, FIELDS_BY_CODE);
    });
  }

  // --- forgot password ----------------------------------------------------------------------------------------
  const forgotForm = byId("forgot-form");
  if (forgotForm) {
    forgotForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!ui.validate(forgotForm)) return;
      const body = {
        target: targetValue(byId("forgot-account").value),
        code: byId("forgot-code").value.trim(),
        password: byId("forgot-password").value,
      };
      ui.submitting(forgotForm, async () => {
        await CG.api("POST", "/api/auth/reset", body);
        forgotForm.hidden = true;
        const done = byId("forgot-done");
        done.hidden = false;
        done.setAttribute("tabindex", "-1");
        done.focus();
      }, FIELDS_BY_CODE);
    });
  }
})();
