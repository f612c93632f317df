"""The dashboard's use cases, one module per page, always scoped to one account.

Every function takes the account id (or Account) first so that no page can
read or change another account's rows. Times in and out are naive UTC; the
web layer shows them in the account's time zone.
"""

from simgate.services.dashboard import calls, contacts, links, messages, overview, webhooks

__all__ = ["calls", "contacts", "links", "messages", "overview", "webhooks"]
