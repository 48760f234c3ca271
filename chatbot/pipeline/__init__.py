"""The channel-neutral durable path: ingress, inbox worker, handling, outbox sender, and the
periodic jobs. Channels plug in through `ports.ChannelAdapter` and a Messenger."""

from chatbot.pipeline.assembly import Pipeline
from chatbot.pipeline.ports import ChannelAdapter, Described, Interpreted

__all__ = ["ChannelAdapter", "Described", "Interpreted", "Pipeline"]
