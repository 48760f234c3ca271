"""The SOP itself: tickets, documents, credentials, archive. Knows nothing of chat platforms."""
