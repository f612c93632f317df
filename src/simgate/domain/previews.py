"""Link-preview fetchers: the one documented list.

Messaging apps and social sites fetch a link as soon as it is shown to draw a
preview card. Those fetches are redirected like any other but are not clicks
by a person: they are stored as previews and send no `clics` webhook.
"""

from __future__ import annotations

# Lower-case substrings of User-Agent headers.
PREVIEW_AGENTS: tuple[str, ...] = (
    "whatsapp",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "telegrambot",
    "twitterbot",
    "slackbot",
    "slack-imgproxy",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "microsoftpreview",
    "applebot",
    "iframely",
    "embedly",
    "pinterest",
    "redditbot",
    "viber",
    "snapchat",
    "googlebot",
    "google-pagerenderer",
    "bingpreview",
    "bingbot",
    "yandexbot",
    "mastodon",
    "signal",  # Signal's link previews identify as such only on some platforms
    "line-poker",
    "kakaotalk-scrap",
    "vkshare",
    "outbrain",
    "bot",
    "crawler",
    "spider",
    "preview",
)


def is_preview(user_agent: str | None, method: str) -> bool:
    """A HEAD request, or a User-Agent of a known preview fetcher."""
    if method.upper() == "HEAD":
        return True
    if not user_agent:
        return False
    agent = user_agent.lower()
    return any(marker in agent for marker in PREVIEW_AGENTS)
