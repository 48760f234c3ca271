"""Channels: map platform updates to Incoming and Replies to platform calls; nothing else."""
