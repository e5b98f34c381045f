"""The key schema: every Redis key ChatGate uses is built here, and only here.

Format: ``<prefix>:v1:<family>[:<parts>]``. Keys that belong to one user carry the hash tag ``{u:<id>}`` right after
the version, so every multi-key script over one user's keys stays valid on Redis Cluster; a WeChat follower's
message state likewise carries ``{w:<openid>}``. Global indexes are
single-key operations (SET NX, ZADD), never multi-key scripts across owners. The one global multi-key script, the
code-send claim (cooldown, per-target and per-IP counters together), keeps its keys under the tag ``{codes}``: one
slot for a low-volume family.

Families (type, TTL):

  config:jwt_secret                  string  none   generated JWT secret when JWT_SECRET is unset
  seq:user                           string  none   INCR counter for user ids
  {u:ID}:user                        hash    none   user record (see core.accounts.users.User)
  idx:email:<email>                  string  none   lower-cased email -> user id (claimed with SET NX)
  idx:phone:<e164>                   string  none   phone -> user id
  idx:invite:<code>                  string  none   invitation code -> user id
  idx:users                          zset    none   user id scored by created_at (admin lists)
  idx:chan:<channel>:<external id>   string  none   channel identity (WeChat openid, Telegram user id) -> user id
  {u:ID}:channels                    hash    none   channel -> external id of the identities on this account
  {u:ID}:merging                     set     none   channel-only accounts being folded into this one (resumable)
  bind:<code>                        string  10m    a bind code shown on the web account page -> user id
  {u:ID}:bind_code                   string  10m    the account's live bind code (a new one replaces it)
  bind:fail:<channel>:<external id>  string  window failed bind attempts of one channel identity
  login:link:<sha256>                string  10m    one-time sign-in link (a bot's /plan, /login): user id, next path
  login:code:<sha256>                string  10m    one-time sign-in code (the WeChat account's 登录) -> user id
  {u:ID}:login_code                  string  10m    digest of the account's live sign-in code (a new one replaces it)
  {u:ID}:invitees                    zset    none   invitee ids scored by time
  {u:ID}:sessions                    zset    none   session id scored by expiry (listing, sign-out everywhere)
  {u:ID}:sess:<sid>                  hash    7d sliding   one session: created_at, seen_at, ip, agent, csrf
  code:<purpose>:<target>            hash    5m     verification code: sha256 digest, tries
  {codes}:cool:<target>              string  60s    resend cooldown
  {codes}:day:t:<target>:<yyyymmdd>  string  1d     codes sent to one target today
  {codes}:day:ip:<ip>:<yyyymmdd>     string  1d     codes requested from one IP today
  login:fail:acct:<target>           hash    window failed sign-ins for one account: n, last (ms)
  login:fail:ip:<ip>                 string  window failed sign-ins from one IP
  cfg:plans                          hash    none   plan name -> plan JSON
  cfg:models                         hash    none   model id -> model JSON (with its upstreams)
  cfg:seeded                         string  none   set once the runtime config was seeded from settings
  up:health:<upstream id>            hash    none   fails, benched_until, last_error, failed_at
  up:probe:<upstream id>             string  ~first-byte timeout   the one request trying a benched upstream
  {u:ID}:subs                        zset    none   subscription JSON scored by its end time
  {u:ID}:q:<model>                   zset    window sliding-window log of request ids scored by ms time
  {u:ID}:tok:<yyyymmdd>              string  2d     tokens used today + reserved by calls in flight (daily token cap)
  {u:ID}:reserved                    hash    2d     ticket id -> tokens a call in flight reserved on the daily cap
  {u:ID}:streams                     zset    slot   ticket ids of the user's answers in flight, scored by expiry ms
  {u:ID}:convs                       zset    none   conversation ids scored by updated time
  {u:ID}:conv:<cid>                  hash    none   conversation meta: title, model, channel, times
  {u:ID}:msgs:<cid>                  list    none   message JSON, oldest first
  {u:ID}:alts:<cid>                  hash    none   edited messages' versions: <group> -> "active/count",
                                                    <group>:<n> -> JSON tail of version n (core.chat.branches)
  {u:ID}:imgs:<cid>                  hash    none   image id -> "<mime>;<base64>" sent in the conversation
  {u:ID}:share:<cid>                 string  none   the shared snapshot of a conversation (JSON)
  share:<share id>                   string  none   a public share link -> "<uid>:<cid>"
  {u:ID}:ctx:<channel>[:<thread>]    string  none   the channel's current conversation id (a thread: a Telegram group)
  {u:ID}:chmodel:<channel>           string  none   the model chosen in a channel (bots' /model)
  {u:ID}:keys                        hash    none   API key id -> key meta JSON (no secret)
  apikey:<sha256>                    string  none   API key digest -> "<uid>:<key id>"
  {u:ID}:presets                     hash    none   prompt preset id -> JSON
  {u:ID}:usage:<yyyymmdd>            hash    400d   "<model>:<requests|prompt|completion>" -> count
  usage:day:<yyyymmdd>               hash    400d   same fields, all users (dashboard charts)
  {mod}:words                        set     none   moderation keyword list (one slot with its version: one MULTI)
  {mod}:words:ver                    string  none   INCR'd on every word-list change (processes rebuild their matcher)
  mod:log                            stream  capped blocked items for the dashboard
  mod:pass:<sha256>                  string  1d     a caller text the remote moderation providers passed
  notice                             hash    none   announcement: version, markdown, updated_at
  {u:ID}:notice_seen                 string  none   the newest announcement version the user has seen
  {u:ID}:prefs                       hash    none   the user's interface preferences (theme)
  tok:baidu                          string  ~30d   cached Baidu access token
  metrics:c                          hash    none   all processes' counters and histogram buckets (core.metrics)
  metrics:g:<instance>               hash    60s    one process's gauges
  metrics:instances                  zset    none   process instances scored by their last flush
  {w:OPENID}:wx:m:<message key>      hash    1h     one WeChat message (key: MsgId, or CreateTime for events): n
                                                    deliveries seen, kind (job|fetch), st (run|done|gone), reply,
                                                    at (arrival); dedupe and the retry hold (channels.wechat)
  {w:OPENID}:wx:out                  list    1d     answer parts waiting for the follower's next message
  {w:OPENID}:wx:wait                 set     1d     message keys whose answer was promised to the next message
  {wxf}:follow:<openid>              hash    none   follower record: state (subscribed|unsubscribed), times
  {wxf}:followers                    zset    none   openids following now, scored by subscribe time
  tok:wechat                         string  ~2h    the shared WeChat access token (one refresher at a time)
  lock:<name>                        string  lease  job / refresher leases (core.store.lease): holder token
  tg:update:<update id>              string  2d     a Telegram update claimed by one process (dedupe)
  chan:bot:<channel>                 string  none   the bot's public name (Telegram @username, for t.me links)
  {audit}:log                        stream  none   dashboard audit log: every change made through the dashboard
  {audit}:actor:<user id>            stream  none   the same entries (same ids) of one administrator
  {audit}:action:<action>            stream  none   the same entries (same ids) of one action, e.g. plan.update
  cfg:site                           hash    none   site settings edited in the dashboard (overrides of settings)
  cfg:moderation                     hash    none   moderation providers in order and fail-open (overrides)
  cfg:upstreams                      hash    none   upstream id -> upstream JSON (keys included); models name ids
  idx:users:search                   zset    none   "<term>\x00<user id>" at score 0: prefix search (ZRANGEBYLEX)
  {u:ID}:search                      set     none   the terms this user is indexed under (removed on change)
  idx:plan_users:<plan>              zset    none   user id scored by the end of its latest subscription of the plan
  {activity}:users                   zset    none   user id scored by its last chat request (sort by active)
  {activity}:day:<yyyymmdd>          hll     400d   users who chatted that day (PFCOUNT over days: active users)
  revenue:day:<yyyymmdd>             hash    400d   paid orders that day: fen (net of refunds), orders
  up:day:<id>:<yyyymmdd>             hash    400d   upstream requests that day: ok, fail, latency_ms (sum over ok)
  up:hour:<id>:<yyyymmddhh>          hash    8d     the same per hour (live success rate and latency)
  reg:ip:<ip>                        string  window accounts registered from one IP (core.accounts.signup_limits)
  reg:net:<network>                  string  window accounts registered from one /24 (IPv4) or /64 (IPv6)
  order:<order id>                   string  none   order id -> owner's user id (claimed with SET NX: ids are unique)
  idx:orders                         zset    none   every order id scored by created_at (dashboard lists)
  idx:orders:pending                 zset    none   orders not yet final (or paid with follow-ups left) by created_at
  pay:cb:unmatched                   list    capped payment callbacks that name no known order, with their verdict
  {u:ID}:order:<order id>            hash    none   one order (core.billing.orders.Order)
  {u:ID}:order:<order id>:cb         list    capped every payment callback / query of that order, with its verdict
  {u:ID}:orders                      zset    none   the user's order ids scored by created_at
  {u:ID}:order_rate                  string  1h     orders opened this hour (ORDERS_PER_HOUR)
  rcode:<sha256>                     hash    none   one redemption code (kind, plan, days, chances, expiry, status)
  rbatch:<batch id>                  hash    none   a batch of redemption codes (what they give, count, expiry)
  rbatch:<batch id>:codes            zset    none   the sha256 digests of a batch's codes, in generation order
  idx:rbatches                       zset    none   batch ids scored by created_at
  redeem:fail:ip:<ip>                string  window wrong redemption codes from one IP
  {u:ID}:redeem_fails                string  window wrong redemption codes from one account
  {u:ID}:redemptions                 hash    none   code digest -> what redeeming it added (JSON)
  {u:ID}:invite_rewards              hash    none   invitee id -> the invitation reward given (or capped), JSON
  {u:ID}:invite_day:<yyyymmdd>       string  2d     invitation rewards given to this inviter that UTC day
  {u:ID}:commissions                 hash    none   invitee's order id -> commission entry JSON (the ledger)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

SCHEMA_VERSION = "v1"


@dataclass(frozen=True)
class Keys:
    prefix: str = "cg"

    @cached_property
    def base(self) -> str:
        return f"{self.prefix}:{SCHEMA_VERSION}"

    def _global(self, *parts: object) -> str:
        return ":".join([self.base, *map(str, parts)])

    def _user(self, user_id: int | str, *parts: object) -> str:
        return ":".join([f"{self.base}:{{u:{user_id}}}", *map(str, parts)])

    # config and sequences
    def jwt_secret(self) -> str:
        return self._global("config", "jwt_secret")

    def user_seq(self) -> str:
        return self._global("seq", "user")

    # accounts
    def user(self, user_id: int | str) -> str:
        return self._user(user_id, "user")

    def email_index(self, email: str) -> str:
        return self._global("idx", "email", email)

    def phone_index(self, phone: str) -> str:
        return self._global("idx", "phone", phone)

    def invite_index(self, code: str) -> str:
        return self._global("idx", "invite", code)

    def users_index(self) -> str:
        return self._global("idx", "users")

    def invitees(self, user_id: int | str) -> str:
        return self._user(user_id, "invitees")

    # channel identities and binding
    def channel_identity(self, channel: str, external_id: str) -> str:
        return self._global("idx", "chan", channel, external_id)

    def channel_identities(self, user_id: int | str) -> str:
        return self._user(user_id, "channels")

    def merging(self, user_id: int | str) -> str:
        return self._user(user_id, "merging")

    def bind_code(self, code: str) -> str:
        return self._global("bind", code)

    def user_bind_code(self, user_id: int | str) -> str:
        return self._user(user_id, "bind_code")

    def bind_fails(self, channel: str, external_id: str) -> str:
        return self._global("bind", "fail", channel, external_id)

    def login_link(self, digest: str) -> str:
        return self._global("login", "link", digest)

    def login_code(self, digest: str) -> str:
        return self._global("login", "code", digest)

    def user_login_code(self, user_id: int | str) -> str:
        return self._user(user_id, "login_code")

    # sessions
    def sessions(self, user_id: int | str) -> str:
        return self._user(user_id, "sessions")

    def session(self, user_id: int | str, session_id: str) -> str:
        return self._user(user_id, "sess", session_id)

    # verification codes and login throttling
    def code(self, purpose: str, target: str) -> str:
        return self._global("code", purpose, target)

    def code_cooldown(self, target: str) -> str:
        return self._global("{codes}", "cool", target)

    def code_daily_target(self, target: str, day: str) -> str:
        return self._global("{codes}", "day", "t", target, day)

    def code_daily_ip(self, ip: str, day: str) -> str:
        return self._global("{codes}", "day", "ip", ip, day)

    def login_fails_account(self, target: str) -> str:
        return self._global("login", "fail", "acct", target)

    def login_fails_ip(self, ip: str) -> str:
        return self._global("login", "fail", "ip", ip)

    # runtime config
    def plans(self) -> str:
        return self._global("cfg", "plans")

    def models(self) -> str:
        return self._global("cfg", "models")

    def config_seeded(self) -> str:
        return self._global("cfg", "seeded")

    def upstream_health(self, upstream_id: str) -> str:
        return self._global("up", "health", upstream_id)

    def upstream_probe(self, upstream_id: str) -> str:
        return self._global("up", "probe", upstream_id)

    # subscriptions and quotas
    def subscriptions(self, user_id: int | str) -> str:
        return self._user(user_id, "subs")

    def quota_window(self, user_id: int | str, model: str) -> str:
        return self._user(user_id, "q", model)

    def daily_tokens(self, user_id: int | str, day: str) -> str:
        return self._user(user_id, "tok", day)

    def token_reservations(self, user_id: int | str) -> str:
        return self._user(user_id, "reserved")

    def streams(self, user_id: int | str) -> str:
        return self._user(user_id, "streams")

    def settled_calls(self, user_id: int | str) -> str:
        return self._user(user_id, "settled")

    # conversations, keys, presets
    def conversations(self, user_id: int | str) -> str:
        return self._user(user_id, "convs")

    def conversation(self, user_id: int | str, conversation_id: str) -> str:
        return self._user(user_id, "conv", conversation_id)

    def messages(self, user_id: int | str, conversation_id: str) -> str:
        return self._user(user_id, "msgs", conversation_id)

    def branches(self, user_id: int | str, conversation_id: str) -> str:
        return self._user(user_id, "alts", conversation_id)

    def images(self, user_id: int | str, conversation_id: str) -> str:
        return self._user(user_id, "imgs", conversation_id)

    def share_snapshot(self, user_id: int | str, conversation_id: str) -> str:
        return self._user(user_id, "share", conversation_id)

    def share(self, share_id: str) -> str:
        return self._global("share", share_id)

    def channel_context(self, user_id: int | str, channel: str, thread: str = "") -> str:
        return self._user(user_id, "ctx", channel, thread) if thread else self._user(user_id, "ctx", channel)

    def channel_model(self, user_id: int | str, channel: str) -> str:
        return self._user(user_id, "chmodel", channel)

    def api_keys(self, user_id: int | str) -> str:
        return self._user(user_id, "keys")

    def api_key_digest(self, digest: str) -> str:
        return self._global("apikey", digest)

    def presets(self, user_id: int | str) -> str:
        return self._user(user_id, "presets")

    # usage accounting
    def user_usage(self, user_id: int | str, day: str) -> str:
        return self._user(user_id, "usage", day)

    def daily_usage(self, day: str) -> str:
        return self._global("usage", "day", day)

    # moderation, notice, tokens, locks
    def moderation_words(self) -> str:
        return self._global("{mod}", "words")

    def moderation_words_version(self) -> str:
        return self._global("{mod}", "words", "ver")

    def moderation_passed(self, digest: str) -> str:
        return self._global("mod", "pass", digest)

    def moderation_log(self) -> str:
        return self._global("mod", "log")

    def notice(self) -> str:
        return self._global("notice")

    def notice_seen(self, user_id: int | str) -> str:
        return self._user(user_id, "notice_seen")

    def preferences(self, user_id: int | str) -> str:
        return self._user(user_id, "prefs")

    def baidu_token(self) -> str:
        return self._global("tok", "baidu")

    def metrics_counters(self) -> str:
        return self._global("metrics", "c")

    def metrics_gauges(self, instance: str) -> str:
        return self._global("metrics", "g", instance)

    def metrics_instances(self) -> str:
        return self._global("metrics", "instances")

    # the WeChat official account (one follower's keys share the tag {w:<openid>})
    def _follower(self, openid: str, *parts: object) -> str:
        return ":".join([f"{self.base}:{{w:{openid}}}", "wx", *map(str, parts)])

    def wechat_message(self, openid: str, message_key: str) -> str:
        return self._follower(openid, "m", message_key)

    def wechat_outbox(self, openid: str) -> str:
        return self._follower(openid, "out")

    def wechat_waiting(self, openid: str) -> str:
        return self._follower(openid, "wait")

    def wechat_follower(self, openid: str) -> str:
        return self._global("{wxf}", "follow", openid)  # one slot with the followers index: a MULTI updates both

    def wechat_followers(self) -> str:
        return self._global("{wxf}", "followers")

    def wechat_token(self) -> str:
        return self._global("tok", "wechat")

    def lock(self, name: str) -> str:
        return self._global("lock", name)

    # bots
    def telegram_update(self, update_id: int) -> str:
        return self._global("tg", "update", update_id)

    def bot_name(self, channel: str) -> str:
        return self._global("chan", "bot", channel)

    # dashboard: audit log, site settings, search and activity indexes, upstream statistics
    def audit_log(self) -> str:
        return self._global("{audit}", "log")

    def audit_by_actor(self, user_id: int | str) -> str:
        return self._global("{audit}", "actor", user_id)

    def audit_by_action(self, action: str) -> str:
        return self._global("{audit}", "action", action)

    def site_config(self) -> str:
        return self._global("cfg", "site")

    def moderation_config(self) -> str:
        return self._global("cfg", "moderation")

    def upstreams(self) -> str:
        return self._global("cfg", "upstreams")

    def user_search(self) -> str:
        return self._global("idx", "users", "search")

    def user_search_terms(self, user_id: int | str) -> str:
        return self._user(user_id, "search")

    def plan_users(self, plan: str) -> str:
        return self._global("idx", "plan_users", plan)

    def active_users(self) -> str:
        return self._global("{activity}", "users")

    def active_day(self, day: str) -> str:
        return self._global("{activity}", "day", day)

    def upstream_day_stats(self, upstream_id: str, day: str) -> str:
        return self._global("up", "day", upstream_id, day)

    def upstream_hour_stats(self, upstream_id: str, hour: str) -> str:
        return self._global("up", "hour", upstream_id, hour)

    def daily_revenue(self, day: str) -> str:
        return self._global("revenue", "day", day)

    # sign-up limits and invitations
    def register_ip(self, ip: str) -> str:
        return self._global("reg", "ip", ip)

    def register_network(self, network: str) -> str:
        return self._global("reg", "net", network)

    def invite_rewards(self, user_id: int | str) -> str:
        return self._user(user_id, "invite_rewards")

    def invite_reward_day(self, user_id: int | str, day: str) -> str:
        return self._user(user_id, "invite_day", day)

    def commissions(self, user_id: int | str) -> str:
        return self._user(user_id, "commissions")

    # orders and payments
    def order_owner(self, order_id: str) -> str:
        return self._global("order", order_id)

    def orders_index(self) -> str:
        return self._global("idx", "orders")

    def pending_orders(self) -> str:
        return self._global("idx", "orders", "pending")

    def unmatched_callbacks(self) -> str:
        return self._global("pay", "cb", "unmatched")

    def order(self, user_id: int | str, order_id: str) -> str:
        return self._user(user_id, "order", order_id)

    def order_callbacks(self, user_id: int | str, order_id: str) -> str:
        return self._user(user_id, "order", order_id, "cb")

    def user_orders(self, user_id: int | str) -> str:
        return self._user(user_id, "orders")

    def order_rate(self, user_id: int | str) -> str:
        return self._user(user_id, "order_rate")

    # redemption codes
    def redemption_code(self, digest: str) -> str:
        return self._global("rcode", digest)

    def redemption_batch(self, batch_id: str) -> str:
        return self._global("rbatch", batch_id)

    def redemption_batch_codes(self, batch_id: str) -> str:
        return self._global("rbatch", batch_id, "codes")

    def redemption_batches(self) -> str:
        return self._global("idx", "rbatches")

    def redeem_fails_ip(self, ip: str) -> str:
        return self._global("redeem", "fail", "ip", ip)

    def redeem_fails_user(self, user_id: int | str) -> str:
        return self._user(user_id, "redeem_fails")

    def redemptions(self, user_id: int | str) -> str:
        return self._user(user_id, "redemptions")
