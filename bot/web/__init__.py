"""The clinic's web console: a Starlette app for the clinic's staff (queue, patients, registering, booking).

    app.py      build_app(settings, session_factory, bot_api=None): routes, templates, security headers
    auth.py     sign in/out, the session cookie, CSRF, the sign-in rate limit; `require` and the form helpers
    pages.py    the pages (queue, patients, timeline, photos, registering, booking, practitioners)
    files.py    BotFiles: a photo's bytes through the Telegram Bot API (httpx), never stored

Built by bot.bootstrap.web.web_app(settings) and run by `python -m bot.run.web` (uvicorn). Like every way in, it
calls bot.usecases (and the read models in bot.views through them), never bot.store.repository.
"""
