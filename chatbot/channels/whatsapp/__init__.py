"""The WhatsApp channel (issue 12, in progress): our own reader of the Cloud API webhook and
the adapter that stores its updates through the pipeline's ingress. Sending comes later."""

from chatbot.channels.whatsapp.adapter import WhatsAppChannel
from chatbot.channels.whatsapp.parse import CHANNEL, MalformedBody, split_body, to_incoming

__all__ = ["CHANNEL", "MalformedBody", "WhatsAppChannel", "split_body", "to_incoming"]
