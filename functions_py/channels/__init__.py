"""SMS and WhatsApp through Twilio (docs/channels.md): the thin Python side of sql/0023.

SQL decides everything (which messages go out, plans and limits, opt-outs, routing, forward-only statuses); this
package only talks to Twilio through its official SDK:

- `twilio_api.py`: the settings, the SDK client, sending one message and sorting Twilio's errors;
- `webhook.py`: the inbound webhook — verify `X-Twilio-Signature` first, then hand the message or the status
  callback to SQL.
"""
