"""The states of a message and of a webhook delivery, named once.

Here rather than in store/ so that the command line can offer them as choices
without loading the store.
"""

# A message's life (DESIGN section 5): scheduled → queued → dispatched (handed
# to a device, waiting for its ack) → sent → received; or failed; or expired
# (its validity ended before a phone took it, DESIGN section 11).
MESSAGE_STATES = ("scheduled", "queued", "dispatched", "sent", "received", "failed", "expired")
# Still on its way to a phone: not yet sent, received or failed.
UNSETTLED = ("scheduled", "queued", "dispatched")

# A webhook delivery: pending (to send, or waiting to retry), done (a 2xx came
# back), dead (given up, or the receiver answered 410; it can be replayed).
DELIVERY_STATES = ("pending", "done", "dead")
