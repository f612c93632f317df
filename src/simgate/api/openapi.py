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


_FAILED = {
    "description": "The whole request is wrong and nothing was stored (docs/errors.md)",
    "content": {
        "application/json": {
            "example": {
                "result": "failed",
                "errors": ["#102"],
                "info": "login or accessKey is wrong, or the key was revoked",
            }
        }
    },
}


def _body(schema: dict[str, Any], example: Any, answer: Any) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        },
        "responses": {
            "200": {
                "description": "One answer per item (see the reference)",
                "content": {"application/json": {"example": answer}},
            },
            "400": {**_FAILED, "description": "#100 not JSON, #101 wrong shape"},
            "401": {**_FAILED, "description": "#102 unknown login, wrong or revoked key"},
            "413": {**_FAILED, "description": "#103 body too large, #104 too many items"},
        },
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
    [
        {
            "id_sms_api": "FI5O7apqaaqcUmQ",
            "sms_per_message": 1,
            "user": "your-email@example.com",
            "sent_time": "2025-10-29T10:16:10.541Z",
            "phone_number": "+33612345678",
            "message": "Hello from InSim API https://sms.example.com/oloe00en5QPi",
            "sent": 1,
        },
        {
            "id_sms_api": "ABC123xyz456",
            "sms_per_message": 1,
            "user": "your-email@example.com",
            "sent_time": "2025-10-29T10:16:10.541Z",
            "phone_number": "+33698765432",
            "message": "Test from API",
            "sent": 1,
        },
    ],
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
    {
        "data": {
            "contact": [
                {
                    "firstname": "John",
                    "lastname": "Doe",
                    "phonenumber": "+33612345678",
                    "adress": "",
                    "email": "",
                    "result": "success",
                },
                {
                    "firstname": "Jane",
                    "lastname": "Smith",
                    "phonenumber": "+33698765432",
                    "adress": "123 Peace Street, Paris",
                    "email": "jane.smith@example.com",
                    "result": "success",
                },
            ]
        }
    },
)

CLICTOCALL = _body(
    {"type": "object", "required": ["header"], "properties": {"header": _HEADER}},
    {"header": {**_AUTH, "type": "clicToCall", "phone_number": "+33612345678"}},
    [
        {
            "info": "please make sure the phone is connected and inSIM is running",
            "result": "success",
            "errors": [],
        }
    ],
)
