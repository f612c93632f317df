"""OpenAPI descriptions of the v1 endpoints, with the reference's own examples.

The endpoints read the raw body themselves (each message is judged alone, so a
model that rejects the whole request would be wrong); these schemas only
document the wire format for /docs.
"""

from __future__ import annotations

from typing import Any

_HEADER = {
    "type": "object",
    "required": ["login", "accessKey"],
    "properties": {
        "login": {"type": "string", "description": "account e-mail"},
        "accessKey": {"type": "string", "description": "API access key"},
    },
}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }


_AUTH = {"login": "your-email@example.com", "accessKey": "your-access-key"}

SENDSMS = _body(
    {
        "type": "object",
        "required": ["header", "messages"],
        "properties": {
            "header": _HEADER,
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["phone_number", "message"],
                    "properties": {
                        "phone_number": {"type": "string", "example": "+33612345678"},
                        "message": {
                            "type": "string",
                            "description": (
                                "[Lien_Tracking] or [link] is replaced by the tracked link"
                            ),
                        },
                        "url": {"type": "string"},
                        "priorite": {"type": "integer", "default": 1},
                        "priority": {"type": "integer", "description": "alias of priorite"},
                        "date_to_send": {
                            "type": "string",
                            "description": (
                                "YYYY-MM-DD HH:mm:ss in the account's time zone, or ISO 8601"
                            ),
                        },
                        "id_sms_api": {
                            "type": "string",
                            "description": "your own id; a repeat returns the stored answer",
                        },
                    },
                },
            },
        },
    },
    {
        "header": _AUTH,
        "messages": [
            {
                "phone_number": "+33612345678",
                "message": "Hello from InSim API [Lien_Tracking]",
                "url": "https://example.com/",
                "priorite": 1,
                "date_to_send": "2025-10-29 10:16:10",
            },
            {
                "phone_number": "+33698765432",
                "message": "Test from API",
                "url": "",
                "priorite": 1,
                "date_to_send": "2025-10-29 10:16:10",
            },
        ],
    },
)

CONTACT = _body(
    {
        "type": "object",
        "required": ["header", "contacts"],
        "properties": {
            "header": _HEADER,
            "contacts": {"type": "array", "items": {"type": "object"}},
        },
    },
    {
        "header": _AUTH,
        "contacts": [
            {
                "firstname": "John",
                "lastname": "Doe",
                "phone_number": "+33612345678",
                "adress": "",
                "email": "",
            },
            {
                "firstname": "Jane",
                "lastname": "Smith",
                "phone_number": "+33698765432",
                "adress": "123 Peace Street, Paris",
                "email": "jane.smith@example.com",
            },
        ],
    },
)

CLICTOCALL = _body(
    {"type": "object", "required": ["header"], "properties": {"header": _HEADER}},
    {"header": {**_AUTH, "type": "clicToCall", "phone_number": "+33612345678"}},
)
