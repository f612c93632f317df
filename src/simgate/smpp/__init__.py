"""SMPP 3.4 upstream (simgate as ESME): what an SMSC link needs beyond the PDU codec.

The modules here are pure logic without I/O, each tested on its own: `text`
(GSM-7/UCS-2 encoding, septet-aware splitting into UDH, SAR or message_payload
parts, decoding, UDH parsing), `mo` (reassembly of long incoming SMS), `receipts`
(lenient delivery-receipt parsing and message_id matching keys), `status`
(command_status names and retry classes), `times` (schedule/validity strings)
and `addresses` (TON/NPI for source and destination). The asyncio session that
speaks to the SMSC lives in `session`; the rules come from shared/reference/smpp.md.
"""
