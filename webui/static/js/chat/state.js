/* The chat page's shared state, its event bus, the Web chat API calls (docs/API.md) and small DOM helpers.
   Every other chat script hangs off `CG.chat`, created here; scripts load in order with `defer`. */
(function () {
  "use strict";
  const CG = window.CG;
  const t = CG.t;

  const configBlock = document.getElementById("chat-config");
  const config = configBlock ? JSON.parse(configBlock.textContent || "{}") : {};
  const DEFAULT_SETTINGS = { system: "", system_name: "", temperature: null, max_tokens: null, context_messages: null };

  const state = {
    conversations: [], // [{id, title, model, channel, created_at, updated_at, message_count, settings, ...}]
    current: null, // the open conversation, or null for a new chat that is not saved yet
    settings: Object.assign({}, DEFAULT_SETTINGS), // the open chat's settings (a new chat's until its first send)
    loading: false, // a conversation is being opened: the thread shows a skeleton
    masks: [], // the built-in prompt masks (GET /api/masks)
    // [{id, role, content, model, tokens, truncated, group, versions, status: "done" | "sending" | "streaming" |
    //   "stopped" | "error"}]
    messages: [],
    models: [], // GET /api/models entries
    plan: null,
    resetChances: 0,
    model: "", // the chosen model id
    presets: [],
    presetId: "",
    streaming: null, // {controller} while an answer streams
    query: "",
  };

  const bus = new EventTarget();
  const on = (name, handler) => bus.addEventListener(name, (event) => handler(event.detail));
  const emit = (name, detail) => bus.dispatchEvent(new CustomEvent(name, { detail: detail }));

  /** localStorage that never throws (private mode, disabled storage). */
  const saved = {
    get(key) {
      try {
        return window.localStorage.getItem("cg." + key) || "";
      } catch (_blocked) {
        return "";
      }
    },
    set(key, value) {
      try {
        if (value) window.localStorage.setItem("cg." + key, String(value));
        else window.localStorage.removeItem("cg." + key);
      } catch (_blocked) {
        // Preferences are a comfort; the page works without them.
      }
    },
  };

  /** Call the API; a signed-out answer also tells the page (it shows the sign-in prompt once). */
  async function call(method, path, body) {
    try {
      return await CG.api(method, path, body);
    } catch (error) {
      if (error instanceof CG.ApiError && error.code === "not_authenticated") emit("signed-out", error);
      throw error;
    }
  }

  const enc = encodeURIComponent;
  const api = {
    conversations: (query) => call("GET", "/api/conversations" + (query ? "?q=" + enc(query) : "")),
    conversation: (id) => call("GET", "/api/conversations/" + enc(id)),
    rename: (id, title) => call("PATCH", "/api/conversations/" + enc(id), { title: title }),
    remove: (id) => call("DELETE", "/api/conversations/" + enc(id)),
    exportUrl: (id, format) => "/api/conversations/" + enc(id) + "/export" + (format ? "?format=" + enc(format) : ""),
    change: (id, body) => call("PATCH", "/api/conversations/" + enc(id), body),
    versions: (id, group, index) => call("POST", "/api/conversations/" + enc(id) + "/versions", { group: group, index: index }),
    title: (id) => call("POST", "/api/conversations/" + enc(id) + "/title"),
    share: (id) => call("POST", "/api/conversations/" + enc(id) + "/share"),
    unshare: (id) => call("DELETE", "/api/conversations/" + enc(id) + "/share"),
    masks: () => call("GET", "/api/masks"),
    preferences: (body) => call("PATCH", "/api/preferences", body),
    models: () => call("GET", "/api/models"),
    resetQuota: () => call("POST", "/api/quota/reset"),
    presets: () => call("GET", "/api/presets"),
    createPreset: (name, prompt) => call("POST", "/api/presets", { name: name, prompt: prompt }),
    updatePreset: (id, name, prompt) => call("PUT", "/api/presets/" + enc(id), { name: name, prompt: prompt }),
    deletePreset: (id) => call("DELETE", "/api/presets/" + enc(id)),
    notice: () => call("GET", "/api/notice"),
    noticeSeen: (version) => call("POST", "/api/notice/seen", { version: version }),
  };

  /** Build an element: `el("button", {class: "x", "aria-label": "..."}, [child, "text"])`. Text is never HTML. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name === "hidden") node.hidden = true;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  /** An icon from the page's sprite. */
  function icon(name, extra) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon" + (extra ? " " + extra : ""));
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(ns, "use");
    use.setAttribute("href", "#i-" + name);
    svg.append(use);
    return svg;
  }

  /** A button with an icon and an accessible name (shown as a tooltip too). */
  function iconButton(name, label, attrs) {
    return el("button", Object.assign({ type: "button", class: "icon-btn", "aria-label": label, title: label }, attrs),
      [icon(name)]);
  }

  let toastTimer = 0;
  function toast(message) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.classList.add("is-shown");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("is-shown"), 2600);
  }

  /** "2 h 5 min", "3 min", "40 s" in the page's language. */
  function duration(seconds) {
    const s = Math.max(1, Math.ceil(Number(seconds) || 0));
    if (s < 60) return t("chat.dur.s", { s: s });
    const minutes = Math.ceil(s / 60);
    if (minutes < 60) return t("chat.dur.m", { m: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return t(minutes % 60 ? "chat.dur.hm" : "chat.dur.h", { h: hours, m: minutes % 60 });
    const days = Math.floor(hours / 24);
    return t(hours % 24 ? "chat.dur.dh" : "chat.dur.d", { d: days, h: hours % 24 });
  }

  /** The local time `seconds` from now: "14:05", or "Tue 14:05" when it is not today. */
  function clockIn(seconds) {
    const when = new Date(Date.now() + Math.max(0, Number(seconds) || 0) * 1000);
    const sameDay = when.toDateString() === new Date().toDateString();
    const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", hour: "2-digit", minute: "2-digit" };
    return new Intl.DateTimeFormat(CG.lang, options).format(when);
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_denied) {
      const area = el("textarea", { class: "sr-only", readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      const copied = Boolean(document.execCommand && document.execCommand("copy"));
      area.remove();
      return copied;
    }
  }

  /** Enter sends, Shift+Enter is a new line; never send while an input method is composing (Chinese, Japanese). */
  function bindEnterToSend(textarea, send) {
    let composing = false;
    textarea.addEventListener("compositionstart", () => {
      composing = true;
    });
    textarea.addEventListener("compositionend", () => {
      // Some browsers fire the committing Enter's keydown right after compositionend: let it pass first.
      setTimeout(() => {
        composing = false;
      }, 0);
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.altKey) return;
      if (event.isComposing || composing || event.keyCode === 229) return;
      event.preventDefault();
      send();
    });
  }

  const loaded = new Map();
  /** Load a script or stylesheet once (heavy libraries are fetched only when an answer needs them). */
  function load(url, kind) {
    if (!loaded.has(url)) {
      loaded.set(url, new Promise((resolve, reject) => {
        const node = kind === "css" ? el("link", { rel: "stylesheet", href: url }) : el("script", { src: url });
        node.addEventListener("load", () => resolve(true));
        node.addEventListener("error", () => {
          loaded.delete(url);
          reject(new Error("could not load " + url));
        });
        document.head.append(node);
      }));
    }
    return loaded.get(url);
  }

  /** "12,345" in the page's language. */
  const number = (n) => new Intl.NumberFormat(CG.lang).format(Number(n) || 0);

  CG.chat = {
    state, config, on, emit, saved, api, el, icon, iconButton, toast, duration, clockIn, copyText, bindEnterToSend,
    load, number, DEFAULT_SETTINGS,
    isNarrow: () => window.matchMedia("(max-width: 860px)").matches,
  };
})();
