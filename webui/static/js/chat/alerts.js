/* Error cards in the user's language that say what happened and what to do next: when a quota frees (and, when
   another model has quota, a switch to it that resends), the pricing page, the reset button (only with reset
   chances left), sign in again, start a new chat, the server's own reason for refused input, and a retry only
   where one can work (a network or upstream failure, never a refusal). */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon } = chat;

  function linkButton(href, label, primary) {
    return el("a", { class: "btn btn-small " + (primary ? "btn-primary" : "btn-secondary"), href: href, text: label });
  }

  function actionButton(label, primary, action, attrs) {
    const button = el("button", Object.assign({
      type: "button", class: "btn btn-small " + (primary ? "btn-primary" : "btn-secondary"), text: label,
    }, attrs));
    button.addEventListener("click", () => action(button));
    return button;
  }

  function card(kind, title, text, actions) {
    return el("div", { class: "alert-card alert-" + kind, role: "alert" }, [
      el("div", { class: "alert-icon", "aria-hidden": "true" }, [icon(kind === "success" ? "check" : "alert")]),
      el("div", { class: "alert-main" }, [
        el("p", { class: "alert-title", text: title }),
        text ? el("p", { class: "alert-text", text: text }) : null,
        actions && actions.length ? el("div", { class: "alert-actions" }, actions) : null,
      ]),
    ]);
  }

  function signInHref() {
    const here = window.location.pathname + window.location.search;
    return "/login?next=" + encodeURIComponent(here);
  }

  async function useResetChance(button) {
    button.disabled = true;
    try {
      const result = await chat.api.resetQuota();
      state.resetChances = result.reset_chances;
      await chat.models.load();
      chat.thread.alert(card("success", t("chat.err.reset_done"), t("chat.err.reset_done_text", { n: result.reset_chances }), []));
      document.getElementById("composer-input").focus();
    } catch (error) {
      button.disabled = false;
      chat.thread.alert(card("error", CG.errorMessage(error.code, error.message), "", []));
    }
  }

  // Failures a retry can fix; a refusal (bad input, a limit, moderation) fails the same way every time.
  const RETRYABLE = new Set(["network_error", "upstream_unavailable", "upstream_error", "internal_error", "http_error",
    "store_unavailable"]);

  function quotaCard(error, retry) {
    const wait = Number(error.retry_after) || 0;
    const modelId = error.model || state.model;
    const model = chat.models.nameOf(modelId);
    const text = wait > 0
      ? t("chat.err.quota_text", { model: model, time: chat.clockIn(wait), wait: chat.duration(wait) })
      : t("chat.err.quota_text_soon", { model: model });
    const actions = chat.models.alternatives(modelId).slice(0, 2).map((other, i) =>
      actionButton(t("chat.switch_to", { model: other.name, n: other.remaining }), i === 0, () => {
        chat.models.choose(other.id);
        chat.thread.clearAlert();
        if (retry) retry();
      }, { "data-switch-model": other.id }));
    actions.push(linkButton("/pricing", t("chat.err.see_plans"), actions.length === 0));
    if (state.resetChances > 0) {
      actions.push(actionButton(t("chat.err.use_reset", { n: state.resetChances }), false, useResetChance,
        { "data-reset-quota": true }));
    }
    return card("warning", t("chat.err.quota_title"), text, actions);
  }

  function blockedCard(error) {
    if (error.label === "provider_unavailable") {
      return card("error", t("chat.err.moderation_down_title"), t("chat.err.moderation_down_text"), []);
    }
    const output = error.direction === "output";
    return card("warning", t(output ? "chat.err.blocked_output_title" : "chat.err.blocked_title"),
      t(output ? "chat.err.blocked_output_text" : "chat.err.blocked_text"), []);
  }

  function tooLongCard(error) {
    const max = Number(error.max) || Number(chat.config.message_max_chars) || 0;
    const length = Number(error.length) || 0;
    const text = length > max
      ? t("chat.err.too_long_by", { length: chat.number(length), max: chat.number(max), over: chat.number(length - max) })
      : t("chat.err.too_long_max", { max: chat.number(max) });
    return card("warning", CG.errorMessage(error.code), text, []);
  }

  /** Build the card for an error `{code, message, ...data}`; `retry` (optional) re-runs what failed. */
  function errorCard(error, retry) {
    const retryButton = retry && RETRYABLE.has(error.code) ? [actionButton(t("common.retry"), true, () => retry())] : [];
    switch (error.code) {
      case "rate_limit_exceeded":
        return quotaCard(error, retry);
      case "message_too_long":
        return tooLongCard(error);
      case "invalid_input":
        return card("warning", CG.errorMessage(error.code), t("chat.err.server_said", { reason: error.message || "" }), []);
      case "payload_too_large":
        return card("warning", CG.errorMessage(error.code), t("chat.err.too_large_text"), []);
      case "limit_reached":
      case "daily_tokens_exceeded":
        return card("warning", t("chat.err.daily_title"), t("chat.err.daily_text"),
          [linkButton("/pricing", t("chat.err.see_plans"), true)]);
      case "model_not_in_plan":
        return card("warning", t("chat.err.not_in_plan_title"), t("chat.err.not_in_plan_text"),
          [linkButton("/pricing", t("chat.err.see_plans"), true)]);
      case "content_filter":
        return blockedCard(error);
      case "upstream_unavailable":
        return card("error", t("chat.err.down_title"), t("chat.err.down_text"), retryButton);
      case "upstream_error":
        return card("error", t("chat.err.upstream_title"), error.message || "", retryButton);
      case "context_length_exceeded":
        return card("warning", t("chat.err.too_long_title"), t("chat.err.too_long_text"),
          [actionButton(t("chat.new"), true, () => chat.conversations.startNew())]);
      case "not_authenticated":
        return card("warning", t("chat.err.signed_out_title"), t("chat.err.signed_out_text"),
          [linkButton(signInHref(), t("nav.sign_in"), true)]);
      case "csrf_failed":
        return card("warning", t("chat.err.expired_title"), t("chat.err.expired_text"),
          [actionButton(t("chat.err.reload"), true, () => window.location.reload())]);
      case "network_error":
        return card("error", t("chat.err.network_title"), t("chat.err.network_text"), retryButton);
      default:
        return card("error", CG.errorMessage(error.code, error.message), "", retryButton);
    }
  }

  chat.alerts = {
    useResetChance: useResetChance,
    show: (error, retry) => chat.thread.alert(errorCard(error, retry)),
    card: card,
    errorCard: errorCard,
  };

  chat.on("signed-out", (error) => chat.alerts.show({ code: "not_authenticated", message: error.message }));
})();
