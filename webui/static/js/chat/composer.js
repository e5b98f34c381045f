/* The message box: grows with its text, Enter sends and Shift+Enter breaks the line (never while an input method
   is composing), the send button turns into stop while an answer streams (with a pending ring until the server
   answers). Send is disabled, with the reason said next to it, on a used-up model (with a switch to one that has
   quota), over the length limit (a counter shows near it), or with no model. The suggestion cards fill it. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el } = chat;

  const form = document.getElementById("composer");
  const input = document.getElementById("composer-input");
  const send = document.getElementById("send-button");
  const stop = document.getElementById("stop-button");
  const counter = document.getElementById("composer-count");
  const status = document.getElementById("composer-status");
  const MAX_HEIGHT_RATIO = 0.4; // of the viewport: the thread stays readable while typing a long message
  const COUNT_FROM = 0.8; // show the counter from this share of the limit
  const maxChars = Number(chat.config.message_max_chars) || 32000;
  let note = null; // {model, kept}: an opened chat's model is used up, so another one stays picked

  function grow() {
    input.style.height = "auto";
    const max = Math.max(120, Math.round(window.innerHeight * MAX_HEIGHT_RATIO));
    input.style.height = Math.min(input.scrollHeight, max) + "px";
    input.classList.toggle("is-scrolling", input.scrollHeight > max);
  }

  function switchButton(model) {
    const button = el("button", { type: "button", class: "link-btn", "data-switch-model": model.id,
      text: t("chat.switch_to", { model: model.name, n: model.remaining }) });
    return button;
  }

  /** Why Send is off (or a note worth saying), as a line under the box; "" when all is well. */
  function reason() {
    const model = chat.models && chat.models.current();
    const length = input.value.trim().length;
    if (length > maxChars) {
      return [t("chat.too_long_now", { over: chat.number(length - maxChars), max: chat.number(maxChars) })];
    }
    if (!state.models.length) return [];
    if (!model || !model.allowed) return [t("chat.no_model")];
    const pictures = chat.images ? chat.images.problem() : "";
    if (pictures) return [pictures];
    if (model.remaining === 0) {
      const wait = model.resets_in > 0 ? t("chat.frees_at", { time: chat.clockIn(model.resets_in), wait: chat.duration(model.resets_in) }) : "";
      const other = chat.models.alternatives(model.id)[0];
      const reset = state.resetChances > 0 ? el("button", { type: "button", class: "link-btn", "data-reset-quota": true,
        text: t("chat.err.use_reset", { n: state.resetChances }) }) : null;
      const plans = el("a", { class: "link-btn", href: "/pricing", text: t("chat.err.see_plans") });
      return [t("chat.used_up_now", { model: model.name }) + " " + wait, other ? switchButton(other) : null, reset, plans];
    }
    if (note && note.kept) return [t("chat.kept_model", { model: note.model.name, kept: note.kept.name })];
    return [];
  }

  function sync() {
    const model = chat.models && chat.models.current();
    const length = input.value.trim().length;
    const blocked = !model || !model.allowed || model.remaining === 0 || length > maxChars;
    const pictures = chat.images ? chat.images.count() : 0;
    const ready = (length > 0 || pictures > 0) && !state.streaming && !blocked && !(chat.images && chat.images.busy());
    send.disabled = !ready;
    send.hidden = Boolean(state.streaming);
    stop.hidden = !state.streaming;
    counter.hidden = length < maxChars * COUNT_FROM;
    counter.textContent = chat.number(length) + " / " + chat.number(maxChars);
    counter.classList.toggle("is-over", length > maxChars);
    const parts = reason().filter(Boolean);
    status.replaceChildren(...parts.flatMap((part, i) => (i ? [" · ", part] : [part])));
    status.hidden = parts.length === 0;
    send.title = parts.length && typeof parts[0] === "string" && blocked ? parts[0] : t("chat.send");
  }

  function submit() {
    const text = input.value.trim();
    if ((!text && !(chat.images && chat.images.count())) || state.streaming || send.disabled) return;
    input.value = "";
    grow();
    sync();
    chat.flow.send(text);
  }

  chat.bindEnterToSend(input, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("input", () => {
    grow();
    sync();
  });
  stop.addEventListener("click", () => {
    chat.flow.stop();
    input.focus();
  });
  status.addEventListener("click", (event) => {
    const reset = event.target.closest("[data-reset-quota]");
    if (reset) chat.alerts.useResetChance(reset);
    const button = event.target.closest("[data-switch-model]");
    if (!button) return;
    chat.models.choose(button.dataset.switchModel);
    input.focus();
  });
  chat.on("streaming", (streaming) => {
    stop.classList.toggle("is-pending", Boolean(streaming));
    sync();
    if (!streaming && document.activeElement === document.body) input.focus();
  });
  chat.on("answer-started", () => stop.classList.remove("is-pending"));
  chat.on("model", sync);
  chat.on("models", sync);
  chat.on("model-note", (value) => {
    note = value;
    sync();
  });

  document.getElementById("suggestions").addEventListener("click", (event) => {
    const card = event.target.closest("[data-suggestion]");
    if (!card) return;
    input.value = card.dataset.suggestion;
    grow();
    sync();
    input.focus();
  });

  // Ctrl/Cmd+Shift+O starts a new chat (as in ChatGPT); Shift+Escape jumps to the message box.
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === "o") {
      event.preventDefault();
      chat.conversations.startNew();
    } else if (event.shiftKey && event.key === "Escape") {
      event.preventDefault();
      input.focus();
    }
  });

  chat.composer = {
    focus: () => input.focus(),
    /** Put text back after a send failed before the server kept it. */
    restore(text, payload) {
      if (!input.value.trim()) input.value = text;
      if (chat.images && payload) chat.images.restore(payload);
      grow();
      sync();
    },
    /** Take the composer's text (for a retry). */
    take() {
      const text = input.value.trim();
      input.value = "";
      grow();
      sync();
      return text;
    },
    /** Add text at the end (voice input). */
    append(text) {
      const joiner = input.value && !/\s$/.test(input.value) ? " " : "";
      input.value += joiner + text;
      grow();
      sync();
    },
    sync: sync,
    input: input,
  };
  grow();
})();
