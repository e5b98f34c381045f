/* The conversation list (server-side, newest first, grouped by day, searchable by title and message text, with a
   skeleton while it loads), opening one (a skeleton until it is there), new chat, rename in place, delete with a
   confirmation, share and export (export.js), the `?c=<id>` address, and the drawer on narrow screens. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon, api } = chat;

  const groupsBox = document.getElementById("conv-groups");
  const emptyBox = document.getElementById("conv-empty");
  const nav = document.getElementById("conv-nav");
  const search = document.getElementById("conv-search");
  const sidebar = document.getElementById("sidebar");
  const scrim = document.getElementById("scrim");
  const pane = document.getElementById("chat-pane");
  const drawerOpen = document.getElementById("drawer-open");
  const exportButton = document.getElementById("export-button");
  const listSkeleton = document.getElementById("conv-skeleton");
  const DAY = 86400;
  let loadToken = 0;
  let openToken = 0;

  // --- the list ----------------------------------------------------------------------------------------------
  function groupOf(seconds) {
    const startOfToday = new Date().setHours(0, 0, 0, 0) / 1000;
    if (seconds >= startOfToday) return "today";
    if (seconds >= startOfToday - DAY) return "yesterday";
    if (seconds >= startOfToday - 7 * DAY) return "week";
    if (seconds >= startOfToday - 30 * DAY) return "month";
    return "older";
  }

  const menu = el("div", { class: "popover menu conv-menu", role: "menu", hidden: true }, [
    el("button", { type: "button", role: "menuitem", class: "menu-item", "data-conv-act": "rename" }, [icon("edit"), t("chat.rename")]),
    el("button", { type: "button", role: "menuitem", class: "menu-item", "data-conv-act": "share" }, [icon("link"), t("chat.share")]),
    el("a", { role: "menuitem", class: "menu-item", "data-conv-act": "export", href: "#", download: "" }, [icon("download"), t("chat.export")]),
    el("button", { type: "button", role: "menuitem", class: "menu-item menu-danger", "data-conv-act": "delete" }, [icon("trash"), t("common.delete")]),
  ]);
  let menuTarget = null;

  /** The snippet of a message that matched the search, the matched words marked (built as text, never HTML). */
  function snippetElement(snippet) {
    const lower = snippet.toLocaleLowerCase();
    const needle = state.query.toLocaleLowerCase();
    const at = needle ? lower.indexOf(needle) : -1;
    const parts = at < 0 ? [snippet] : [snippet.slice(0, at), el("mark", { text: snippet.slice(at, at + needle.length) }), snippet.slice(at + needle.length)];
    return el("span", { class: "conv-snippet" }, parts);
  }

  function itemElement(conversation) {
    const current = Boolean(state.current && state.current.id === conversation.id);
    const title = conversation.title || t("chat.untitled");
    const match = conversation.match && state.query ? snippetElement(conversation.match.snippet) : null;
    const link = el("a", { class: "conv-link", href: "/?c=" + encodeURIComponent(conversation.id), "aria-current": current ? "page" : false,
      "data-id": conversation.id, title: title }, [el("span", { class: "conv-title", text: title }), match]);
    const more = el("button", { type: "button", class: "conv-more", "aria-label": t("chat.options_for", { title: title }),
      "aria-haspopup": "menu", "aria-expanded": "false" }, [icon("more", "icon-small")]);
    const item = el("li", { class: "conv-item" + (current ? " is-current" : ""), "data-id": conversation.id }, [link, more]);
    chat.popover(more, menu, {
      onOpen: () => {
        menuTarget = conversation;
        menu.querySelector('[data-conv-act="export"]').setAttribute("href", api.exportUrl(conversation.id));
        item.append(menu);
        item.classList.add("has-menu");
      },
      onClose: () => item.classList.remove("has-menu"),
    });
    return item;
  }

  function render() {
    const groups = new Map();
    for (const conversation of state.conversations) {
      const name = groupOf(conversation.updated_at || conversation.created_at || 0);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(conversation);
    }
    const sections = [];
    for (const [name, items] of groups) {
      const id = "conv-group-" + name;
      sections.push(el("section", { class: "conv-group", "aria-labelledby": id }, [
        el("h2", { class: "conv-group-title", id: id, text: t("chat.group." + name) }),
        el("ul", { class: "conv-list" }, items.map(itemElement)),
      ]));
    }
    groupsBox.replaceChildren(...sections);
    listSkeleton.hidden = true;
    emptyBox.hidden = state.conversations.length > 0;
    emptyBox.textContent = state.query ? t("chat.no_results") : t("chat.no_conversations");
    nav.setAttribute("aria-busy", "false");
  }

  async function load() {
    const token = ++loadToken;
    try {
      const data = await api.conversations(state.query);
      if (token !== loadToken) return;
      state.conversations = data.conversations || [];
      render();
    } catch (error) {
      if (token !== loadToken) return;
      nav.setAttribute("aria-busy", "false");
      listSkeleton.hidden = true;
      emptyBox.hidden = false;
      emptyBox.textContent = t("common.load_failed", { message: error.message });
    }
  }

  let searchTimer = 0;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = search.value.trim();
      load();
    }, 220);
  });

  // --- address, header and open / new -------------------------------------------------------------------------
  function syncChrome(push) {
    const path = state.current ? "/?c=" + encodeURIComponent(state.current.id) : "/";
    if (window.location.pathname + window.location.search !== path) {
      window.history[push ? "pushState" : "replaceState"]({}, "", path);
    }
    exportButton.hidden = !state.current;
    chat.emit("chat", state.current);
    document.querySelectorAll(".menu-lang").forEach((link) => {
      link.setAttribute("href", "/lang/" + link.getAttribute("lang") + "?next=" + encodeURIComponent(path));
    });
    const title = state.current ? state.current.title || t("chat.untitled") : t("chat.new");
    document.title = title + " · " + document.title.split(" · ").pop();
    groupsBox.querySelectorAll(".conv-item").forEach((item) => {
      const current = Boolean(state.current && item.dataset.id === state.current.id);
      item.classList.toggle("is-current", current);
      const link = item.querySelector(".conv-link");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  }

  /** Messages as the thread keeps them (system prompts are settings, not shown). */
  function showMessages(messages) {
    state.messages = messages
      .filter((m) => m.role === "user" || m.role === "assistant")
      .map((m) => Object.assign({}, m, { status: "done" }));
    chat.thread.render();
  }

  async function open(id, push) {
    chat.flow.stop();
    const token = ++openToken;
    state.loading = true;
    state.current = state.conversations.find((c) => c.id === id) || { id: id, title: "" };
    state.messages = [];
    chat.thread.clearAlert();
    chat.thread.render();
    syncChrome(push);
    closeDrawer(false);
    try {
      const data = await api.conversation(id);
      if (token !== openToken) return;
      state.current = data.conversation;
      state.settings = Object.assign({}, chat.DEFAULT_SETTINGS, data.conversation.settings || {});
      state.loading = false;
      showMessages(data.messages || []);
      chat.models.prefer(state.current.model);
    } catch (error) {
      if (token !== openToken) return;
      if (error.code === "not_found") chat.toast(t("chat.gone"));
      state.loading = false;
      state.current = null;
      state.messages = [];
      state.settings = Object.assign({}, chat.DEFAULT_SETTINGS);
      chat.thread.render();
    }
    chat.thread.scrollToEnd(true);
    syncChrome(false);
  }

  /** Read the open chat again (after an edit: its versions changed on the server). */
  async function reload() {
    if (!state.current) return;
    const id = state.current.id;
    try {
      const data = await api.conversation(id);
      if (!state.current || state.current.id !== id || state.streaming) return;
      state.current = data.conversation;
      showMessages(data.messages || []);
    } catch (_gone) {
      // The thread on screen stays as it is.
    }
  }

  /** A conversation got a new title (written from its first exchange). */
  function retitle(conversation) {
    const known = state.conversations.find((c) => c.id === conversation.id);
    if (known) Object.assign(known, { title: conversation.title, title_source: conversation.title_source });
    if (state.current && state.current.id === conversation.id) Object.assign(state.current, { title: conversation.title, title_source: conversation.title_source });
    render();
    syncChrome(false);
    load(); // a list asked for before the title was written would put the old title back: this one supersedes it
  }

  function startNew() {
    chat.flow.stop();
    ++openToken;
    state.loading = false;
    state.current = null;
    state.settings = Object.assign({}, chat.DEFAULT_SETTINGS);
    state.messages = [];
    chat.thread.clearAlert();
    chat.thread.render();
    syncChrome(true);
    closeDrawer(false);
    chat.composer.focus();
  }

  /** The stream's start event: a new chat just got its id and title. */
  function started(event, model) {
    if (!event.conversation_id) return;
    const known = state.conversations.find((c) => c.id === event.conversation_id);
    const now = Date.now() / 1000;
    const entry = known || { id: event.conversation_id, model: model, channel: "web", created_at: now, title_source: "auto",
      settings: Object.assign({}, state.settings) };
    entry.title = event.title || entry.title || "";
    entry.updated_at = now;
    state.conversations = [entry, ...state.conversations.filter((c) => c !== entry)];
    if (!state.current || state.current.id === event.conversation_id) state.current = Object.assign({}, state.current, entry);
    render();
    syncChrome(false);
  }

  groupsBox.addEventListener("click", (event) => {
    const link = event.target.closest(".conv-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    open(link.dataset.id, true);
  });
  window.addEventListener("popstate", () => {
    const id = new URLSearchParams(window.location.search).get("c");
    if (id) open(id, false);
    else startNew();
  });

  // --- the drawer (narrow screens) -----------------------------------------------------------------------------
  function openDrawer() {
    sidebar.classList.add("is-open");
    scrim.hidden = false;
    pane.inert = true;
    drawerOpen.setAttribute("aria-expanded", "true");
    document.getElementById("new-chat").focus();
  }

  function closeDrawer(restoreFocus) {
    if (!sidebar.classList.contains("is-open")) return;
    sidebar.classList.remove("is-open");
    scrim.hidden = true;
    pane.inert = false;
    drawerOpen.setAttribute("aria-expanded", "false");
    if (restoreFocus) drawerOpen.focus();
  }

  drawerOpen.addEventListener("click", openDrawer);
  document.getElementById("drawer-close").addEventListener("click", () => closeDrawer(true));
  scrim.addEventListener("click", () => closeDrawer(true));
  sidebar.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sidebar.classList.contains("is-open")) closeDrawer(true);
  });
  window.matchMedia("(max-width: 860px)").addEventListener("change", () => closeDrawer(false));
  document.getElementById("new-chat").addEventListener("click", startNew);
  document.getElementById("header-new").addEventListener("click", startNew);

  chat.conversations = {
    load, render, open, startNew, started, touch: () => load(), syncChrome, reload, retitle, showMessages,
    menu: menu, menuTarget: () => menuTarget, groupsBox: groupsBox,
  };
})();
