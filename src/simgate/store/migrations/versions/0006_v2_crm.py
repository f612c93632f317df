"""v2 CRM: contacts, lists, templates, campaigns, qualification options

Messages gain campaign_id without a foreign key: adding one would make SQLite
copy the whole messages table.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from simgate.domain.search import search_name

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.Integer(), server_default="0", nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_campaigns_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaigns_account_created", ["account_id", "created_at"], unique=False
        )

    op.create_table(
        "contact_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_lists_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_lists")),
    )
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_lists_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_custom_fields_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_custom_fields_account_id_name")),
    )
    op.create_table(
        "qualification_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_qualification_options_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_options")),
    )
    with op.batch_alter_table("qualification_options", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qualification_options_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_templates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_account_id"), ["account_id"], unique=False)

    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id",
            "phone_number",
            name=op.f("uq_campaign_recipients_campaign_id_phone_number"),
        ),
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_tags_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("contact_id", "tag", name=op.f("pk_contact_tags")),
    )
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.create_index("ix_contact_tags_account_tag", ["account_id", "tag"], unique=False)

    op.create_table(
        "list_members",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_list_members_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["contact_lists.id"], name=op.f("fk_list_members_list_id_contact_lists")
        ),
        sa.PrimaryKeyConstraint("list_id", "contact_id", name=op.f("pk_list_members")),
    )
    with op.batch_alter_table("list_members", schema=None) as batch_op:
        batch_op.create_index("ix_list_members_contact_id", ["contact_id"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_account_time", ["account_id", "call_time"], unique=False)
        batch_op.create_index(
            "ix_calls_account_phone", ["account_id", "phone_number", "call_time"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pro", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("custom", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("search_name", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("stamp", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(
            "ix_contacts_account_created", ["account_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_account_lastname", ["account_id", "lastname", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_account_search_name", ["account_id", "search_name", "id"], unique=False
        )
        batch_op.create_index("ix_contacts_account_stamp", ["account_id", "stamp"], unique=False)
    _fill_search_names()

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contacts_stamp", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("incoming_sms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incoming_sms_account_from",
            ["account_id", "from_number", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_incoming_sms_account_received", ["account_id", "received_at"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_messages_account_phone", ["account_id", "phone_number", "created_at"], unique=False
        )
        batch_op.create_index("ix_messages_campaign", ["campaign_id", "state"], unique=False)

    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("option_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_qualifications_option_id_qualification_options"),
            "qualification_options",
            ["option_id"],
            ["id"],
        )
        batch_op.create_index("ix_qualifications_call_id", ["call_id"], unique=False)
        batch_op.create_index(
            "ix_qualifications_account_created", ["account_id", "created_at"], unique=False
        )

    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE link_clicks SET account_id = "
        "(SELECT messages.account_id FROM messages WHERE messages.id = link_clicks.message_id)"
    )
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_link_clicks_account_clicked", ["account_id", "clicked_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.drop_index("ix_link_clicks_account_clicked")
        batch_op.drop_column("account_id")

    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index("ix_qualifications_account_created")
        batch_op.drop_index("ix_qualifications_call_id")
        batch_op.drop_constraint(
            batch_op.f("fk_qualifications_option_id_qualification_options"), type_="foreignkey"
        )
        batch_op.drop_column("notes")
        batch_op.drop_column("option_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_campaign")
        batch_op.drop_index("ix_messages_account_phone")
        batch_op.drop_column("campaign_id")

    with op.batch_alter_table("incoming_sms", schema=None) as batch_op:
        batch_op.drop_index("ix_incoming_sms_account_received")
        batch_op.drop_index("ix_incoming_sms_account_from")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("contacts_stamp")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_account_stamp")
        batch_op.drop_index("ix_contacts_account_search_name")
        batch_op.drop_index("ix_contacts_account_lastname")
        batch_op.drop_index("ix_contacts_account_created")
        batch_op.drop_column("stamp")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("search_name")
        batch_op.drop_column("custom")
        batch_op.drop_column("pro")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_account_phone")
        batch_op.drop_index("ix_calls_account_time")

    with op.batch_alter_table("list_members", schema=None) as batch_op:
        batch_op.drop_index("ix_list_members_contact_id")

    op.drop_table("list_members")
    with op.batch_alter_table("contact_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_tags_account_tag")

    op.drop_table("contact_tags")
    op.drop_table("campaign_recipients")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_account_id"))

    op.drop_table("templates")
    with op.batch_alter_table("qualification_options", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualification_options_account_id"))

    op.drop_table("qualification_options")
    op.drop_table("custom_fields")
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_lists_account_id"))

    op.drop_table("contact_lists")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_account_created")

    op.drop_table("campaigns")


def _fill_search_names() -> None:
    """Existing contacts get their folded name, as upserts give new ones."""
    conn = op.get_bind()
    contacts = sa.table(
        "contacts",
        sa.column("id", sa.Integer),
        sa.column("firstname", sa.Text),
        sa.column("lastname", sa.Text),
        sa.column("search_name", sa.Text),
    )
    rows = conn.execute(sa.select(contacts.c.id, contacts.c.firstname, contacts.c.lastname))
    names = [{"cid": r.id, "name": search_name(r.firstname, r.lastname)} for r in rows]
    if names:
        conn.execute(
            contacts.update()
            .where(contacts.c.id == sa.bindparam("cid"))
            .values(search_name=sa.bindparam("name")),
            names,
        )
