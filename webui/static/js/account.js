/* The account page: profile, password, sessions, invitation link, API keys and usage.
   Every section loads and fails on its own: an endpoint that is missing or down leaves a message in its section. */
(function () {
  "use strict";
  const CG = window.CG;
  const ui = CG.ui;
  const t = CG.t;
  const byId = (id) => document.getElementById(id);
  const dateTime = new Intl.DateTimeFormat(CG.lang, { dateStyle: "medium", timeStyle: "short" });

  function formatTime(seconds) {
    return seconds ? dateTime.format(new Date(Number(seconds) * 1000)) : "—";
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  CG.account = { element }; // shared with the page's other scripts (billing.js, account_channels.js), loaded after

  /** Handle a failed call: signed out -> sign-in page; otherwise say what happened in the section. */
  function sectionError(statusElement, error) {
    if (!(error instanceof CG.ApiError)) throw error;
    if (error.code === "not_authenticated") {
      window.location.assign("/login?next=" + encodeURIComponent("/account"));
      return;
    }
    const message = error.status === 404 || error.status === 405 ? t("common.unavailable") : error.message;
    ui.showStatus(statusElement, message);
  }

  function setList(list, items, emptyText) {
    list.replaceChildren(...(items.length ? items : [element("li", "muted", emptyText)]));
    list.setAttribute("aria-busy", "false");
  }

  // --- profile ------------------------------------------------------------------------------------------------
  const profileForm = byId("profile-form");
  profileForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ui.clearErrors(profileForm);
    const lang = byId("profile-lang").value;
    const body = { name: byId("profile-name").value.trim(), lang: lang };
    ui.submitting(profileForm, async () => {
      await CG.api("PATCH", "/api/account", body);
      // The cg_lang cookie outranks the account's language, so keep them the same.
      document.cookie = "cg_lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
      if (lang !== CG.lang) {
        window.location.reload();
        return;
      }
      ui.showStatus(byId("profile-status"), t("common.saved"), "success");
    });
  });

  // --- password -----------------------------------------------------------------------------------------------
  const passwordForm = byId("password-form");
  passwordForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ui.validate(passwordForm)) return;
    const body = {
      old_password: byId("password-old").value,
      new_password: byId("password-new").value,
      revoke_api_keys: byId("password-revoke-keys").checked,
    };
    ui.submitting(passwordForm, async () => {
      const result = await CG.api("POST", "/api/account/password", body);
      passwordForm.reset();
      const keysGone = result.api_keys_revoked ? " " + t("account.keys_revoked", { count: result.api_keys_revoked }) : "";
      ui.showStatus(byId("password-status"), t("account.password_changed") + keysGone, "success");
      loadSessions();
      if (body.revoke_api_keys) loadKeys();
    }, { invalid_credentials: ["old_password"], weak_password: ["new_password"] });
  });

  // --- sessions -----------------------------------------------------------------------------------------------
  const sessionList = byId("session-list");
  const sessionStatus = byId("sessions-status");

  /** Name a browser and system from a user agent, roughly: enough to recognise one's own devices. */
  function describeAgent(agent) {
    if (!agent) return t("sessions.unknown_device");
    const browsers = [["MicroMessenger", "WeChat"], ["Edg/", "Edge"], ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"], ["Safari/", "Safari"]];
    const systems = [["iPhone", "iPhone"], ["iPad", "iPad"], ["Android", "Android"], ["Windows", "Windows"],
      ["Mac OS X", "macOS"], ["Linux", "Linux"]];
    const find = (table) => (table.find(([needle]) => agent.includes(needle)) || [null, null])[1];
    const parts = [find(browsers), find(systems)].filter(Boolean);
    return parts.length ? parts.join(" · ") : agent.slice(0, 60);
  }

  function sessionItem(session, currentId) {
    const current = session.current === true || session.id === currentId;
    const item = element("li");
    const main = element("div", "item-main");
    const title = element("div", "item-title", describeAgent(session.agent));
    if (current) title.append(element("span", "badge", t("sessions.current")));
    const meta = [session.ip, t("sessions.last_seen", { time: formatTime(session.seen_at) }),
      t("sessions.signed_in", { time: formatTime(session.created_at) })].filter(Boolean).join(" · ");
    main.append(title, element("div", "item-meta", meta));
    const button = element("button", "btn btn-danger btn-small", t("sessions.sign_out"));
    button.type = "button";
    button.addEventListener("click", () => endSession(session.id, current, item, button));
    item.append(main, button);
    return item;
  }

  async function endSession(sessionId, current, item, button) {
    ui.setBusy(button, true);
    try {
      if (current) {
        await CG.api("POST", "/api/auth/logout");
        window.location.assign("/login");
        return;
      }
      await CG.api("DELETE", "/api/sessions/" + encodeURIComponent(sessionId));
      item.remove();
    } catch (error) {
      ui.setBusy(button, false);
      sectionError(sessionStatus, error);
    }
  }

  async function loadSessions() {
    try {
      const data = await CG.api("GET", "/api/sessions");
      const sessions = data.sessions || [];
      const currentId = data.current || data.current_id || null;
      setList(sessionList, sessions.map((session) => sessionItem(session, currentId)), t("sessions.empty"));
    } catch (error) {
      setList(sessionList, [], "");
      sectionError(sessionStatus, error);
    }
  }

  byId("sessions-revoke-others").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    ui.setBusy(button, true);
    try {
      await CG.api("POST", "/api/sessions/revoke-others");
      ui.showStatus(sessionStatus, t("sessions.others_done"), "success");
      await loadSessions();
    } catch (error) {
      sectionError(sessionStatus, error);
    } finally {
      ui.setBusy(button, false);
    }
  });

  // --- API keys -----------------------------------------------------------------------------------------------
  const keyList = byId("key-list");
  const keyStatus = byId("keys-status");
  const keyForm = byId("key-form");

  function keyItem(key) {
    const item = element("li");
    const main = element("div", "item-main");
    const title = element("div", "item-title", key.name || key.prefix || key.id);
    const meta = [key.prefix, t("keys.created", { time: formatTime(key.created_at) })];
    if (key.last_used_at) meta.push(t("keys.last_used", { time: formatTime(key.last_used_at) }));
    main.append(title, element("div", "item-meta mono", meta.filter(Boolean).join(" · ")));
    const button = element("button", "btn btn-danger btn-small", t("common.delete"));
    button.type = "button";
    button.addEventListener("click", async () => {
      if (!window.confirm(t("keys.confirm_delete"))) return;
      ui.setBusy(button, true);
      try {
        await CG.api("DELETE", "/api/keys/" + encodeURIComponent(key.id));
        item.remove();
        ui.showStatus(keyStatus, t("keys.deleted"), "success");
        if (!keyList.children.length) setList(keyList, [], t("keys.empty"));
      } catch (error) {
        ui.setBusy(button, false);
        sectionError(keyStatus, error);
      }
    });
    item.append(main, button);
    return item;
  }

  async function loadKeys() {
    try {
      const data = await CG.api("GET", "/api/keys");
      setList(keyList, (data.keys || []).map(keyItem), t("keys.empty"));
    } catch (error) {
      setList(keyList, [], "");
      sectionError(keyStatus, error);
    }
  }

  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!ui.validate(keyForm)) return;
    ui.showStatus(keyStatus, "");
    const name = byId("key-name").value.trim();
    ui.submitting(keyForm, async () => {
      try {
        const created = await CG.api("POST", "/api/keys", { name: name });
        byId("new-key-value").value = created.key;
        byId("new-key").hidden = false;
        byId("new-key-copy-status").textContent = "";
        byId("new-key-value").focus();
        byId("new-key-value").select();
        keyForm.reset();
        await loadKeys();
      } catch (error) {
        sectionError(keyStatus, error);
      }
    });
  });

  // --- usage --------------------------------------------------------------------------------------------------
  const usageBody = byId("usage-table").querySelector("tbody");

  function usageRow(day) {
    const row = element("tr");
    row.append(element("td", "", day.date), element("td", "", day.model));
    for (const field of ["requests", "prompt_tokens", "completion_tokens"]) {
      row.append(element("td", "num", Number(day[field] || 0).toLocaleString(CG.lang)));
    }
    return row;
  }

  function emptyUsage(text) {
    const row = element("tr");
    const cell = element("td", "muted", text);
    cell.colSpan = 5;
    row.append(cell);
    usageBody.replaceChildren(row);
  }

  async function loadUsage() {
    try {
      const data = await CG.api("GET", "/api/usage?days=30");
      const days = (data.days || []).slice().sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
      if (days.length) usageBody.replaceChildren(...days.map(usageRow));
      else emptyUsage(t("usage.empty"));
    } catch (error) {
      emptyUsage("—");
      sectionError(byId("usage-status"), error);
    }
  }

  loadSessions();
  loadKeys();
  loadUsage();
})();
