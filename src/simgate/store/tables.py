"""The schema, in SQLAlchemy Core. Datetimes are naive UTC.

Alembic migrations in `store/migrations/versions` create exactly this; a test
checks that the two do not drift.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only gives AUTOINCREMENT-like rowids to INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("region", String(2), nullable=False),
    Column("password_hash", String(255)),
    Column("webhook_message", Text),
    Column("webhook_calls", Text),
    Column("webhook_clics", Text),
    Column("webhook_qualification", Text),
    Column("webhook_status", Text),
    Column("webhook_secret", String(128)),
    Column("created_at", DateTime, nullable=False),
    # Bumped in the same transaction as every change to the account's contact
    # names, numbers or liveness: a node's in-memory search index is current
    # while this has not moved (services/contact_book).
    Column("contacts_stamp", Integer, nullable=False, default=0, server_default="0"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("prefix", String(16), nullable=False),  # shown in listings to tell keys apart
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("rate_per_minute", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime),
    Column("online_node", String(120)),  # node holding its socket, NULL when offline
    Column("removed_at", DateTime),
    # `agent` (holds simgate's WebSocket) or `smsgate` (the SMS Gateway for
    # Android app in private-server mode, api/mobile.py).
    Column("kind", String(16), nullable=False, default="agent", server_default="agent"),
    # smsgate only: the hash of the "Private Token" the app registers with, the
    # key that signs the app's webhooks (kept in clear: HMAC needs it), and what
    # the app said at registration.
    Column("pairing_hash", String(64), unique=True),
    Column("signing_key", String(64)),
    Column("push_token", String(256)),
    # The SIM slot (1-based) the device sends from when a message names none;
    # NULL: the phone's own choice (its default SIM).
    Column("sim_number", Integer),
    Column("app_info", Text),  # model and SIM cards, as the app reported them (JSON)
    # The SIM slots the device declared when it last connected (a JSON list of
    # 1-based slots, e.g. "[1,2]"); NULL: it never said (one SIM assumed).
    Column("sims", Text),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("id_sms_api", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),  # to tell a repeat from a reuse
    Column("phone_number", String(20), nullable=False),
    Column("message", Text, nullable=False),  # final text, short link included
    Column("url", Text),
    Column("short_code", String(16), unique=True),
    Column("priority", Integer, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("send_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # Hand-overs not acknowledged in time; after a few the message fails (see dispatch).
    Column("handovers", Integer, nullable=False, default=0, server_default="0"),
    Column("device_id", Integer, ForeignKey("devices.id")),
    Column("lease_until", DateTime),
    Column("dispatched_at", DateTime),
    Column("acked_at", DateTime),  # the device confirmed it holds the message
    Column("sent_at", DateTime),
    Column("delivered_at", DateTime),
    Column("failed_at", DateTime),
    Column("fail_reason", Text),
    # The campaign that made it (v2 campaigns/start), NULL for API and dashboard
    # sends. No foreign key: adding one would make SQLite copy the whole table
    # on upgrade, and campaigns are never deleted.
    Column("campaign_id", Integer),
    # Sending policy (DESIGN section 11, docs/policy.md). Past valid_until a
    # message not yet handed to a phone ends `expired`; NULL: no limit.
    Column("valid_until", DateTime),
    # The SIM slot (1-based) it must leave from; NULL: any device, its default SIM.
    Column("sim", Integer),
    # Whether it keeps to the account's sending window (campaigns, marketing).
    Column("windowed", Boolean, nullable=False, default=False, server_default="0"),
    UniqueConstraint("account_id", "id_sms_api"),
    Index("ix_messages_due", "state", "send_at"),
    # Every newest-first list ends its keys with `id` (the keyset's tie-break), so
    # that PostgreSQL reads a page straight off the index with no sort step
    # (SQLite has the rowid in every index anyway). docs/dashboard.md, "Lists".
    # The Messages page and v2 sms, unfiltered or by date.
    Index("ix_messages_account_created_id", "account_id", "created_at", "id"),
    # A conversation, and every list filtered by number (v2 sms, dashboard).
    Index("ix_messages_account_phone_id", "account_id", "phone_number", "created_at", "id"),
    # The Messages page filtered by state.
    Index("ix_messages_account_state", "account_id", "state", "created_at", "id"),
    # The Links page: only messages with a tracked link (a partial index).
    Index(
        "ix_messages_account_links",
        "account_id",
        "created_at",
        "id",
        sqlite_where=text("short_code IS NOT NULL"),
        postgresql_where=text("short_code IS NOT NULL"),
    ),
    # A campaign's counts by state, and its cancel.
    Index("ix_messages_campaign", "campaign_id", "state"),
    # What expires next among messages not yet handed over (the dispatcher's sweep).
    Index("ix_messages_expiring", "state", "valid_until"),
    # An account's queue in sending order (the dispatcher's claim): only queued
    # rows, so that a claim reads the messages it hands over, never the backlog
    # of other accounts or the history.
    Index(
        "ix_messages_queue",
        "account_id",
        text("priority DESC"),
        "send_at",
        "id",
        sqlite_where=text("state = 'queued'"),
        postgresql_where=text("state = 'queued'"),
    ),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("state", String(12), nullable=False),
    Column("device_id", Integer),
    Column("detail", Text),
    Index("ix_message_events_at", "at"),  # for pruning old events (store/retention.py)
)

# Reports a device sent (received SMS, call events...), by the device's own
# reference: a report re-sent after a reconnect is stored once.
device_refs = Table(
    "device_refs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("device_id", "ref"),
    Index("ix_device_refs_created_at", "created_at"),  # for pruning
)

link_clicks = Table(
    "link_clicks",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False, index=True),
    Column("clicked_at", DateTime, nullable=False),
    Column("user_agent", Text),
    Column("ip", String(64)),
    Column("is_preview", Boolean, nullable=False, default=False),
    # The message's account, copied so that an account's latest clicks and its
    # clicks in a date range (v2 stats) are one index range, whatever its
    # number of messages. No foreign key, as for messages.campaign_id: adding
    # one would make SQLite copy the table on upgrade.
    Column("account_id", Integer),
    Index("ix_link_clicks_account_clicked", "account_id", "clicked_at"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("phone_number", String(20), nullable=False),
    Column("firstname", Text, nullable=False, default=""),
    Column("lastname", Text, nullable=False, default=""),
    Column("address", Text, nullable=False, default=""),
    Column("email", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Shared with the team (pro) or private (v2 contacts/switch_pro).
    Column("pro", Boolean, nullable=False, default=False, server_default="0"),
    # The account's custom fields (custom_fields) for this contact: a JSON object
    # of name → text, NULL when it has none.
    Column("custom", Text),
    # "first last" folded (domain/search.fold): what name searches compare.
    Column("search_name", Text, nullable=False, default="", server_default=""),
    # Soft delete: gone from every answer and count, back when upserted again.
    Column("deleted_at", DateTime),
    # accounts.contacts_stamp of the last write to its name, number or
    # liveness: a node's search index reads only the rows changed since.
    Column("stamp", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("account_id", "phone_number"),
    # v2 `contacts` pages sorted by date, last name or first name (keyset;
    # first name sorts by the folded "first last", accents and case aside).
    Index("ix_contacts_account_created", "account_id", "created_at", "id"),
    Index("ix_contacts_account_lastname", "account_id", "lastname", "id"),
    Index("ix_contacts_account_search_name", "account_id", "search_name", "id"),
    # The dashboard's Contacts page (by last name, then first name).
    Index("ix_contacts_account_names", "account_id", "lastname", "firstname", "id"),
    Index("ix_contacts_account_stamp", "account_id", "stamp"),
)

# Tags are lower-cased, trimmed strings (DESIGN section 9).
contact_tags = Table(
    "contact_tags",
    metadata,
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Index("ix_contact_tags_account_tag", "account_id", "tag"),
)

# The custom fields an account gives its contacts ({custom.NAME} in templates).
custom_fields = Table(
    "custom_fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("label", Text, nullable=False, default="", server_default=""),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("account_id", "name"),
)

contact_lists = Table(
    "contact_lists",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default="", server_default=""),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

list_members = Table(
    "list_members",
    metadata,
    Column("list_id", Integer, ForeignKey("contact_lists.id"), primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("added_at", DateTime, nullable=False),
    Index("ix_list_members_contact_id", "contact_id"),
    # A list's members in the order they were added (its page, v2 lists/detail).
    Index("ix_list_members_list_added", "list_id", "added_at", "contact_id"),
)

templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# status: 0 ready, 1 sending, 2 no recipients, 3 completed, 4 cancelled
# (DESIGN section 9; domain/campaigns.py names them).
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("url", Text),
    Column("priority", Integer, nullable=False, default=0, server_default="0"),
    Column("status", Integer, nullable=False, default=0, server_default="0"),
    Column("list_id", Integer),  # the list it was made from; the list may be gone since
    Column("template_id", Integer),  # the template it was made from, if any
    Column("send_at", DateTime),  # NULL: at once when started
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("cancelled_at", DateTime),
    Column("completed_at", DateTime),
    Index("ix_campaigns_account_created_id", "account_id", "created_at", "id"),
)

# Who a campaign goes to, fixed when it is made: one row per E.164 number.
campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("phone_number", String(20), nullable=False),
    Column("contact_id", Integer),
    UniqueConstraint("campaign_id", "phone_number"),
)

incoming_sms = Table(
    "incoming_sms",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("device_id", Integer, ForeignKey("devices.id")),
    Column("from_number", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
    Index("ix_incoming_sms_account_received_id", "account_id", "received_at", "id"),
    Index("ix_incoming_sms_account_from_id", "account_id", "from_number", "received_at", "id"),
)

calls = Table(
    "calls",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("device_id", Integer, ForeignKey("devices.id")),
    Column("kind", String(16), nullable=False),  # one of simgate._wire.CALL_KINDS
    Column("phone_number", String(32), nullable=False),
    Column("call_time", DateTime, nullable=False),
    Column("duration", String(16), nullable=False),
    Index("ix_calls_account_time_id", "account_id", "call_time", "id"),
    # Calls with one number (v2 calls, qualifications by phone).
    Index("ix_calls_account_phone_id", "account_id", "phone_number", "call_time", "id"),
    # v2 calls of one type (missed, incoming, outgoing).
    Index("ix_calls_account_kind", "account_id", "kind", "call_time", "id"),
)

qualifications = Table(
    "qualifications",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("call_id", BigId, ForeignKey("calls.id")),
    Column("source", String(16), nullable=False),  # mobile / interface
    Column("from_number", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # v2 calls/qualify: the option chosen and the notes typed beside it.
    Column("option_id", Integer, ForeignKey("qualification_options.id")),
    Column("notes", Text),
    # Whether a call is qualified (v2 calls, stats); the list newest first.
    Index("ix_qualifications_call_id", "call_id"),
    Index("ix_qualifications_account_created_id", "account_id", "created_at", "id"),
    # v2 qualifications of one number.
    Index("ix_qualifications_account_phone", "account_id", "from_number", "created_at", "id"),
)

# The answers an account offers to qualify a call (v2 qualifications/options).
# Deleting one hides it; the qualifications made with it keep their text.
qualification_options = Table(
    "qualification_options",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("deleted_at", DateTime),
)

# --- sending policy (DESIGN section 11, docs/policy.md) -------------------------

# One row per account that changed a setting; no row: the defaults
# (domain/policy.AccountPolicy). JSON columns hold lists.
account_policies = Table(
    "account_policies",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("optout_enabled", Boolean, nullable=False, default=True, server_default="1"),
    Column("optout_keywords", Text),  # JSON list; NULL: the documented defaults
    Column("optin_keywords", Text),  # JSON list; NULL: the documented defaults
    Column("optout_reply", Text, nullable=False, default="", server_default=""),
    Column("optin_reply", Text, nullable=False, default="", server_default=""),
    # JSON list of {"days": [0-6, Monday 0], "start": "HH:MM", "end": "HH:MM"};
    # an empty list: no window, send at any hour.
    Column("windows", Text, nullable=False, default="[]", server_default="[]"),
    Column("skip_holidays", Boolean, nullable=False, default=False, server_default="0"),
    Column("window_for_api", Boolean, nullable=False, default=False, server_default="0"),
    Column("window_for_campaigns", Boolean, nullable=False, default=True, server_default="1"),
    Column("default_validity", Integer),  # seconds; NULL: messages never expire
    Column("hourly_cap", Integer),  # NULL: no cap
    Column("daily_cap", Integer),
    Column("missed_call_reply", Text, nullable=False, default="", server_default=""),
    Column("missed_call_period", Integer, nullable=False, default=86400, server_default="86400"),
    Column("updated_at", DateTime, nullable=False),
)

# The account's opt-out list: numbers no message may be sent to.
suppressions = Table(
    "suppressions",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("phone_number", String(32), primary_key=True),
    Column("reason", String(16), nullable=False),  # keyword / imported / manual / api
    Column("detail", Text, nullable=False, default="", server_default=""),
    Column("created_at", DateTime, nullable=False),
    Index("ix_suppressions_account_created", "account_id", "created_at"),
)

# Every change to the opt-out list, kept: who was added or removed, when and why.
suppression_events = Table(
    "suppression_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("phone_number", String(32), nullable=False),
    Column("action", String(8), nullable=False),  # add / remove
    Column("reason", String(16), nullable=False),  # keyword / imported / manual / api
    Column("detail", Text, nullable=False, default="", server_default=""),
    Column("at", DateTime, nullable=False),
    Index("ix_suppression_events_account_at", "account_id", "at"),
    Index("ix_suppression_events_account_phone", "account_id", "phone_number", "at"),
)

# Messages the policy refused (an opted-out number), kept for the audit trail:
# they never become messages, cost nothing and never reach a phone.
policy_refusals = Table(
    "policy_refusals",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("id_sms_api", String(64), nullable=False),
    Column("phone_number", String(32), nullable=False),
    Column("code", String(8), nullable=False),  # the v1 code, e.g. #012
    Column("campaign_id", Integer),
    Column("created_at", DateTime, nullable=False),
    Index("ix_policy_refusals_account_created", "account_id", "created_at"),
    Index("ix_policy_refusals_account_sms", "account_id", "id_sms_api"),
    Index("ix_policy_refusals_campaign", "campaign_id"),
)

# Messages first handed to a phone, per account and UTC hour: the hourly and
# daily caps read a few rows instead of counting messages.
send_counts = Table(
    "send_counts",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("hour", DateTime, primary_key=True),
    Column("count", Integer, nullable=False),
)

# Automatic replies sent (kind: missed_call), the last per number: at most one
# per number per period.
auto_replies = Table(
    "auto_replies",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("phone_number", String(32), primary_key=True),
    Column("sent_at", DateTime, nullable=False),
)

# Dashboard sign-ins. The cookie carries a random token; only its hash is kept,
# so that signing out, a password change or "sign out everywhere" ends a
# session at once instead of when its cookie expires.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("user_agent", String(200), nullable=False, default="", server_default=""),
    Column("ip", String(64), nullable=False, default="", server_default=""),
    Index("ix_dashboard_sessions_expires_at", "expires_at"),  # for pruning
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", String(40), nullable=False, unique=True),  # stable, sent as webhook-id
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # message/calls/clics/qualification/status
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the exact JSON text sent in the parameter
    Column("state", String(8), nullable=False),  # pending / done / dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_until", DateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("done_at", DateTime),
    Index("ix_webhooks_due", "state", "next_attempt_at"),
    # The Webhooks page's delivery log, all states or one.
    Index("ix_webhooks_account_created_id", "account_id", "created_at", "id"),
    Index("ix_webhooks_account_state", "account_id", "state", "created_at", "id"),
    # Finished rows by age, for pruning (store/retention.py).
    Index("ix_webhooks_finished", "state", "done_at"),
)

# --- Rollups (issue 14; store/rollups.py; docs/dashboard.md, "How the counts are kept")
# Derived from `messages` by triggers (migration 0008), never written by code:
# the overview, v2 stats and campaign counts read them instead of counting the
# account's history. hour = created_at truncated to the UTC hour; reached =
# 0 not sent, 1 sent (sent_at set), 2 delivered (delivered_at set).
# SQLite adds to the counts in place; PostgreSQL appends to the *_deltas tables
# (no row lock shared by concurrent accepts) and a worker folds them in.

message_counts = Table(
    "message_counts",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("hour", DateTime, primary_key=True),
    Column("state", String(12), primary_key=True),
    Column("reached", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    # SQLite: one B-tree ordered by the key, n inside: a range read and an
    # upsert touch one tree, not an index and a table (reads 40 % faster).
    sqlite_with_rowid=False,
)

message_count_deltas = Table(
    "message_count_deltas",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("hour", DateTime, nullable=False),
    Column("state", String(12), nullable=False),
    Column("reached", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_message_count_deltas_account_hour", "account_id", "hour"),
)

# Per campaign: how many messages in each state, and (key "+clicks",
# domain/rollups.CAMPAIGN_CLICKS) how many clicks by people on its links.
campaign_counts = Table(
    "campaign_counts",
    metadata,
    Column("campaign_id", Integer, primary_key=True, autoincrement=False),
    Column("state", String(12), primary_key=True),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

campaign_count_deltas = Table(
    "campaign_count_deltas",
    metadata,
    Column("campaign_id", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_campaign_count_deltas_campaign", "campaign_id"),
)

# --- Activity rollups (issue 14; the activity section of migration 0008) --------
# Derived by triggers from incoming_sms, link_clicks, calls, qualifications and
# contacts, never written by code (store/activity.py reads them): per account
# and UTC hour, how many of each key (domain/activity.py: received SMS, clicks
# and previews, calls by kind and qualified, qualification labels), and the
# live contacts per account. Deltas on PostgreSQL as for message_counts.

activity_counts = Table(
    "activity_counts",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("hour", DateTime, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

activity_count_deltas = Table(
    "activity_count_deltas",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("hour", DateTime, nullable=False),
    Column("key", Text, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_activity_count_deltas_account_hour", "account_id", "hour"),
)

contact_counts = Table(
    "contact_counts",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
)

contact_count_deltas = Table(
    "contact_count_deltas",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_contact_count_deltas_account", "account_id"),
)

# --- Page indexes (issue 14; the page-indexes section of migration 0008) --------
# Live members per contact list, kept by triggers on list_members and contacts
# (store/lists.py reads them; PostgreSQL's deltas are folded by store/rollups).

list_counts = Table(
    "list_counts",
    metadata,
    Column("list_id", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,
)

list_count_deltas = Table(
    "list_count_deltas",
    metadata,
    Column("list_id", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_list_count_deltas_list", "list_id"),
)
