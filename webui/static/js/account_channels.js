/* The account page's chat apps: which bots this account is linked in, and a bind code (with the Telegram deep
   link t.me/<bot>?start=<code>, and what to send the WeChat official account) to link one. The section stays hidden
   when the site runs no bot. */
(function () {
  "use strict";
  const CG = window.CG;
  const ui = CG.ui;
  const t = CG.t;
  const byId = (id) => document.getElementById(id);
  const section = byId("channels");
  if (!section) return;
  const status = byId("channels-status");
  const list = byId("channel-list");
  const button = byId("bind-code-button");
  let telegram = null;
  let wechat = null;

  const element = CG.account.element; // account.js, loaded first

  function channelItem(channel) {
    const item = element("li");
    const main = element("div", "item-main");
    const title = element("div", "item-title", t("channels." + channel.channel));
    title.append(element("span", channel.bound ? "badge" : "badge badge-muted",
      t(channel.bound ? "channels.bound" : "channels.not_bound")));
    main.append(title);
    if (channel.bot && channel.channel === "telegram") main.append(element("div", "item-meta mono", "@" + channel.bot));
    if (channel.bot && channel.channel === "wechat") main.append(element("div", "item-meta", channel.bot));
    item.append(main);
    return item;
  }

  function fail(error) {
    if (!(error instanceof CG.ApiError)) throw error;
    if (error.code === "not_authenticated") {
      window.location.assign("/login?next=" + encodeURIComponent("/account#channels"));
      return;
    }
    ui.showStatus(status, error.status === 404 ? t("common.unavailable") : error.message);
  }

  async function load() {
    try {
      const data = await CG.api("GET", "/api/account/channels");
      const running = (data.channels || []).filter((channel) => channel.enabled);
      if (!running.length) return;
      telegram = running.find((channel) => channel.channel === "telegram") || null;
      wechat = running.find((channel) => channel.channel === "wechat") || null;
      list.replaceChildren(...running.map(channelItem));
      list.setAttribute("aria-busy", "false");
      section.hidden = false;
      byId("channels-nav").hidden = false;
    } catch (error) {
      fail(error);
    }
  }

  function showCode(data) {
    byId("bind-code-value").textContent = data.code;
    byId("bind-code-expiry").textContent = t("channels.valid_for", { minutes: Math.round(data.expires_in / 60) });
    const link = byId("bind-telegram-link");
    byId("bind-telegram").hidden = !data.telegram_link;
    if (data.telegram_link) link.href = data.telegram_link;
    const hint = byId("bind-telegram-hint");
    hint.hidden = !telegram;
    if (telegram) {
      hint.textContent = telegram.bot
        ? t("channels.telegram_hint", { bot: telegram.bot, code: data.code })
        : t("channels.telegram_hint_no_bot", { code: data.code });
    }
    const wechatHint = byId("bind-wechat-hint");
    wechatHint.hidden = !wechat;
    if (wechat) {
      wechatHint.textContent = wechat.bot
        ? t("channels.wechat_hint", { name: wechat.bot, code: data.code })
        : t("channels.wechat_hint_no_name", { code: data.code });
    }
    byId("bind-code").hidden = false;
    button.dataset.label = t("channels.new_code");
  }

  button.addEventListener("click", async () => {
    ui.setBusy(button, true);
    ui.showStatus(status, "");
    try {
      showCode(await CG.api("POST", "/api/account/bind-code"));
    } catch (error) {
      fail(error);
    } finally {
      ui.setBusy(button, false);
    }
  });

  load();
})();
