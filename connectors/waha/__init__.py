"""WAHA (WhatsApp HTTP API): the wire format and webhook signatures.

`wire` is the only module that knows WAHA's JSON; `signatures` checks `X-Webhook-Hmac`. Both are
pure (no I/O).
"""
