/* The message box: grows with its text, Enter sends and Shift+Enter breaks the line (never while an input method
   is composing), the send button turns into stop while an answer streams, and the suggestion cards fill it. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const { state } = chat;

  const form = document.getElementById("composer");
  const input = document.getElementById("composer-input");
  const send = document.getElementById("send-button");
  const stop = document.getElementById("stop-button");
  const MAX_HEIGHT_RATIO = 0.4; // of the viewport: the thread stays readable while typing a long message

  function grow() {
    input.style.height = "auto";
    const max = Math.max(120, Math.round(window.innerHeight * MAX_HEIGHT_RATIO));
    input.style.height = Math.min(input.scrollHeight, max) + "px";
    input.classList.toggle("is-scrolling", input.scrollHeight > max);
  }

  function sync() {
    const model = chat.models && chat.models.current();
    const ready = Boolean(input.value.trim()) && !state.streaming && Boolean(model && model.allowed);
    send.disabled = !ready;
    send.hidden = Boolean(state.streaming);
    stop.hidden = !state.streaming;
  }

  function submit() {
    const text = input.value.trim();
    if (!text || state.streaming) return;
    const model = chat.models.current();
    if (!model || !model.allowed) return;
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
  chat.on("streaming", (streaming) => {
    sync();
    if (!streaming && document.activeElement === document.body) input.focus();
  });
  chat.on("model", sync);

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
    restore(text) {
      if (!input.value.trim()) input.value = text;
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
    sync: sync,
  };
  grow();
})();
