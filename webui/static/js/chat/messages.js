/* The thread: user messages (plain text), assistant answers (Markdown, re-rendered while they stream, at most one
   paint per frame), per-message actions (copy, regenerate the last answer, edit any question, flip between an
   edited question's versions), each answer's token count and a mark on an answer cut at the answer limit, the
   empty state, a skeleton while a chat opens, the pending state of a question being sent, and sticky scrolling. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon, iconButton } = chat;

  const list = document.getElementById("messages");
  const thread = document.getElementById("thread");
  const empty = document.getElementById("empty-state");
  const skeleton = document.getElementById("thread-skeleton");
  const alertSlot = document.getElementById("alert-slot");
  const scrollButton = document.getElementById("scroll-down");
  const STICK_PX = 80; // within this distance of the bottom, new text keeps the view pinned to the end
  let pinned = true;

  function nearBottom() {
    return thread.scrollHeight - thread.scrollTop - thread.clientHeight < STICK_PX;
  }

  function scrollToEnd(force) {
    if (force) pinned = true;
    if (pinned) thread.scrollTop = thread.scrollHeight;
    scrollButton.hidden = nearBottom();
  }

  thread.addEventListener("scroll", () => {
    pinned = nearBottom();
    scrollButton.hidden = pinned;
  }, { passive: true });
  scrollButton.addEventListener("click", () => {
    thread.scrollTo({ top: thread.scrollHeight, behavior: "smooth" });
    pinned = true;
  });

  function lastIndex(role) {
    for (let i = state.messages.length - 1; i >= 0; i -= 1) if (state.messages[i].role === role) return i;
    return -1;
  }

  function versionSwitch(message) {
    const versions = message.versions;
    if (!versions || versions.count < 2) return null;
    const busy = Boolean(state.streaming);
    const label = t("chat.version", { n: versions.index + 1, count: versions.count });
    return el("div", { class: "msg-versions", role: "group", "aria-label": t("chat.versions") }, [
      iconButton("chevron-left", t("chat.version_prev"), { "data-act": "version", "data-to": versions.index - 1,
        disabled: busy || versions.index === 0 }),
      el("span", { class: "msg-version", text: label }),
      iconButton("chevron-right", t("chat.version_next"), { "data-act": "version", "data-to": versions.index + 1,
        disabled: busy || versions.index >= versions.count - 1 }),
    ]);
  }

  function userBody(message) {
    const bubble = el("div", { class: "msg-bubble", text: message.content });
    if (chat.images) chat.images.decorate(bubble, message);
    return bubble;
  }

  function assistantBody(message) {
    const body = el("div", { class: "msg-body markdown" });
    const streaming = message.status === "streaming";
    if (message.content) chat.markdown.render(body, message.content, true, streaming);
    if (streaming && !message.content) {
      body.append(el("span", { class: "typing", "aria-label": t("chat.thinking") }, [el("i"), el("i"), el("i")]));
    }
    return body;
  }

  function notes(message) {
    const found = [];
    if (message.status === "stopped") found.push(el("span", { class: "msg-note", text: t("chat.stopped") }));
    if (message.tokens) {
      found.push(el("span", { class: "msg-note msg-tokens", text: t("chat.tokens", { n: chat.number(message.tokens) }) }));
    }
    if (message.model) {
      found.push(el("span", { class: "msg-note msg-model", text: chat.models ? chat.models.nameOf(message.model) : message.model }));
    }
    return found;
  }

  function actionsFor(message, index) {
    const busy = Boolean(state.streaming);
    const actions = el("div", { class: "msg-actions" });
    if (message.status === "streaming" || message.status === "sending") return actions;
    actions.append(iconButton("copy", t("chat.copy_message"), { "data-act": "copy" }));
    if (!busy && message.role === "user" && state.current && message.id) {
      actions.append(iconButton("edit", t("chat.edit_costs"), { "data-act": "edit" }));
    }
    if (!busy && message.role === "assistant" && index === lastIndex("assistant") && index > lastIndex("user")) {
      actions.append(iconButton("refresh", t("chat.regenerate_costs"), { "data-act": "regenerate" }));
    }
    if (message.role === "user") actions.prepend(...[versionSwitch(message)].filter(Boolean));
    else actions.append(...notes(message));
    return actions;
  }

  function messageElement(message, index) {
    const isUser = message.role === "user";
    const item = el("li", {
      class: "msg msg-" + (isUser ? "user" : "assistant") + (message.status === "streaming" ? " is-streaming" : "") +
        (message.status === "sending" ? " is-sending" : ""),
      "data-index": index,
      "aria-busy": message.status === "streaming" || message.status === "sending" ? "true" : false,
    });
    const label = el("h3", { class: "sr-only", text: t(isUser ? "chat.you" : "chat.assistant") });
    const main = el("div", { class: "msg-main" }, [label, isUser ? userBody(message) : assistantBody(message)]);
    if (message.status === "sending") main.append(el("p", { class: "msg-sending", role: "status", text: t("chat.sending") }));
    if (message.truncated) {
      main.append(el("p", { class: "msg-truncated", text: t("chat.truncated", { n: chat.number(chat.config.answer_max_chars) }) }));
    }
    main.append(actionsFor(message, index));
    if (!isUser) item.append(el("div", { class: "msg-avatar", "aria-hidden": "true" }, [icon("spark")]));
    item.append(main);
    message.element = item;
    return item;
  }

  /** Bring the thread in line with state.messages; messages already on screen keep their element. */
  function render() {
    const items = state.messages.map((message, index) => {
      if (!message.element) return messageElement(message, index);
      message.element.dataset.index = index;
      return message.element;
    });
    list.replaceChildren(...items);
    refreshActions();
    skeleton.hidden = !state.loading;
    empty.hidden = state.loading || state.messages.length > 0 || Boolean(state.current);
    list.hidden = state.loading || state.messages.length === 0;
    thread.setAttribute("aria-busy", state.loading ? "true" : "false");
  }

  /** Refresh only the action rows (after streaming starts or ends). */
  function refreshActions() {
    state.messages.forEach((message, index) => {
      if (!message.element) return;
      const old = message.element.querySelector(".msg-actions");
      if (old) old.replaceWith(actionsFor(message, index));
    });
  }

  let pending = null;
  /** Repaint a streaming answer's text, at most once per animation frame. */
  function paint(message) {
    if (pending) return;
    pending = window.requestAnimationFrame(() => {
      pending = null;
      const item = message.element;
      if (!item) return;
      const body = item.querySelector(".msg-body");
      if (message.content) chat.markdown.render(body, message.content, true, true);
      scrollToEnd(false);
    });
  }

  /** Replace one message's element (its status or content changed for good). */
  function settle(message) {
    if (pending) {
      window.cancelAnimationFrame(pending);
      pending = null;
    }
    const index = state.messages.indexOf(message);
    if (index < 0 || !message.element) return;
    const old = message.element;
    old.replaceWith(messageElement(message, index));
    refreshActions();
  }

  /** Edit a question in place: a textarea with Cancel and Send (sending it replaces what followed it). */
  function editInPlace(index) {
    const message = state.messages[index];
    const bubble = message.element.querySelector(".msg-bubble");
    const area = el("textarea", { class: "msg-edit-input", "aria-label": t("chat.edit"), rows: "3" });
    area.value = message.content;
    const cancel = el("button", { type: "button", class: "btn btn-secondary btn-small", text: t("chat.cancel") });
    const send = el("button", { type: "button", class: "btn btn-primary btn-small", text: t("chat.edit_send") });
    const note = el("p", { class: "msg-edit-note", text: t("chat.edit_note") });
    const editor = el("div", { class: "msg-edit" }, [area, note, el("div", { class: "msg-edit-actions" }, [cancel, send])]);
    bubble.replaceWith(editor);
    message.element.querySelector(".msg-actions").hidden = true;
    const submit = () => {
      const text = area.value.trim();
      if (text && !state.streaming) chat.flow.edit(text, message.id);
    };
    chat.bindEnterToSend(area, submit);
    send.addEventListener("click", submit);
    cancel.addEventListener("click", () => settle(message));
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") settle(message);
    });
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-act]");
    if (!button || button.disabled) return;
    const index = Number(button.closest(".msg").dataset.index);
    const message = state.messages[index];
    if (!message) return;
    const act = button.dataset.act;
    if (act === "copy") {
      const copied = await chat.copyText(message.content);
      chat.toast(t(copied ? "common.copied" : "chat.copy_failed"));
    } else if (act === "regenerate") {
      chat.flow.regenerate();
    } else if (act === "edit") {
      editInPlace(index);
    } else if (act === "version") {
      chat.flow.switchVersion(message, Number(button.dataset.to));
    }
  });

  chat.thread = {
    render, paint, settle, refreshActions, scrollToEnd,
    focus: () => thread.focus(),
    clearAlert: () => alertSlot.replaceChildren(),
    alert: (card) => {
      alertSlot.replaceChildren(card);
      scrollToEnd(true);
    },
    alertSlot: alertSlot,
  };
})();
