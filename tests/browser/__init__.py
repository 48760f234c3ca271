"""Real-browser tests of the web pages: Debian's headless Chromium driven by Playwright."""
