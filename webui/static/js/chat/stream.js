/* POST /api/chat and its event stream (`data: {json}` events: start, delta, done, error), and the chat flow on top:
   send, regenerate, edit-and-resend, stop. Stop aborts the fetch; the server then closes the upstream. An error
   before the stream starts undoes the optimistic messages (the server kept nothing); after it, the answer so far
   stays and a card explains the error. */
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

  function payloadFor(action, content) {
    const payload = { model: state.model, action: action };
    if (state.current) payload.conversation_id = state.current.id;
    if (content !== undefined) payload.content = content;
    const system = chat.presets ? chat.presets.activePrompt() : "";
    if (system) payload.system = system;
    return payload;
  }

  /** Stream an answer into a new assistant message. `undo()` restores the thread when the server refused the
      request (it kept nothing); `restore()` puts back what an answer that never got a word in replaced. */
  async function answer(payload, undo, retry, restore) {
    const message = { role: "assistant", content: "", model: state.model, status: "streaming" };
    state.messages.push(message);
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
        chat.conversations.started(event, payload.model);
      },
      delta: (text) => {
        message.content += text;
        chat.thread.paint(message);
      },
      done: () => {},
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
    if (failure && failure.early) undo();
    else if (!message.content && restore) restore();
    else if (message.content) {
      message.status = outcome === "aborted" ? "stopped" : outcome === "error" ? "error" : "done";
      state.messages.splice(index, 0, message);
    }
    chat.thread.render();
    if (message.content) chat.thread.settle(message);
    if (mine) chat.emit("streaming", false);
    if (failure) await showFailure(failure.error, retry);
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
      if (state.streaming || !text) return false;
      const question = { role: "user", content: text, status: "done" };
      state.messages.push(question);
      const undo = () => {
        state.messages.splice(state.messages.indexOf(question), 1);
        chat.composer.restore(text);
      };
      await answer(payloadFor("send", text), undo, () => flow.send(chat.composer.take()));
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

    /** Replace the last question with `text`, drop what followed it, and ask again. */
    async edit(text) {
      if (state.streaming || !state.current) return;
      const index = state.messages.map((m) => m.role).lastIndexOf("user");
      const original = state.messages.slice(index);
      state.messages.splice(index, state.messages.length - index, { role: "user", content: text, status: "done" });
      const undo = () => state.messages.splice(index, state.messages.length - index, ...original);
      await answer(payloadFor("edit", text), undo, () => flow.edit(text));
    },

    stop() {
      if (state.streaming) state.streaming.controller.abort();
    },
  };

  chat.flow = flow;
  chat.stream = { parseEvents: parseEvents };
})();
