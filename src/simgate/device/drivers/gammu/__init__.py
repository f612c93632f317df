"""The `gammu` driver: USB GSM modems and phones through libGammu (python-gammu).

- options.py: the `--gammu-...` options of `simgate device run`, and the driver
  built from them (needs only click; python-gammu is loaded on use);
- driver.py: the `Driver` itself, one asyncio task that owns the modem;
- modem.py: the blocking libGammu calls, and what their errors mean;
- inbox.py: what the messages stored in the modem say (pure);
- sends.py: the sent box on disk that makes sends idempotent.

docs/phones/gammu.md is the user's side; shared/reference/gammu.md the wire facts.
"""
