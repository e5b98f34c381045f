"""The chat page's texts for its round-two features (webui.chat_messages has the rest): quota and limit states,
versions, token counts, per-chat settings and masks, export and sharing, pictures, voice, the theme."""

from __future__ import annotations

CHAT_FEATURE_MESSAGES: dict[str, tuple[str, str]] = {
    # --- quota, limits, sending ------------------------------------------------------------------------------------
    "chat.used_up": ("已用完", "used up"),
    "chat.used_up_now": ("{model} 的额度已用完。", "{model} is used up."),
    "chat.frees_at": ("{time} 恢复（{wait}后）。", "It frees at {time} (in {wait})."),
    "chat.switch_to": ("改用 {model}（剩 {n} 次）", "Switch to {model} ({n} left)"),
    "chat.kept_model": (
        "这个对话用的是 {model}，它的额度已用完，所以继续使用 {kept}。",
        "This chat used {model}, which is used up, so you stay on {kept}.",
    ),
    "chat.too_long_now": (
        "消息超出 {over} 个字符（上限 {max}），请缩短后再发送。",
        "The message is {over} characters over the limit of {max}; shorten it to send it.",
    ),
    "chat.err.too_long_by": (
        "你的消息有 {length} 个字符，上限是 {max}，请删减 {over} 个字符，或分成几条发送。",
        "Your message has {length} characters and the limit is {max}: cut {over}, or send it in parts.",
    ),
    "chat.err.too_long_max": ("每条消息最多 {max} 个字符。", "A message may have at most {max} characters."),
    "chat.err.server_said": ("服务器的说明：{reason}", "The server says: {reason}"),
    "chat.err.too_large_text": (
        "消息连同图片超过了大小上限。请删掉一张图片或换小一点的图片。",
        "The message with its pictures is over the size limit. Remove a picture or use smaller ones.",
    ),
    "chat.sending": ("发送中…", "Sending…"),
    "chat.stop_costs": ("停止生成（本条仍计入额度）", "Stop generating (the message still counts)"),
    "chat.regenerate_costs": ("重新生成（计一次额度）", "Regenerate (uses one message)"),
    "chat.edit_costs": ("编辑（重新发送计一次额度）", "Edit (sending it uses one message)"),
    "chat.edit_note": (
        "发送后会计一次额度；原来的问题和回答会保留为上一个版本。",
        "Sending uses one message; the original question and answers stay as the previous version.",
    ),
    # --- versions, tokens, truncation ------------------------------------------------------------------------------
    "chat.versions": ("问题的版本", "Versions of this question"),
    "chat.version": ("{n} / {count}", "{n} / {count}"),
    "chat.version_prev": ("上一个版本", "Previous version"),
    "chat.version_next": ("下一个版本", "Next version"),
    "chat.tokens": ("{n} tokens", "{n} tokens"),
    "chat.truncated": (
        "回答太长，只保存了前 {n} 个字符。",
        "Answer truncated: only the first {n} characters were kept.",
    ),
    "chat.diagram": ("图表", "Diagram"),
    "chat.diagram_code": ("代码", "Code"),
    "chat.diagram_error": ("无法绘制这个图表，下面是它的代码。", "This diagram could not be drawn; here is its code."),
    # --- per-chat settings and masks -------------------------------------------------------------------------------
    "chat.settings": ("对话设置", "Chat settings"),
    "chat.settings_scope": (
        "只对这个对话生效，保存在服务器上，你的所有设备都一样。",
        "These apply to this chat only and are kept on the server, so all your devices see them.",
    ),
    "chat.settings_scope_new": (
        "用于这个新对话，发送第一条消息时一起保存。",
        "For this new chat; they are saved with its first message.",
    ),
    "chat.settings_system": ("系统提示", "System prompt"),
    "chat.settings_system_placeholder": (
        "例如：你是一名严谨的编辑，请用简洁的中文回答。",
        "e.g. You are a careful editor. Answer briefly.",
    ),
    "chat.settings_from": ("来自：{name}", "From: {name}"),
    "chat.settings_pick_mask": ("从面具或我的预设中选择…", "Pick from the masks or my presets…"),
    "chat.settings_temperature": ("随机性（temperature）", "Creativity (temperature)"),
    "chat.settings_temperature_hint": (
        "越低越稳定，越高越有创意。",
        "Lower is more focused, higher is more creative.",
    ),
    "chat.settings_use_default": ("使用模型默认值", "Use the model's default"),
    "chat.settings_default": ("默认", "Default"),
    "chat.settings_max_tokens": ("回答最大长度（tokens）", "Longest answer (tokens)"),
    "chat.settings_tokens_invalid": ("请输入正整数，或留空使用默认值。", "Enter a whole number, or leave it empty."),
    "chat.settings_context": ("每次附带的历史消息数", "Earlier messages sent with each question"),
    "chat.settings_context_hint": (
        "越少越省 tokens，但模型记得的上下文也越少。",
        "Fewer saves tokens, but the model remembers less of the chat.",
    ),
    "chat.settings_all": ("全部（放得下的）", "All that fit"),
    "chat.settings_reset": ("恢复默认", "Reset to defaults"),
    "chat.settings_saved": ("设置已保存", "Settings saved"),
    "chat.custom_prompt": ("自定义提示", "Custom prompt"),
    "chat.masks": ("面具", "Masks"),
    "chat.my_presets": ("我的预设", "My presets"),
    # --- export and share ------------------------------------------------------------------------------------------
    "chat.export_share": ("导出与分享", "Export and share"),
    "chat.export_md": ("导出 Markdown", "Export as Markdown"),
    "chat.export_json": ("导出 JSON", "Export as JSON"),
    "chat.export_png": ("导出为图片（PNG）", "Export as image (PNG)"),
    "chat.export_png_busy": ("正在生成图片…", "Making the image…"),
    "chat.export_png_done": ("图片已下载", "Image downloaded"),
    "chat.export_png_failed": (
        "图片生成失败，请改用 Markdown 导出。",
        "Could not make the image; export Markdown instead.",
    ),
    "chat.share_title": ("分享“{title}”", "Share “{title}”"),
    "chat.share_intro": (
        "任何拿到链接的人都能只读地查看此刻的对话内容，看不到你的账户信息，也看不到之后的新消息。搜索引擎不会收录。"
        "你可以随时停止分享。",
        "Anyone with the link can read this chat as it is now: not your account, not later messages. Search engines "
        "do not index it. You can stop sharing at any time.",
    ),
    "chat.share_create": ("创建链接", "Create link"),
    "chat.share_link": ("分享链接", "Share link"),
    "chat.share_when": ("快照时间：{time}", "Snapshot of {time}"),
    "chat.share_live": (
        "链接有效中。更新后，它会显示最新的内容。",
        "The link is live. Update it to show the latest messages.",
    ),
    "chat.share_update": ("更新为最新内容", "Update to the latest"),
    "chat.share_revoke": ("停止分享", "Stop sharing"),
    "chat.share_created": ("分享链接已创建", "Share link created"),
    "chat.share_updated": ("分享内容已更新", "Share link updated"),
    "chat.share_revoked": ("已停止分享，链接已失效", "Sharing stopped: the link no longer works"),
    # --- pictures, voice, theme ------------------------------------------------------------------------------------
    "chat.image_add": ("添加图片", "Add pictures"),
    "chat.image_n": ("图片 {n}", "Picture {n}"),
    "chat.image_remove": ("移除图片 {n}", "Remove picture {n}"),
    "chat.image_max": ("每条消息最多 {n} 张图片。", "At most {n} pictures per message."),
    "chat.image_unreadable": ("无法读取这张图片。", "That picture could not be read."),
    "chat.image_not_supported": (
        "{model} 不支持图片，请换一个支持图片的模型。",
        "{model} does not take pictures; pick a model that does.",
    ),
    "chat.image_too_big": (
        "图片太大：这条消息有 {size}，上限 {max}。请删掉一张图片。",
        "The pictures are too big: this message is {size} and the limit is {max}. Remove a picture.",
    ),
    "chat.voice": ("语音输入", "Voice input"),
    "chat.voice_stop": ("停止语音输入", "Stop voice input"),
    "chat.voice_denied": ("没有麦克风权限。", "Microphone access was denied."),
    "chat.voice_failed": ("语音识别不可用，请稍后再试。", "Speech recognition is not available right now."),
    "chat.theme": ("主题", "Theme"),
    "chat.theme.system": ("跟随系统", "System"),
    "chat.theme.light": ("浅色", "Light"),
    "chat.theme.dark": ("深色", "Dark"),
}
