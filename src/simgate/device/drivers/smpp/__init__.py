"""The `smpp` driver: an operator's or aggregator's SMSC over SMPP 3.4.

- options.py: the `--smpp-...` options of `simgate device run`, and the driver
  built from them (needs only click; smpplib is loaded on use);
- driver.py: the `Driver` itself, on the link of simgate.smpp.session;
- sends.py: the ledger of submitted parts and their receipts, and what a
  message becomes from them (pure aggregation, replayed at start);
- incoming.py: refs and stored parts of incoming SMS.

docs/smpp.md is the user's side; shared/reference/smpp.md the wire facts.
"""
