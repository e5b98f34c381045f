/* POST /api/chat and its event stream (`data: {json}` events: start, delta, done, error), and the chat flow on top:
   send, regenerate, edit any question (the replaced branch stays as a version), flip versions, stop. Stop aborts
   the fetch; the server then closes the upstream. An error before the stream starts undoes the optimistic messages
   (the server kept nothing); after it, the answer so far stays and a card explains the error. A new chat's first
   answer asks the server for a written title. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const { state } = chat;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  async function earlyError(response) {
    let error = {};
    try {
      error = ((await response.json()) || {}).error || {};
    } catch (_notJson) {
      // A proxy's HTML error page: fall back to the status.
    }
    return Object.assign({}, error, { code: error.code || (response.status === 401 ? "not_authenticated" : "http_error") });
  }

  /** Split complete SSE events off `buffer`; return [events, rest]. */
  function parseEvents(buffer) {
    const events = [];
    const parts = buffer.split(/\r?\n\r?\n/);
    const rest = parts.pop();
    for (const part of parts) {
      const data = part.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n");
      if (!data || data === "[DONE]") continue;
      try {
        events.push(JSON.parse(data));
      } catch (_malformed) {
        // Skip a malformed event rather than lose the whole answer.
      }
    }
    return [events, rest];
  }

  /** Run one chat request; `on.start/delta/done/error` get the events. Resolves to "done", "aborted" or "error". */
  async function stream(payload, on, signal) {
    let response;
    try {
      response = await fetch("/api/chat", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(payload),
        signal: signal,
      });
    } catch (error) {
      if (signal.aborted) return "aborted";
      on.error({ code: "network_error" }, true);
      return "error";
    }
    if (!response.ok) {
      on.error(await earlyError(response), true);
      return "error";
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let started = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let events;
        [events, buffer] = parseEvents(buffer + decoder.decode(value, { stream: true }));
        for (const event of events) {
          if (event.type === "start") {
            started = true;
            on.start(event);
          } else if (event.type === "delta") on.delta(event.content || "");
          else if (event.type === "done") on.done(event);
          else if (event.type === "error") {
            on.error(event, !started);
            return "error";
          }
        }
      }
    } catch (_broken) {
      if (signal.aborted) return "aborted";
      on.error({ code: "network_error" }, !started);
      return "error";
    }
    return "done";
  }

  function payloadFor(action, content, messageId) {
    const payload = { model: state.model, action: action, settings: Object.assign({}, state.settings) };
    if (state.current) payload.conversation_id = state.current.id;
    if (content !== undefined) payload.content = content;
    if (messageId) payload.message_id = messageId;
    if (chat.images && action === "send") Object.assign(payload, chat.images.payload()); // an edit keeps its own
    return payload;
  }

  /** Keep what the server keeps: an answer over the answer limit is saved cut there, and marked. */
  function capAnswer(message) {
    const cap = Number(chat.config.answer_max_chars) || 0;
    if (cap && message.content.length > cap) {
      message.content = message.content.slice(0, cap);
      message.truncated = true;
    }
  }

  /** After a new chat's first answer: ask for a written title (the server does it once, free of quota). */
  async function requestTitle(cid) {
    const conversation = state.conversations.find((c) => c.id === cid);
    if (!chat.config.auto_titles || !conversation || (conversation.title_source || "auto") !== "auto") return;
    try {
      const titled = await chat.api.title(cid);
      if (titled && titled.title_source === "generated") chat.conversations.retitle(titled);
    } catch (_unavailable) {
      // The first words stay the title.
    }
  }

  /** Stream an answer into a new assistant message. `undo()` restores the thread when the server refused the
      request (it kept nothing); `restore()` puts back what an answer that never got a word in replaced. */
  async function answer(payload, undo, retry, restore, question) {
    const message = { role: "assistant", content: "", model: state.model, status: "streaming" };
    state.messages.push(message);
    const firstAnswer = !payload.conversation_id;
    const controller = new AbortController();
    state.streaming = { controller: controller, message: message };
    chat.emit("streaming", true);
    chat.thread.clearAlert();
    chat.thread.render();
    chat.thread.scrollToEnd(true);
    let failure = null;
    let cid = payload.conversation_id || "";
    const outcome = await stream(payload, {
      start: (event) => {
        cid = event.conversation_id || cid;
        message.id = event.message_id;
        chat.emit("answer-started");
        if (question) {
          question.id = event.user_message_id;
          question.status = "done";
          chat.thread.settle(question);
        }
        chat.conversations.started(event, payload.model);
      },
      delta: (text) => {
        message.content += text;
        chat.thread.paint(message);
      },
      done: (event) => {
        message.tokens = (event.usage || {}).completion_tokens || null;
      },
      error: (error, early) => {
        failure = { error: error, early: early };
      },
    }, controller.signal);
    const mine = Boolean(state.streaming && state.streaming.message === message);
    if (mine) state.streaming = null;
    chat.models.load().catch(() => {});
    if (cid) chat.conversations.touch(cid);
    const index = state.messages.indexOf(message);
    if (index < 0) {
      if (mine) chat.emit("streaming", false);
      return; // the user opened another chat meanwhile: this thread is no longer on screen
    }
    state.messages.splice(index, 1);
    if (question && question.status === "sending") question.status = "done";
    if (failure && failure.early) undo();
    else if (!message.content && restore) restore();
    else if (message.content) {
      message.status = outcome === "aborted" ? "stopped" : outcome === "error" ? "error" : "done";
      capAnswer(message);
      state.messages.splice(index, 0, message);
    }
    chat.thread.render();
    if (message.content) chat.thread.settle(message);
    if (question && question.element) chat.thread.settle(question);
    chat.thread.scrollToEnd(false); // the final rendering (highlighting, diagrams) may be taller
    if (mine) chat.emit("streaming", false);
    if (failure) await showFailure(failure.error, retry);
    else if (cid && firstAnswer && message.content) requestTitle(cid);
    return !failure;
  }

  async function showFailure(error, retry) {
    if (error.code === "rate_limit_exceeded" || error.code === "no_reset_chances") {
      await chat.models.load().catch(() => {});
    }
    chat.alerts.show(error, retry);
  }

  const flow = {
    /** Send a new question; on an early error it goes back into the composer. */
    async send(text) {
      const payload = payloadFor("send", text);
      if (state.streaming || (!text && !payload.images)) return false;
      const question = { role: "user", content: text, status: "sending", images: payload.images || [] };
      state.messages.push(question);
      const undo = () => {
        state.messages.splice(state.messages.indexOf(question), 1);
        chat.composer.restore(text, payload);
      };
      if (chat.images) chat.images.clear();
      await answer(payload, undo, () => flow.send(chat.composer.take()), null, question);
      return true;
    },

    /** Drop the last answer and ask again. */
    async regenerate() {
      if (state.streaming || !state.current) return;
      const cut = state.messages.length - [...state.messages].reverse().findIndex((m) => m.role === "user");
      const dropped = state.messages.splice(cut);
      const putBack = () => state.messages.push(...dropped); // the server keeps the old answer until a new one
      await answer(payloadFor("regenerate"), putBack, () => flow.regenerate(), putBack);
    },

    /** Replace question `messageId` with `text` and ask again; what followed it stays as the previous version. */
    async edit(text, messageId) {
      if (state.streaming || !state.current) return;
      const index = state.messages.findIndex((m) => m.id === messageId);
      if (index < 0) return;
      const original = state.messages.slice(index);
      const question = { role: "user", content: text, status: "sending" };
      state.messages.splice(index, state.messages.length - index, question);
      const undo = () => state.messages.splice(index, state.messages.length - index, ...original);
      const cid = state.current.id;
      const ok = await answer(payloadFor("edit", text, messageId), undo, () => flow.edit(text, messageId), null, question);
      if (ok && state.current && state.current.id === cid) await chat.conversations.reload(); // the version counts
    },

    /** Show another version of an edited question (and the answers that followed it then). */
    async switchVersion(message, index) {
      if (state.streaming || !state.current || !message.group) return;
      try {
        const data = await chat.api.versions(state.current.id, message.group, index);
        chat.conversations.showMessages(data.messages || []);
      } catch (error) {
        chat.toast(CG.errorMessage(error.code, error.message));
      }
    },

    stop() {
      if (state.streaming) state.streaming.controller.abort();
    },
  };

  chat.flow = flow;
  chat.stream = { parseEvents: parseEvents };
})();
