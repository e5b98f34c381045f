"""The one settings object: environment + `.env`, built once by the composition root and passed down.

Names follow the original ChatGPT-Admin-Web table (shared/seed) where one exists; `.env.example` documents all.
Secrets are `SecretStr` so they never print. Nothing here is read at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

UNSAFE_SECRETS = frozenset({"", "secret", "changeme", "change-me", "jwt_secret", "your-secret", "123456"})
MIN_SECRET_LENGTH = 32


def _csv(value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True)

    # --- runtime -------------------------------------------------------------------------------------------------
    CHATGATE_ENV: Literal["dev", "prod", "test"] = "prod"
    DATA_DIR: Path = Path("./data")
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    ADMIN_HOST: str = "127.0.0.1"
    ADMIN_PORT: int = 8001
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    MAX_BODY_BYTES: int = 1_000_000
    V1_MAX_BODY_BYTES: int = 20_000_000  # /v1 bodies (images inline as base64); the web API keeps MAX_BODY_BYTES
    V1_CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)  # /v1 only; "*" = any origin
    TRUST_PROXY_HEADERS: bool = False
    TRUSTED_PROXY_COUNT: int = 1
    ADMIN_ALLOWED_HOSTS: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]"]
    )
    EVENT_LOOP: Literal["auto", "asyncio", "uvloop"] = "auto"
    WEB_CONCURRENCY: int = 1
    WORKER_CPU_AFFINITY: Literal["off", "auto"] = "off"

    # --- site ----------------------------------------------------------------------------------------------------
    NEXT_PUBLIC_TITLE: str = "ChatGate"
    NEXT_PUBLIC_WECHAT_OA: str = ""
    DOMAIN: str = ""  # unset: links are built from the host each request came to
    SUPPORT_CONTACT: str = ""
    CALLBACK_DOMAIN: str = ""
    DEFAULT_LANGUAGE: Literal["zh-CN", "en"] = "zh-CN"

    # --- store ---------------------------------------------------------------------------------------------------
    REDIS_URL: str = ""
    REDIS_TOKEN: SecretStr = SecretStr("")
    REDIS_KEY_PREFIX: str = "cg"
    REDIS_CLUSTER: bool = False
    EMBEDDED_STORE_BINARY: str = ""
    EMBEDDED_STORE_FSYNC: Literal["always", "everysec"] = "always"  # the embedded store's appendfsync

    # --- auth ----------------------------------------------------------------------------------------------------
    JWT_SECRET: SecretStr = SecretStr("")
    SESSION_TTL_DAYS: int = 7
    INVITE_RESET_CHANCES: int = 1
    LOGIN_MAX_FAILS_PER_ACCOUNT: int = 10
    LOGIN_MAX_FAILS_PER_IP: int = 50
    LOGIN_FAIL_WINDOW_SECONDS: int = 900
    BIND_CODE_SECONDS: int = 600
    MAX_SESSIONS_PER_USER: int = 20
    BIND_MAX_FAILS: int = 5
    CODE_TTL_SECONDS: int = 300
    CODE_COOLDOWN_SECONDS: int = 60
    CODE_MAX_TRIES: int = 5
    CODE_DAILY_CAP_PER_TARGET: int = 10
    CODE_DAILY_CAP_PER_IP: int = 30
    # argon2id cost (RFC 9106 low-memory profile by default); lower only on very small machines, or in tests
    PASSWORD_HASH_TIME_COST: int = Field(default=3, ge=1)
    PASSWORD_HASH_MEMORY_KIB: int = Field(default=65_536, ge=1_024)

    # --- email (NEXT_PUBLIC_EMAIL_SERVICE = smtp | mailgun | elastic | console) -----------------------------------
    NEXT_PUBLIC_EMAIL_SERVICE: str = ""
    MAILGUN_EMAIL_DOMAIN: str = ""
    MAILGUN_EMAIL_API_KEY: SecretStr = SecretStr("")
    MAILGUN_API_BASE: str = "https://api.mailgun.net"
    MAILGUN_SENDER: str = ""
    ELASTICE_EMAIL_API_KEY: SecretStr = SecretStr("")
    ELASTICE_EMAIL_SENDER: str = ""
    ELASTIC_EMAIL_API_BASE: str = "https://api.elasticemail.com"
    SMTP_HOST: str = ""
    SMTP_PORT: int = 587
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: SecretStr = SecretStr("")
    SMTP_EMAIL: str = ""
    SMTP_TLS: Literal["none", "starttls", "tls"] = "starttls"
    SMTP_TIMEOUT: float = 15.0
    SMTP_CA_FILE: str = ""

    # --- SMS (SMS_PROVIDER = aliyun | tencent | console) ---------------------------------------------------------
    SMS_PROVIDER: str = ""
    SMS_ACCESS_KEY_ID: str = ""
    SMS_ACCESS_KEY_SECRET: SecretStr = SecretStr("")
    SMS_SIGN_NAME: str = ""
    SMS_TEMPLATE_CODE: str = ""
    SMS_SDK_APP_ID: str = ""
    SMS_REGION: str = "ap-guangzhou"
    ALIYUN_SMS_ENDPOINT: str = "https://dysmsapi.aliyuncs.com"
    TENCENT_SMS_ENDPOINT: str = "https://sms.tencentcloudapi.com"

    # --- models and upstreams (seed for the runtime config kept in the store) ------------------------------------
    OPENAI_ENDPOINT: str = "https://api.openai.com"
    OPENAI_API_KEY: SecretStr = SecretStr("")
    OPENAI_MODELS: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["gpt-4o-mini", "gpt-4o"])
    UPSTREAM_CONNECT_TIMEOUT: float = 10.0
    UPSTREAM_FIRST_BYTE_TIMEOUT: float = 60.0
    UPSTREAM_IDLE_TIMEOUT: float = 60.0
    UPSTREAM_BENCH_SECONDS: int = 60
    UPSTREAM_FAILS_TO_BENCH: int = 3
    CONVERSATION_MAX_COUNT: int = 500
    CONVERSATION_MAX_MESSAGES: int = 400
    MESSAGE_MAX_CHARS: int = 32_000
    ANSWER_MAX_CHARS: int = 200_000
    AUTO_TITLES: bool = True
    TITLE_MODEL: str = ""
    TIKTOKEN_CACHE_DIR: str = ""
    # abuse resistance on the chat path: big token counts run in a small thread pool, never on the event loop
    TOKEN_COUNT_WORKERS: int = Field(default=2, ge=1, le=32)
    MAX_STREAMS_PER_USER: int = Field(default=8, ge=0)  # answers in flight per user, all processes (0 = no limit)
    STREAM_SLOT_SECONDS: int = Field(default=300, ge=10)  # a slot is renewed while its answer runs

    # --- moderation (TEXT_SECURITY = comma list of keywords, tencent, baidu, openai) -----------------------------
    TEXT_SECURITY: Annotated[list[str], NoDecode] = Field(default_factory=list)
    MODERATION_FAIL_OPEN: bool = True
    MODERATION_ON_REVIEW: Literal["pass", "block"] = "pass"
    MODERATION_OUTPUT_CHUNK_CHARS: int = 200
    MODERATION_TIMEOUT_SECONDS: float = 5.0
    MODERATION_WORDS_REFRESH_SECONDS: float = 1.0
    OPENAI_MODERATION_ENDPOINT: str = ""
    OPENAI_MODERATION_MODEL: str = "omni-moderation-latest"
    TENCENT_SECRETID: str = ""
    TENCENT_SECRETKEY: SecretStr = SecretStr("")
    TENCENT_REGION: str = "ap-guangzhou"
    TENCENT_TMS_ENDPOINT: str = "https://tms.tencentcloudapi.com"
    TENCENT_TMS_BIZTYPE: str = ""
    BAIDU_APIKEY: str = ""
    BAIDU_SECRETKEY: SecretStr = SecretStr("")
    BAIDU_API_BASE: str = "https://aip.baidubce.com"

    # --- WeChat official account (channels.wechat; on when WECHAT_TOKEN is set) ---------------------------------
    WECHAT_PATH: str = "/wechat"
    WECHAT_TOKEN: SecretStr = SecretStr("")
    WECHAT_APPID: str = ""
    WECHAT_APPSECRET: SecretStr = SecretStr("")
    WECHAT_AES_KEY: SecretStr = SecretStr("")
    WECHAT_API_BASE: str = "https://api.weixin.qq.com"
    WECHAT_MODE: Literal["subscription", "service"] = "subscription"
    # How long WeChat waits for a reply before it retries (its platform's rule, 5 s; lower only in tests).
    WECHAT_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0.2)

    # --- payments, orders and subscriptions ----------------------------------------------------------------------
    XUNHU_PAY_APPID: str = ""
    XUNHU_PAY_APPSECRET: SecretStr = SecretStr("")
    XUNHU_PAY_GATEWAY: str = "https://api.xunhupay.com"
    CYCLE_MONTHLY_DAYS: int = Field(default=30, ge=1, le=3660)
    CYCLE_QUARTERLY_DAYS: int = Field(default=90, ge=1, le=3660)
    CYCLE_YEARLY_DAYS: int = Field(default=365, ge=1, le=3660)
    ORDER_EXPIRE_SECONDS: int = Field(default=7200, ge=60)
    ORDER_RECONCILE_AFTER_SECONDS: int = Field(default=180, ge=0)
    ORDER_RECONCILE_INTERVAL_SECONDS: float = Field(default=60.0, gt=0)
    ORDERS_PER_HOUR: int = Field(default=20, ge=1)
    REDEEM_MAX_FAILS: int = Field(default=10, ge=1)
    REDEEM_MAX_FAILS_PER_IP: int = Field(default=30, ge=1)

    # --- sign-up limits and invitation rewards ---------------------------------------------------------------------
    REGISTER_MAX_PER_IP: int = Field(default=10, ge=1)
    REGISTER_MAX_PER_SUBNET: int = Field(default=30, ge=1)
    REGISTER_WINDOW_SECONDS: int = Field(default=3600, ge=1)
    INVITE_REWARDS_PER_DAY: int = Field(default=5, ge=0)
    INVITE_BONUS_DAYS: int = Field(default=0, ge=0, le=3660)
    INVITE_BONUS_PLAN: str = ""
    INVITE_COMMISSION_PERCENT: int = Field(default=0, ge=0, le=100)
    INVITE_COMMISSION_DAYS: int = Field(default=365, ge=0)

    # --- Telegram bot (channels/telegram; on when TELEGRAM_BOT_TOKEN is set) -------------------------------------
    TELEGRAM_BOT_TOKEN: SecretStr = SecretStr("")
    TELEGRAM_MODE: Literal["webhook", "polling"] = "polling"
    TELEGRAM_WEBHOOK_SECRET: SecretStr = SecretStr("")
    TELEGRAM_API_BASE: str = "https://api.telegram.org"
    TELEGRAM_STREAMING: Literal["draft", "edit"] = "draft"

    # --- accepted for compatibility with the original, unused --------------------------------------------------
    BING_COOKIE: SecretStr = SecretStr("")
    EDGE_CONFIG: str = ""

    @field_validator("OPENAI_MODELS", "TEXT_SECURITY", "ADMIN_ALLOWED_HOSTS", "V1_CORS_ORIGINS", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> list[str]:
        return _csv(value)

    @field_validator("WECHAT_PATH", mode="after")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/") or "?" in value or "#" in value:
            raise ValueError("WECHAT_PATH must be a path starting with /, e.g. /wechat")
        return value

    @field_validator(
        "OPENAI_ENDPOINT",
        "DOMAIN",
        "CALLBACK_DOMAIN",
        "XUNHU_PAY_GATEWAY",
        "TELEGRAM_API_BASE",
        "WECHAT_API_BASE",
        mode="after",
    )
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_dev(self) -> bool:
        return self.CHATGATE_ENV in ("dev", "test")

    @property
    def secure_cookies(self) -> bool:
        return self.DOMAIN.startswith("https://")

    @property
    def callback_base(self) -> str:
        return self.CALLBACK_DOMAIN or self.DOMAIN

    @property
    def payments_enabled(self) -> bool:
        """XunhuPay is set up: an app id and its secret."""
        return bool(self.XUNHU_PAY_APPID and self.XUNHU_PAY_APPSECRET.get_secret_value())

    def cycle_days(self, cycle: str) -> int:
        """Return the length in days of a billing cycle (monthly, quarterly, yearly)."""
        return {"monthly": self.CYCLE_MONTHLY_DAYS, "quarterly": self.CYCLE_QUARTERLY_DAYS,
                "yearly": self.CYCLE_YEARLY_DAYS}[cycle]  # fmt: skip

    def console_delivery_problem(self) -> str | None:
        """Say why a `console` code provider is refused here: it logs codes instead of delivering them (dev only)."""
        named = [
            name for name, value in (("NEXT_PUBLIC_EMAIL_SERVICE", self.NEXT_PUBLIC_EMAIL_SERVICE),
                                     ("SMS_PROVIDER", self.SMS_PROVIDER))
            if value.strip().lower() == "console"
        ]  # fmt: skip
        if not named:
            return None
        return f"{' and '.join(named)}=console writes verification codes to the log; use it only with CHATGATE_ENV=dev"

    def jwt_secret_problem(self) -> str | None:
        """Say why the configured JWT secret is unsafe, or None (unset means: generate one in the store)."""
        value = self.JWT_SECRET.get_secret_value()
        if not value:
            return None
        if value.lower() in UNSAFE_SECRETS or len(value) < MIN_SECRET_LENGTH:
            return f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} random characters"
        return None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and `.env`; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
