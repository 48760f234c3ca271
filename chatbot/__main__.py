"""`python -m chatbot` is the `chatbot` command."""

import sys

from chatbot.cli import main

sys.exit(main())
