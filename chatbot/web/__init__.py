"""The web app: one-time link pages and health."""

from chatbot.web.app import RedactLinkPaths, create_web_app, uvicorn_log_config

__all__ = ["RedactLinkPaths", "create_web_app", "uvicorn_log_config"]
