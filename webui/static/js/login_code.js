/* Sign in with a one-time code from the WeChat official account (POST /api/auth/login-code). */
(function () {
  "use strict";
  const CG = window.CG;
  const form = document.getElementById("code-login-form");
  if (!form) return;
  const input = document.getElementById("code-login-code");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value.replace(/[\s-]/g, "");
    if (!/^[0-9]{8}$/.test(code)) {
      CG.ui.setFieldError(input, CG.t("codelogin.invalid"));
      input.focus();
      return;
    }
    CG.ui.setFieldError(input, "");
    CG.ui.submitting(form, async () => {
      await CG.api("POST", "/api/auth/login-code", { code: code });
      const next = form.dataset.next;
      window.location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    }, { invalid_code: ["code"], too_many_attempts: ["code"] });
  });
})();
