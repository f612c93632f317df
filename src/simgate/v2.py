"""The types of the v2 API's answers, for `client.v2` (docs/sdk.md, "The v2 API").

    import simgate
    from simgate.v2 import Contact, Page

    with simgate.Client(login, key, base_url=url) as client:
        page: Page[Contact] = client.v2.contacts.list(limit=50)

`simgate.v2.Contact` (a CRM contact as v2 answers it) is not `simgate.Contact`
(what v1's add_contacts sends). The errors are the SDK's (`simgate.NotFound`...).
"""

from simgate.client._v2_models import (
    CAMPAIGN_CANCELLED,
    CAMPAIGN_COMPLETED,
    CAMPAIGN_NO_RECIPIENTS,
    CAMPAIGN_READY,
    CAMPAIGN_SENDING,
    Account,
    AddAllResult,
    Call,
    Campaign,
    Contact,
    ContactList,
    DeliveryStatus,
    ListDetail,
    Message,
    MessageDetail,
    OptOut,
    OptOutChange,
    OptOutCheck,
    OptOutEvent,
    Page,
    QualificationOption,
    Recipient,
    SendReport,
    SendResult,
    Template,
    Webhooks,
)

__all__ = [
    "Account",
    "AddAllResult",
    "CAMPAIGN_CANCELLED",
    "CAMPAIGN_COMPLETED",
    "CAMPAIGN_NO_RECIPIENTS",
    "CAMPAIGN_READY",
    "CAMPAIGN_SENDING",
    "Call",
    "Campaign",
    "Contact",
    "ContactList",
    "DeliveryStatus",
    "ListDetail",
    "Message",
    "MessageDetail",
    "OptOut",
    "OptOutChange",
    "OptOutCheck",
    "OptOutEvent",
    "Page",
    "QualificationOption",
    "Recipient",
    "SendReport",
    "SendResult",
    "Template",
    "Webhooks",
]
