"""The dashboard's texts: key -> (zh-CN, English), added to the shared ones (web.messages) and core's errors."""

from __future__ import annotations

from core.i18n import ERROR_MESSAGES, Catalogue
from web.messages import SHARED_MESSAGES

ADMIN_MESSAGES: dict[str, tuple[str, str]] = {
    "admin.title": ("管理后台", "Dashboard"),
    "admin.sign_in": ("管理员登录", "Administrator sign in"),
    "admin.sign_in_intro": ("仅限管理员账号。", "Administrator accounts only."),
    "admin.signed_in_as": ("管理员：{name}", "Admin: {name}"),
    "admin.nav": ("管理导航", "Dashboard navigation"),
    "admin.nav.users": ("用户", "Users"),
    "admin.nav.plans": ("套餐", "Plans"),
    "admin.nav.orders": ("订单", "Orders"),
    "admin.nav.models": ("模型与上游", "Models & upstreams"),
    "admin.nav.moderation": ("内容审核", "Moderation"),
    "admin.nav.announcements": ("公告", "Announcements"),
    "admin.nav.settings": ("设置", "Settings"),
    "admin.coming": ("此部分将在后续版本中提供。", "This section arrives in a later release."),
    "admin.coming_detail": (
        "管理面板的各项功能正在开发中。目前可使用命令行 chatgate 管理站点。",
        "The dashboard's tools are being built. Until then, manage the site with the chatgate command line.",
    ),
    "admin.menu": ("菜单", "Menu"),
}

CATALOGUE = Catalogue(ERROR_MESSAGES, SHARED_MESSAGES, ADMIN_MESSAGES)
