"""ChatGate's domain core: plain Python over the store. Imports none of quart, aiogram or wechatpy."""
